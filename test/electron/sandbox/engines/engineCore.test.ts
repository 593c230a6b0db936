/**
 * Settings → Engines through the core's own channels, with the real engine fleet, keychain and
 * Docker socket: a saved and selected profile is the fleet's active engine at once (no
 * restart), a removed one leaves it, a new launch starts with the stored engines, and the
 * audit log keeps the material's field names, never the keys.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSophiaCore, type SophiaCore } from '../../../../electron/app/sophiaCore';
import { EngineFleet } from '../../../../electron/sandbox/engines/engineFleet';
import type { EngineProfile } from '../../../../shared/contract';
import { makeTestMaterial, type TestMaterial } from '../../../support/engineMaterial';
import { startTlsEngine } from '../../../support/engines';
import { closedPort } from '../../../support/closedPort';
import { tempDataDir } from '../../../support/hostFixture';
import { testKeychain } from '../../keychain/keychainSupport';

const ctx = { transport: 'test' } as const;
const socketProfile: EngineProfile = { id: 'docker-here', name: 'Docker here', kind: 'local', socketPath: '/var/run/docker.sock' };
let material: TestMaterial;
const cores: SophiaCore[] = [];

beforeAll(() => {
  material = makeTestMaterial();
});

afterEach(async () => {
  for (const core of cores.splice(0)) await core.close();
});

function newCore(dataDir: string, keychain = testKeychain()): SophiaCore {
  const core = createSophiaCore({ host: 'browser', dataDir, keychain, secrets: { get: async () => undefined } });
  cores.push(core);
  return core;
}

function fleetOf(core: SophiaCore): EngineFleet {
  if (!(core.sandbox instanceof EngineFleet)) throw new Error('the core\'s sandbox service is not the engine fleet');
  return core.sandbox;
}

describe('engines through the core', () => {
  it('a saved, selected profile is the fleet\'s active engine at once; removed, tasks go back to this machine; a new launch starts with it', async () => {
    const dataDir = tempDataDir();
    const keychain = testKeychain();
    const core = newCore(dataDir, keychain);
    const fleet = fleetOf(core);
    expect(fleet.engineIds()).toEqual(['local']);

    await core.handlers['engines.save']({ profile: socketProfile }, ctx);
    expect(fleet.engineIds()).toEqual(['local', 'docker-here']);
    expect(fleet.activeEngine().id).toBe('local');
    await core.handlers['engines.select']({ id: 'docker-here' }, ctx);
    expect(fleet.activeEngine()).toEqual({ id: 'docker-here', name: 'Docker here', kind: 'local' });

    // A new launch on the same data folder: the fleet is made with the stored engines and the active one.
    await core.close();
    cores.splice(cores.indexOf(core), 1);
    const again = newCore(dataDir, keychain);
    expect(fleetOf(again).engineIds()).toEqual(['local', 'docker-here']);
    expect(fleetOf(again).activeEngine().id).toBe('docker-here');

    await again.handlers['engines.remove']({ id: 'docker-here' }, ctx);
    expect(fleetOf(again).engineIds()).toEqual(['local']);
    expect(fleetOf(again).activeEngine().id).toBe('local');
  });

  it('new keys for the active TLS engine replace the engine made with the old ones (not kept until a restart)', async () => {
    const dockerd = await startTlsEngine({ id: 'core-tls' });
    try {
      const core = newCore(tempDataDir());
      const fleet = fleetOf(core);
      const pasted = { ca: dockerd.secrets['engine-core-tls-ca'] ?? '', cert: dockerd.secrets['engine-core-tls-cert'] ?? '', key: dockerd.secrets['engine-core-tls-key'] ?? '' };
      await core.handlers['engines.save']({ profile: dockerd.profile, material: pasted }, ctx);
      await core.handlers['engines.select']({ id: 'core-tls' }, ctx);
      const before = fleet.activeService;
      // The same profile, saved again without keys: the engine stays.
      await core.handlers['engines.save']({ profile: dockerd.profile, replace: true }, ctx);
      expect(fleet.activeService).toBe(before);
      // The key replaced: the fleet made the engine again, and it is still the active one.
      await core.handlers['engines.save']({ profile: dockerd.profile, material: { key: pasted.key }, replace: true }, ctx);
      expect(fleet.activeService).not.toBe(before);
      expect(fleet.activeEngine().id).toBe('core-tls');
      await core.handlers['engines.remove']({ id: 'core-tls' }, ctx);
    } finally {
      await dockerd.stop();
    }
  });

  it('audits engine requests with the material\'s field names only, also when the save is refused', async () => {
    const core = newCore(tempDataDir());
    const tls: EngineProfile = { id: 'build', name: 'Build host', kind: 'tls', host: '127.0.0.1', port: await closedPort() };
    await expect(core.handlers['engines.save']({ profile: tls, material: { ca: material.ca, cert: material.cert, key: material.otherKey } }, ctx)).rejects.toThrow(/does not belong to the client certificate/);
    await expect(core.handlers['engines.check']({ profile: tls, material: { ca: material.ca, cert: material.cert, key: material.key } }, ctx)).resolves.toMatchObject({ ok: false });
    const entries = core.safety.audit.query({ kind: 'request' }).filter((entry) => entry.summary.startsWith('engines.'));
    expect(entries.map((entry) => entry.summary)).toEqual(['engines.check requested', 'engines.save requested']);
    for (const entry of entries) expect(JSON.parse(String(entry.data)).input.material).toEqual(['ca', 'cert', 'key']);
    const everything = JSON.stringify(core.safety.audit.query({ limit: 500 }));
    for (const text of [material.key, material.otherKey]) {
      for (const line of text.trim().split('\n').slice(1, -1)) expect(everything).not.toContain(line);
    }
    // The key typed is known to the redactor from the moment it arrived: it is cut from anything shown.
    const keyLine = material.otherKey.trim().split('\n')[1] ?? '';
    expect(core.safety.redactor.redact(`printed ${keyLine}`)).toBe('printed [redacted:engine-build-key]');
  });

  it('offline mode refuses a check of a host off this machine; the emergency stop refuses every check while engaged', async () => {
    const core = newCore(tempDataDir());
    core.settings.update({ provider: 'ollama' });
    const remote: EngineProfile = { id: 'far', name: 'Far away', kind: 'tls', host: 'build.example.com', port: 2376 };
    const pasted = { ca: material.ca, cert: material.cert, key: material.key };
    await expect(core.handlers['engines.check']({ profile: remote, material: pasted }, ctx)).rejects.toThrow(/Offline mode[\s\S]*build.example.com/);
    await expect(core.handlers['engines.save']({ profile: remote, material: pasted }, ctx)).rejects.toThrow(/Offline mode/);
    // A host on this machine is still fine to try (nothing listens on that port: the check fails, in words).
    await expect(core.handlers['engines.check']({ profile: { ...remote, host: '127.0.0.1', port: await closedPort() }, material: pasted }, ctx)).resolves.toMatchObject({ ok: false });
    expect(core.settings.get().engines).toEqual([]);

    await core.stop.stopAll();
    await expect(core.handlers['engines.check']({ profile: socketProfile }, ctx)).rejects.toMatchObject({ code: 'stopped' });
    await expect(core.handlers['engines.save']({ profile: socketProfile }, ctx)).rejects.toMatchObject({ code: 'stopped' });
    expect(core.settings.get().engines).toEqual([]);
  });
});
