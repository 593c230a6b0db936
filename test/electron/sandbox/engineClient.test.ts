/**
 * Connecting to real engines started on this machine: a second dockerd with mutual TLS on
 * 127.0.0.2, an OpenSSH server in front of it, and Podman's API service.
 */
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addLogRedactor } from '../../../electron/log';
import { checkEngine, createEngine, describeEngineError, engineSecretNames, measureRtt } from '../../../electron/sandbox/engines/engineClient';
import { SophiaError } from '../../../shared/errors';
import { createDockerClient } from '../../../electron/sandbox/dockerClient';
import { defaultSandboxImage } from '../../../electron/sandbox/sandboxImage';
import { copyImage, makeCertificates, startPodmanEngine, startSshEngine, startTlsEngine, type SshEngine, type StartedEngine, type TlsEngine } from '../../support/engines';

let tls: TlsEngine;
let ssh: SshEngine;
let podman: StartedEngine;
let otherCa: { ca: string; cert: string; key: string };
let otherDir: string;
/** Every log line written while the tests run (the product logs JSON lines on stderr). */
const logged: string[] = [];
let stopCapture: () => void;

beforeAll(async () => {
  // The redactor sees every log line: record them and pass them on unchanged.
  // Every level, so a secret in a debug line would show too (the sandbox project runs at error).
  process.env['SOPHIA_LOG_LEVEL'] = 'debug';
  stopCapture = addLogRedactor((line) => {
    logged.push(line);
    return line;
  });
  tls = await startTlsEngine();
  ssh = await startSshEngine({ socketPath: tls.socketPath });
  podman = await startPodmanEngine();
  otherDir = await mkdtemp(path.join(tmpdir(), 'sophia-other-ca-'));
  otherCa = await makeCertificates(otherDir);
});

afterAll(async () => {
  stopCapture?.();
  await Promise.allSettled([ssh?.stop(), podman?.stop()]);
  await tls?.stop();
  if (otherDir) await rm(otherDir, { recursive: true, force: true });
});

describe('TLS engine', () => {
  it('works with the right CA, certificate and key', async () => {
    const check = await checkEngine(tls.profile, tls.secret);
    expect(check, check.message).toMatchObject({ ok: true, os: 'linux' });
    expect(check.version).toMatch(/^\d+\.\d+/);
    expect(check.apiVersion).toMatch(/^1\.\d+$/);
    expect(check.rttMs).toBeGreaterThan(0);

    const engine = createEngine(tls.profile, tls.secret);
    expect(engine).toMatchObject({ id: tls.profile.id, kind: 'tls', remote: true });
    const info = await engine.docker().info();
    expect(info.Name).toBeTruthy();
    expect(await measureRtt(engine, 5)).toBeGreaterThan(0);
    await engine.close();
    await engine.close(); // twice is fine
    expect(() => engine.docker()).toThrow(/closed/);
  });

  it('runs a container with the sandbox hardening when asked with an image that is there', async () => {
    const image = defaultSandboxImage();
    const engine = createEngine(tls.profile, tls.secret);
    await copyImage(createDockerClient(), engine.docker(), image);
    await engine.close();
    const check = await checkEngine(tls.profile, tls.secret, { image });
    expect(check, check.message).toMatchObject({ ok: true, hardened: true });
    const absent = await checkEngine(tls.profile, tls.secret, { image: 'sophia-sandbox:not-there' });
    expect(absent.ok).toBe(true);
    expect(absent.hardened).toBeUndefined();
    expect(absent.message).toMatch(/not on this engine yet/);
  });

  it('is refused to a client without a certificate, and says so plainly', async () => {
    // Not through createEngine: it will not even try without the material (next test).
    const error = await new Promise<Error>((resolve) => {
      const request = https.get({ host: tls.host, port: tls.port, path: '/_ping', ca: tls.secrets[engineSecretNames.ca(tls.profile.id)] }, (response) => {
        response.resume();
        resolve(new Error(`answered ${String(response.statusCode)}`));
      });
      request.on('error', resolve);
    });
    expect(error.message).not.toMatch(/^answered/);
    expect(describeEngineError(error, tls.profile)).toMatch(/refused the TLS handshake|did not accept this profile's client certificate/);
  });

  it('will not connect when the keychain lacks a piece, naming it', async () => {
    for (const missing of ['ca', 'cert', 'key'] as const) {
      const account = engineSecretNames[missing](tls.profile.id);
      const secret = (name: string): string | null => (name === account ? null : tls.secret(name));
      expect(() => createEngine(tls.profile, secret)).toThrow(SophiaError);
      expect(() => createEngine(tls.profile, secret)).toThrow(account);
      const check = await checkEngine(tls.profile, secret);
      expect(check.ok).toBe(false);
      expect(check.message).toContain(account);
    }
  });

  it('refuses an engine whose certificate another CA signed', async () => {
    const secret = (name: string): string | null => (name === engineSecretNames.ca(tls.profile.id) ? otherCa.ca : tls.secret(name));
    const check = await checkEngine(tls.profile, secret);
    expect(check.ok).toBe(false);
    expect(check.message).toMatch(/certificate that the CA in this profile did not sign/);
  });

  it('is refused with a client certificate from a CA the engine does not trust', async () => {
    const secret = (name: string): string | null => {
      if (name === engineSecretNames.cert(tls.profile.id)) return otherCa.cert;
      if (name === engineSecretNames.key(tls.profile.id)) return otherCa.key;
      return tls.secret(name);
    };
    const check = await checkEngine(tls.profile, secret);
    expect(check.ok).toBe(false);
    expect(check.message).toMatch(/refused the TLS handshake/);
  });

  it('says so when nothing listens', async () => {
    const check = await checkEngine({ ...tls.profile, port: 1 }, tls.secret, { timeoutMs: 5000 });
    expect(check.ok).toBe(false);
    expect(check.message).toMatch(/connection refused/);
  });
});

describe('SSH engine', () => {
  // Each SSH session runs the login shell first (here root's .bashrc starts pyenv: about a
  // second on a quiet machine, several under load), and the check opens two or three.
  const slow = { timeoutMs: 60_000 };

  it('does not connect to an unpinned host, and shows the key it presented', async () => {
    const { hostKey: _pinned, ...unpinned } = ssh.profile;
    const check = await checkEngine(unpinned, ssh.secret, slow);
    expect(check.ok).toBe(false);
    expect(check.hostKey).toBe(ssh.hostKey);
    expect(check.message).toMatch(/not pinned/);
    expect(check.message).toContain(ssh.hostKey);
  });

  it('refuses a host whose key differs from the pinned one, loudly', async () => {
    const wrong = `SHA256:${'A'.repeat(43)}`;
    const check = await checkEngine({ ...ssh.profile, hostKey: wrong }, ssh.secret, slow);
    expect(check.ok).toBe(false);
    expect(check.message).toMatch(/WARNING: .*CHANGED/);
    expect(check.hostKey).toBe(ssh.hostKey);
  });

  it('works with the right pin, reaching the engine behind it', async () => {
    const check = await checkEngine(ssh.profile, ssh.secret, slow);
    expect(check, check.message).toMatchObject({ ok: true, os: 'linux', hostKey: ssh.hostKey });
    // The same engine as over TLS: the SSH server dials that dockerd's unix socket.
    const viaSsh = createEngine(ssh.profile, ssh.secret);
    const viaTls = createEngine(tls.profile, tls.secret);
    expect(viaSsh.remote).toBe(true);
    expect((await viaSsh.docker().info()).ID).toBe((await viaTls.docker().info()).ID);
    await Promise.all([viaSsh.close(), viaTls.close()]);
  });

  it('carries 12 requests at once, more than one connection’s MaxSessions (10)', async () => {
    const engine = createEngine(ssh.profile, ssh.secret);
    const answers = await Promise.all(Array.from({ length: 12 }, () => engine.docker().version()));
    expect(answers).toHaveLength(12);
    for (const answer of answers) expect(answer.ApiVersion).toMatch(/^1\./);
    // And again on the kept-alive channels.
    const again = await Promise.all(Array.from({ length: 12 }, () => engine.docker().ping()));
    expect(again.map(String)).toEqual(Array.from({ length: 12 }, () => 'OK'));
    await engine.close();
  });

  it('gives host keys in the OpenSSH form that ssh-keygen -l prints', async () => {
    const { execFile } = await import('node:child_process');
    const printed = await new Promise<string>((resolve, reject) =>
      execFile('ssh-keygen', ['-l', '-E', 'sha256', '-f', ssh.hostPublicKeyFile], (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    expect(printed.split(/\s+/)[1]).toBe(ssh.hostKey);
    const check = await checkEngine(ssh.profile, ssh.secret, slow);
    expect(check.hostKey).toBe(printed.split(/\s+/)[1]);
  });

  it('connects again after its connections are cut', async () => {
    const engine = createEngine(ssh.profile, ssh.secret);
    expect(String(await engine.docker().ping())).toBe('OK');
    const loginsBefore = await ssh.acceptedLogins();
    expect(await ssh.dropConnections()).toBeGreaterThan(0);
    // The cut reaches the client as the TCP connection closing; once it has, requests log in anew.
    await expect.poll(() => engine.docker().ping().then(String, (error: Error) => error.message), { timeout: 20_000 }).toBe('OK');
    const burst = await Promise.all(Array.from({ length: 12 }, () => engine.docker().version()));
    expect(burst).toHaveLength(12);
    expect(await ssh.acceptedLogins()).toBeGreaterThan(loginsBefore);
    await engine.close();
  });

  it('logs in through the SSH agent', async () => {
    const { execFile } = await import('node:child_process');
    const run = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> =>
      new Promise((resolve, reject) => execFile(command, args, { env }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
    const dir = await mkdtemp(path.join(tmpdir(), 'sophia-agent-'));
    const agentSocket = path.join(dir, 'agent.sock');
    const agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(await run('ssh-agent', ['-s', '-a', agentSocket]))?.[1]);
    const saved = process.env['SSH_AUTH_SOCK'];
    try {
      await run('ssh-add', ['-q', ssh.keyFile], { ...process.env, SSH_AUTH_SOCK: agentSocket });
      process.env['SSH_AUTH_SOCK'] = agentSocket;
      // No key in the keychain: the agent is the only way in.
      const check = await checkEngine({ ...ssh.profile, sshAuth: 'agent' }, () => null, slow);
      expect(check, check.message).toMatchObject({ ok: true, hostKey: ssh.hostKey });
      delete process.env['SSH_AUTH_SOCK'];
      const without = await checkEngine({ ...ssh.profile, sshAuth: 'agent' }, () => null, slow);
      expect(without.ok).toBe(false);
      expect(without.message).toMatch(/no agent is running/);
    } finally {
      if (saved === undefined) delete process.env['SSH_AUTH_SOCK'];
      else process.env['SSH_AUTH_SOCK'] = saved;
      if (agentPid > 0) process.kill(agentPid, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says when the key is not accepted', async () => {
    const secret = (name: string): string | null => (name === engineSecretNames.sshKey(ssh.profile.id) ? otherKey : null);
    const check = await checkEngine(ssh.profile, secret, slow);
    expect(check.ok).toBe(false);
    expect(check.message).toMatch(/did not accept/);
  });

  it('says when dial-stdio fails on the SSH host (a socket that is not there)', async () => {
    const check = await checkEngine({ ...ssh.profile, socketPath: '/nonexistent/docker.sock' }, ssh.secret, slow);
    expect(check.ok).toBe(false);
    expect(check.message).toMatch(/dial-stdio. on 127\.0\.0\.1 ended with code \d+/);
  });

  it('says when docker is not on the SSH host', async () => {
    // A second server whose sessions get a PATH without the docker CLI.
    const bare = await startSshEngine({ socketPath: tls.socketPath }, { id: 'test-ssh-bare', extraConfig: ['SetEnv PATH=/nonexistent'] });
    try {
      const check = await checkEngine(bare.profile, bare.secret, slow);
      expect(check.ok).toBe(false);
      expect(check.message).toMatch(/`docker` command was not found on 127\.0\.0\.1/);
    } finally {
      await bare.stop();
    }
  });
});

describe('Podman engine', () => {
  it('answers through its API socket', async () => {
    const check = await checkEngine(podman.profile, podman.secret);
    expect(check, check.message).toMatchObject({ ok: true, os: 'linux' });
    const engine = createEngine(podman.profile, podman.secret);
    expect(engine).toMatchObject({ kind: 'podman', remote: true });
    const version = await engine.docker().version();
    expect(JSON.stringify(version.Components ?? [])).toMatch(/Podman/i);
    await engine.close();
  });

  it('runs a container with the sandbox hardening (with the explicit process limit Podman needs)', async () => {
    const image = defaultSandboxImage();
    const engine = createEngine(podman.profile, podman.secret);
    await copyImage(createDockerClient(), engine.docker(), image);
    await engine.close();
    const check = await checkEngine(podman.profile, podman.secret, { image });
    expect(check, check.message).toMatchObject({ ok: true, hardened: true });
  });

  it('says plainly when the socket is missing', async () => {
    const check = await checkEngine({ ...podman.profile, socketPath: '/nonexistent/podman.sock' }, podman.secret);
    expect(check.ok).toBe(false);
    expect(check.message).toMatch(/no Podman socket/);
  });
});

describe('the log', () => {
  it('holds no certificate key or SSH key', () => {
    const all = logged.join("\n");
    const secrets = [...Object.values(tls.secrets), ...Object.values(ssh.secrets), otherCa.key];
    for (const value of secrets) {
      const body = value.split('\n').filter((line) => line && !line.startsWith('-----'))[0] ?? value;
      expect(all).not.toContain(body);
    }
    // The log did record the checks (so the capture worked).
    expect(all).toMatch(/engine check failed/);
  });
});

// An ed25519 key the test server does not know (made once, not used anywhere else).
let otherKey = '';
beforeAll(async () => {
  const { execFile } = await import('node:child_process');
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-other-key-'));
  await new Promise<void>((resolve, reject) =>
    execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')], (error) => (error ? reject(error) : resolve())),
  );
  const { readFile } = await import('node:fs/promises');
  otherKey = await readFile(path.join(dir, 'k'), 'utf8');
  await rm(dir, { recursive: true, force: true });
});
