/**
 * Settings → Engines in the main process, against the real keychain (Secret Service) and the
 * real Docker engine on this machine: a profile of this machine's socket is checked and saved;
 * a failing check, bad material, a duplicate or `local` id, material of another kind and an
 * SSH host key that is not the one presented are refused and nothing is stored; removing wipes
 * the keychain entries; the active engine follows; the audit log never holds the material.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditInput } from '../../../../electron/audit/auditLog';
import { openAppDatabase } from '../../../../electron/db/appDatabase';
import { SecretRedactor } from '../../../../electron/keychain/redactor';
import { createDockerClient } from '../../../../electron/sandbox/dockerClient';
import { checkEngine } from '../../../../electron/sandbox/engines/engineClient';
import { defaultSandboxImage } from '../../../../electron/sandbox/sandboxImage';
import { EngineProfiles, type CheckEngine } from '../../../../electron/sandbox/engines/engineHandlers';
import { privateKeyFragments } from '../../../../electron/sandbox/engines/engineMaterial';
import { startPodmanEngine, startSshEngine, startTlsEngine } from '../../../support/engines';
import { SettingsStore } from '../../../../electron/settings/settingsStore';
import { engineMaterialAccount, engineMaterialFields, settingsInput, type EngineProfile } from '../../../../shared/contract';
import { SophiaError } from '../../../../shared/errors';
import { makeTestMaterial, type TestMaterial } from '../../../support/engineMaterial';
import { closedPort } from '../../../support/closedPort';
import { tempDataDir } from '../../../support/hostFixture';
import { testKeychain } from '../../keychain/keychainSupport';

let material: TestMaterial;
beforeAll(() => {
  material = makeTestMaterial();
});

/** This machine's Docker socket under a profile of its own: the real engine the checks talk to. */
const socketProfile: EngineProfile = { id: 'docker-here', name: 'Docker here', kind: 'local', socketPath: '/var/run/docker.sock' };

function setup(check: CheckEngine = checkEngine) {
  const keychain = testKeychain();
  const settings = new SettingsStore(openAppDatabase(path.join(tempDataDir(), 'sophia.db')));
  const redactor = new SecretRedactor();
  const audit: AuditInput[] = [];
  const changes: { ids: string[]; active: string; renewed?: string | undefined }[] = [];
  const checks: EngineProfile[] = [];
  const engines = new EngineProfiles({
    settings,
    keychain,
    redactor,
    audit: { record: (entry) => void audit.push(entry) },
    check: (profile, secret, options) => {
      checks.push(profile);
      return check(profile, secret, options);
    },
    changed: (profiles, active, renewed) => void changes.push({ ids: profiles.map((profile) => profile.id), active, renewed }),
  });
  return { keychain, settings, redactor, audit, changes, checks, engines };
}

async function refusal(promise: Promise<unknown>): Promise<SophiaError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SophiaError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('engine profiles', () => {
  it('checks a socket profile against the real engine, saves it, selects it, and removes it (tasks go back to this machine)', async () => {
    const { engines, settings, changes, audit } = setup();
    const listed = engines.list();
    expect(listed.active).toBe('local');
    expect(listed.engines.map((engine) => engine.profile.id)).toEqual(['local']);

    const check = await engines.check(socketProfile);
    expect(check.ok, check.message).toBe(true);
    expect(check.version).toMatch(/^\d+\.\d+/);
    expect(settings.get().engines).toEqual([]);

    const saved = await engines.save(socketProfile);
    expect(saved.check.ok).toBe(true);
    expect(saved.engines.engines.map((engine) => engine.profile)).toEqual([{ id: 'local', name: 'This machine', kind: 'local' }, socketProfile]);
    expect(settings.get().engines).toEqual([socketProfile]);

    expect((await engines.select('docker-here')).active).toBe('docker-here');
    expect(settings.get().activeEngine).toBe('docker-here');
    expect((await refusal(engines.select('nowhere'))).message).toMatch(/no engine "nowhere"/);

    // An edit of the same id needs `replace`; without it the id is taken.
    expect((await refusal(engines.save({ ...socketProfile, name: 'Again' }))).message).toMatch(/exists already/);
    await engines.save({ ...socketProfile, name: 'Docker, renamed' }, {}, true);
    expect(settings.get().engines[0]?.name).toBe('Docker, renamed');

    const afterRemove = await engines.remove('docker-here');
    expect(afterRemove.active).toBe('local');
    expect(settings.get()).toMatchObject({ engines: [], activeEngine: 'local' });
    expect(changes).toEqual([
      { ids: ['docker-here'], active: 'local' },
      { ids: ['docker-here'], active: 'docker-here' },
      { ids: ['docker-here'], active: 'docker-here' },
      { ids: [], active: 'local' },
    ]);
    expect(audit.map((entry) => entry.summary)).toEqual([
      expect.stringMatching(/^Engine Docker here \(local, \/var\/run\/docker.sock\) added after its check passed/),
      'Tasks run on Docker here (local) from now',
      expect.stringMatching(/^Engine Docker, renamed .* changed after its check passed/),
      'Engine Docker, renamed (local) removed with its keychain entries; tasks run on this machine again',
    ]);
  });

  it('does not save a profile whose check fails, and says why in plain words', async () => {
    const { engines, settings, keychain, changes } = setup();
    const missing: EngineProfile = { id: 'gone', name: 'Gone', kind: 'podman', socketPath: path.join(tempDataDir(), 'no-such.sock') };
    const check = await engines.check(missing);
    expect(check.ok).toBe(false);
    expect(check.message.length).toBeGreaterThan(10);
    const error = await refusal(engines.save(missing));
    expect(error.code).toBe('refused');
    expect(error.message).toMatch(/^Not saved: the check of Gone failed\./);
    expect(settings.get().engines).toEqual([]);

    // A TLS engine on a port where nothing listens, with good material: refused, and nothing reaches the keychain.
    const tls: EngineProfile = { id: 'build', name: 'Build host', kind: 'tls', host: '127.0.0.1', port: await closedPort() };
    const tlsError = await refusal(engines.save(tls, { ca: material.ca, cert: material.cert, key: material.key }));
    expect(tlsError.message).toMatch(/^Not saved: the check of Build host failed\./);
    for (const field of engineMaterialFields) expect(keychain.get(engineMaterialAccount('build', field))).toBeNull();
    expect(settings.get().engines).toEqual([]);
    expect(changes).toEqual([]);
  });

  it('refuses bad material, missing material, material of another kind, the id local and a duplicate before any check', async () => {
    const { engines, checks, keychain, settings, audit } = setup();
    const tls: EngineProfile = { id: 'build', name: 'Build host', kind: 'tls', host: '127.0.0.1', port: 2376 };
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['invalid PEM', () => engines.save(tls, { ca: 'not a certificate', cert: material.cert, key: material.key }), /CA certificate is not a PEM certificate/],
      ['a key that is not the pair', () => engines.save(tls, { ca: material.ca, cert: material.cert, key: material.otherKey }), /does not belong to the client certificate/],
      ['an encrypted key', () => engines.save(tls, { ca: material.ca, cert: material.cert, key: material.encryptedKey }), /passphrase/],
      ['missing material', () => engines.save(tls, { ca: material.ca }), /needs the CA certificate, the client certificate and its key[\s\S]*missing: the client certificate, the client key/],
      ['material of another kind', () => engines.save(tls, { ca: material.ca, cert: material.cert, key: material.key, sshKey: material.sshKey }), /does not use sshKey/],
      ['an SSH key for the agent', () => engines.save({ id: 'ssh', name: 'SSH', kind: 'ssh', host: '127.0.0.1', user: 'me', sshAuth: 'agent' }, { sshKey: material.sshKey }), /does not use sshKey/],
      ['the id local', () => engines.save({ id: 'local', name: 'Mine', kind: 'local' }), /this machine's own engine/],
      ['a TLS profile without a host', () => engines.save({ id: 'nohost', name: 'No host', kind: 'tls' }), /needs the host name/],
      ['a relative socket', () => engines.save({ id: 'rel', name: 'Relative', kind: 'podman', socketPath: 'podman.sock' }), /must be absolute/],
      ['stray fields', () => engines.save({ id: 'stray', name: 'Stray', kind: 'podman', socketPath: '/run/podman.sock', host: 'example.com' }), /does not use host/],
    ];
    for (const [name, run, expected] of cases) {
      const error = await refusal(run());
      expect(error.code, name).toBe('bad_request');
      expect(error.message, name).toMatch(expected);
      for (const line of privateKeyFragments(material.key)) expect(error.message, name).not.toContain(line);
    }
    expect(checks).toEqual([]);
    for (const field of engineMaterialFields) expect(keychain.get(engineMaterialAccount('build', field))).toBeNull();
    expect(settings.get().engines).toEqual([]);
    expect(audit).toEqual([]);

    await engines.save(socketProfile);
    const duplicate = await refusal(engines.save({ ...socketProfile, name: 'Another' }));
    expect(duplicate.message).toMatch(/An engine with the id "docker-here" exists already/);
    expect(await refusal(engines.save({ ...socketProfile, id: 'never-saved' }, {}, true))).toMatchObject({ message: expect.stringMatching(/no engine "never-saved" to edit/) });
  });

  it('keeps TLS material in the keychain only, lists it as set, teaches the redactor the key, and wipes it on removal', async () => {
    // The check is the real one elsewhere; here it stands for an engine that accepted the material, to follow where the material goes.
    const seen: (string | null)[] = [];
    const { engines, keychain, redactor, settings, audit, changes } = setup(async (profile, secret) => {
      seen.push(...(['ca', 'cert', 'key'] as const).map((field) => secret(engineMaterialAccount(profile.id, field))));
      // Nothing else of the keychain is reachable through a check's secret reader.
      seen.push(secret('anthropic-api-key'), secret(engineMaterialAccount('other', 'key')));
      return { ok: true, message: 'reached', version: '20.10.24' };
    });
    const tls: EngineProfile = { id: 'build', name: 'Build host', kind: 'tls', host: 'build.example.com', port: 2376 };
    await engines.save(tls, { ca: material.ca, cert: material.cert, key: material.key });
    expect(seen).toEqual([material.ca, material.cert, material.key, null, null]);
    expect(keychain.get('engine-build-ca')).toBe(material.ca);
    expect(keychain.get('engine-build-cert')).toBe(material.cert);
    expect(keychain.get('engine-build-key')).toBe(material.key);
    expect(JSON.stringify(settings.get())).not.toContain('BEGIN');
    const view = engines.list().engines.find((engine) => engine.profile.id === 'build');
    expect(view?.material).toEqual({ ca: true, cert: true, key: true, sshKey: false });
    expect(JSON.stringify(engines.list())).not.toContain('BEGIN');
    const keyLine = material.key.trim().split('\n')[1] ?? '';
    expect(redactor.redact(`leaked ${keyLine}`)).toBe('leaked [redacted:engine-build-key]');
    expect(JSON.stringify(audit)).not.toContain(keyLine);

    // An edit without material keeps and uses what the keychain holds; one with new keys says so (the engine made with the old ones must go).
    seen.length = 0;
    await engines.save({ ...tls, port: 2377 }, {}, true);
    await engines.save({ ...tls, port: 2377 }, { key: material.key }, true);
    expect(changes.map((change) => change.renewed)).toEqual([undefined, undefined, 'build']);
    expect(seen.slice(0, 3)).toEqual([material.ca, material.cert, material.key]);
    // A new certificate that is not the stored key's pair is refused before any check.
    const otherPair = makeTestMaterial();
    expect((await refusal(engines.save(tls, { cert: otherPair.cert }, true))).message).toMatch(/does not belong to the client certificate/);
    expect(keychain.get('engine-build-cert')).toBe(material.cert);

    // A restart: a new redactor learns the stored key from the keychain.
    const restarted = new SecretRedactor();
    new EngineProfiles({ settings, keychain, redactor: restarted, check: checkEngine }).loadIntoRedactor();
    expect(restarted.redact(keyLine)).toBe('[redacted:engine-build-key]');

    await engines.remove('build');
    for (const field of engineMaterialFields) expect(keychain.get(engineMaterialAccount('build', field))).toBeNull();
    expect(engines.list().engines.map((engine) => engine.profile.id)).toEqual(['local']);
  });

  it('saves an SSH profile only with the host key the real sshd presented, confirmed by the person', async () => {
    const sshd = await startSshEngine({ socketPath: '/var/run/docker.sock' });
    try {
      const { engines, settings, keychain } = setup();
      const { hostKey: pinned, ...unpinned } = sshd.profile;
      const sshKey = sshd.secrets['engine-test-ssh-ssh-key'] ?? '';
      expect(pinned).toBe(sshd.hostKey);
      // Checked before the person trusted anything: it fails, naming the key the server presented.
      const check = await engines.check(unpinned, { sshKey });
      expect(check.ok).toBe(false);
      expect(check.hostKey).toBe(sshd.hostKey);
      const unconfirmed = await refusal(engines.save(unpinned, { sshKey }));
      expect(unconfirmed.code).toBe('refused');
      expect(unconfirmed.message).toMatch(/^Not saved: the check of Test engine over SSH failed\./);
      const other = `SHA256:${'B'.repeat(43)}`;
      const mismatch = await refusal(engines.save({ ...unpinned, hostKey: other }, { sshKey }));
      expect(mismatch.message).toMatch(/^Not saved: /);
      expect(settings.get().engines).toEqual([]);
      expect(keychain.get('engine-test-ssh-ssh-key')).toBeNull();

      const saved = await engines.save(sshd.profile, { sshKey });
      expect(saved.check).toMatchObject({ ok: true, hostKey: sshd.hostKey });
      expect(settings.get().engines).toEqual([sshd.profile]);
      expect(keychain.get('engine-test-ssh-ssh-key')).toBe(sshKey);
      // A check without the key uses the one in the keychain.
      expect((await engines.check(sshd.profile)).ok).toBe(true);
      // Through an agent that does not hold the key (or no agent at all): refused, and the kept key stays.
      expect((await refusal(engines.save({ ...sshd.profile, sshAuth: 'agent' }, {}, true))).message).toMatch(/^Not saved: /);
      expect(keychain.get('engine-test-ssh-ssh-key')).toBe(sshKey);
      await engines.remove('test-ssh');
      expect(keychain.get('engine-test-ssh-ssh-key')).toBeNull();
    } finally {
      await sshd.stop();
    }
  });

  it('a host key pin the server does not match is refused even when the check itself is made to pass', async () => {
    const presented = `SHA256:${'A'.repeat(43)}`;
    const setupWith = (hostKey: string) => setup(async () => ({ ok: true, message: 'reached over SSH', hostKey }));
    const { engines, settings } = setupWith(presented);
    const ssh: EngineProfile = { id: 'ssh-host', name: 'SSH host', kind: 'ssh', host: '127.0.0.1', port: 2222, user: 'builder', sshAuth: 'agent' };
    expect((await refusal(engines.save(ssh))).message).toMatch(/confirm the server's host key first. It presented SHA256:A{43}/);
    expect((await refusal(engines.save({ ...ssh, hostKey: `SHA256:${'B'.repeat(43)}` }))).message).toMatch(/presented the host key SHA256:A{43}, not the confirmed SHA256:B{43}/);
    expect(settings.get().engines).toEqual([]);
    // Saved with a key, then edited to log in through the agent: the key kept for it does not linger.
    const { engines: keyed, keychain } = setupWith(presented);
    await keyed.save({ ...ssh, sshAuth: 'key', hostKey: presented }, { sshKey: material.sshKey });
    expect(keychain.get('engine-ssh-host-ssh-key')).toBe(material.sshKey);
    await keyed.save({ ...ssh, hostKey: presented }, {}, true);
    expect(keychain.get('engine-ssh-host-ssh-key')).toBeNull();
    await keyed.remove('ssh-host');
  });

  it('saves a real mutual-TLS engine with its material; a client certificate from another CA fails the check and is not saved', async () => {
    const dockerd = await startTlsEngine();
    try {
      const { engines, settings, keychain } = setup();
      const good = { ca: dockerd.secrets['engine-test-tls-ca'] ?? '', cert: dockerd.secrets['engine-test-tls-cert'] ?? '', key: dockerd.secrets['engine-test-tls-key'] ?? '' };
      // A pair the engine's CA never signed: the engine refuses the handshake.
      const stranger = await refusal(engines.save(dockerd.profile, { ca: good.ca, cert: material.cert, key: material.key }));
      expect(stranger.message).toMatch(/^Not saved: the check of Test engine over TLS failed\. [\s\S]*(refused|certificate)/);
      expect(keychain.get('engine-test-tls-key')).toBeNull();
      expect(settings.get().engines).toEqual([]);

      const saved = await engines.save(dockerd.profile, good);
      expect(saved.check.ok).toBe(true);
      expect(saved.check.version).toMatch(/^\d+\.\d+/);
      expect(saved.engines.engines.find((engine) => engine.profile.id === 'test-tls')?.material).toEqual({ ca: true, cert: true, key: true, sshKey: false });
      expect(keychain.get('engine-test-tls-key')).toBe(good.key);
      await engines.remove('test-tls');
      expect(keychain.get('engine-test-tls-key')).toBeNull();
    } finally {
      await dockerd.stop();
    }
  });

  it('saves a Podman profile checked against the real Podman API socket; a socket where nothing listens is not saved', async () => {
    const podman = await startPodmanEngine({ id: 'test-podman' });
    try {
      const { engines, settings } = setup((profile, secret, options) => checkEngine(profile, secret, { ...options, image: defaultSandboxImage() }));
      const saved = await engines.save(podman.profile);
      expect(saved.check.ok, saved.check.message).toBe(true);
      // Podman answers the Docker API with its own version; the hardened run happened there, or the image is not there yet and it says so.
      expect(saved.check.message).toMatch(/A container with the sandbox hardening ran there|The sandbox image is not on this engine yet/);
      expect(settings.get().engines).toEqual([podman.profile]);
      const elsewhere = { ...podman.profile, id: 'podman-gone', socketPath: path.join(tempDataDir(), 'podman.sock') };
      expect((await refusal(engines.save(elsewhere))).message).toMatch(/^Not saved: the check of Test Podman failed\. There is no Podman socket at/);
      expect(settings.get().engines.map((profile) => profile.id)).toEqual(['test-podman']);
    } finally {
      await podman.stop();
    }
  });

  it('the check runs a container with the sandbox hardening on the engine: passes on this Docker, refuses an image that cannot run, says when the image is not there yet', async () => {
    const docker = createDockerClient();
    let image = defaultSandboxImage();
    const hardenedCheck: CheckEngine = (profile, secret, options) => checkEngine(profile, secret, { ...options, image });
    const { engines, settings } = setup(hardenedCheck);
    const check = await engines.check(socketProfile);
    expect(check, check.message).toMatchObject({ ok: true, hardened: true });
    expect(check.message).toMatch(/A container with the sandbox hardening ran there/);
    // The check's container is gone afterwards (removed, or removing itself).
    await expect.poll(async () => (await docker.listContainers({ all: true, filters: { label: ['app.sophia.role=check'] } })).length).toBe(0);

    // An image with nothing in it (no /bin/sh for the keeper): the engine cannot run the hardened container, so the profile is not saved.
    const empty = 'sophia-test-empty:engine-check';
    const tar = Buffer.alloc(1024);
    await new Promise<void>((resolve, reject) => {
      void docker.importImage(Readable.from([tar]) as never, { repo: 'sophia-test-empty', tag: 'engine-check' }, (error, stream) => {
        if (error || !stream) return reject(error ?? new Error('no stream'));
        docker.modem.followProgress(stream, (done) => (done ? reject(done) : resolve()));
      });
    });
    try {
      image = empty;
      const refused = await refusal(engines.save(socketProfile));
      expect(refused.message).toMatch(/^Not saved: the check of Docker here failed\. [\s\S]*hardened container/i);
      expect(settings.get().engines).toEqual([]);
      await expect.poll(async () => (await docker.listContainers({ all: true, filters: { label: ['app.sophia.role=check'] } })).length).toBe(0);
    } finally {
      await docker.getImage(empty).remove({ force: true }).catch(() => undefined);
    }

    // Not on the engine yet: the check passes on what it could see and says the image goes there before the first task.
    image = 'sophia-sandbox:not-on-this-engine';
    const absent = await engines.check(socketProfile);
    expect(absent.ok).toBe(true);
    expect(absent.hardened).toBeUndefined();
    expect(absent.message).toMatch(/The sandbox image is not on this engine yet/);
  });

  it('a stored list with a bad profile or an active id that names no profile falls back to this machine', () => {
    const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
    db.prepare("INSERT INTO settings (key, value) VALUES ('activeEngine', '\"gone\"')").run();
    expect(new SettingsStore(db).get().activeEngine).toBe('local');
    db.prepare("INSERT INTO settings (key, value) VALUES ('engines', ?)").run(JSON.stringify([{ id: 'local', name: 'Sneaky', kind: 'tls', host: 'evil.example.com' }]));
    expect(new SettingsStore(db).get().engines).toEqual([]);
    db.prepare("UPDATE settings SET value = ? WHERE key = 'engines'").run(JSON.stringify([socketProfile, socketProfile]));
    expect(new SettingsStore(db).get().engines).toEqual([]);
    // The Settings form's channel cannot set either: engines change only through the checked engines.* channels.
    expect(settingsInput.safeParse({ engines: [socketProfile] }).success).toBe(false);
    expect(settingsInput.safeParse({ activeEngine: 'docker-here' }).success).toBe(false);
  });
});
