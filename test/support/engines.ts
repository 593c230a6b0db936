/**
 * Real sandbox engines for tests and benchmarks, started on this machine:
 * - a second `dockerd` on 127.0.0.2 with mutual TLS (certificates made here with `openssl`), its
 *   own data root, exec root and containerd, and a unix socket of its own for the SSH engine;
 * - an OpenSSH server on 127.0.0.1 in front of it (own host key, a generated client key), so
 *   `docker system dial-stdio` reaches that dockerd's unix socket;
 * - Podman's API service (`podman system service`) with its own storage.
 * Each returns a profile and its secrets (what the keychain would hold). Everything started is
 * stopped by `stop()` and, failing that, when the process exits. A missing program throws: the
 * tests fail rather than skip.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { EngineProfile } from '../../shared/contract';
import { createDockerClient } from '../../electron/sandbox/dockerClient';
import { engineSecretNames, type EngineSecret } from '../../electron/sandbox/engines/engineClient';

const run = promisify(execFile);

/** Persistent storage (images survive between runs): a second run while one holds it gets its own. */
const persistentRoot = '/var/tmp/sophia-test-engines';

export interface StartedEngine {
  readonly profile: EngineProfile;
  /** What the keychain would hold for this profile. */
  readonly secrets: Record<string, string>;
  readonly secret: EngineSecret;
  /** The engine's own unix socket on this machine (the SSH engine and the CLI use it). */
  readonly socketPath: string;
  /**
   * The `docker` CLI command line that runs `args` against this engine (for `docker run` beside
   * the product in the bench): `-H`/`--tlsverify` flags, or over SSH the CLI on the far side.
   */
  cli(args: readonly string[]): { command: string; args: string[] };
  stop(): Promise<void>;
}

export interface TlsEngine extends StartedEngine {
  /** The folder with ca.pem, cert.pem, key.pem (client) and the server's files. */
  readonly certDir: string;
  readonly host: string;
  readonly port: number;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

function secretReader(secrets: Record<string, string>): EngineSecret {
  return (account) => secrets[account] ?? null;
}

async function need(program: string, hint: string): Promise<string> {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const candidate = path.join(dir, program);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`The engine tests need \`${program}\` on this machine (${hint}); it is not installed. .ci/run installs it.`);
}

export async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round < 10_000; round += 1) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const tail = logFile ? (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n') : '';
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.${tail ? `\nLast log lines:\n${tail}` : ''}`);
}

/**
 * A folder under /var/tmp that one run holds at a time (a lock file with its pid, then the pid
 * of the engine started on it); else a fresh one. A lock whose run is gone is taken over, and
 * an engine that run left behind (its test process was killed outright) is stopped first: two
 * engines on one storage folder would corrupt it.
 */
async function claimStorage(name: string): Promise<{ dir: string; owned: (enginePid: number) => Promise<void>; release: () => Promise<void> }> {
  await mkdir(persistentRoot, { recursive: true });
  const dir = path.join(persistentRoot, name);
  const lock = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      await mkdir(dir, { recursive: true });
      return {
        dir,
        owned: (enginePid) => writeFile(lock, `${process.pid}\n${enginePid}\n`),
        release: () => unlink(lock).catch(() => undefined),
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [holder, leftEngine] = (await readFile(lock, 'utf8').catch(() => '')).split('\n').map((line) => Number(line.trim()));
      if (holder !== undefined && Number.isInteger(holder) && holder > 0 && isAlive(holder)) break;
      if (leftEngine !== undefined && Number.isInteger(leftEngine) && leftEngine > 0) await stopLeftEngine(leftEngine, dir);
      await unlink(lock).catch(() => undefined);
    }
  }
  const own = path.join(persistentRoot, `${name}-${process.pid}-${randomBytes(3).toString('hex')}`);
  await mkdir(own, { recursive: true });
  return { dir: own, owned: () => Promise.resolve(), release: () => rm(own, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined) };
}

/** Stops an engine process a killed run left on `dir`, if it is still that engine. */
async function stopLeftEngine(pid: number, dir: string): Promise<void> {
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!commandLine.includes(dir)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

async function startLogged(program: string, args: string[], logFile: string): Promise<ChildProcess> {
  const log = await open(logFile, 'a');
  // In its own folder: Podman's conmon writes an `oom` file into its working directory when a
  // container is killed for memory.
  const child = spawn(program, args, { stdio: ['ignore', log.fd, log.fd], detached: false, cwd: path.dirname(logFile) });
  await log.close();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface Certificates {
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A CA, a server certificate for `serverIp` and a client certificate, with `openssl`, in `dir`. */
export async function makeCertificates(dir: string, serverIp = '127.0.0.2'): Promise<Certificates> {
  const openssl = await need('openssl', 'Debian package openssl');
  await mkdir(dir, { recursive: true });
  const at = (name: string): string => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(openssl, ['req', '-x509', ...ec, '-keyout', at('ca-key.pem'), '-out', at('ca.pem'), '-days', '2', '-subj', '/CN=sophia-test-ca']);
  for (const [name, usage, extra] of [
    ['server', 'serverAuth', `subjectAltName=IP:${serverIp}`],
    ['client', 'clientAuth', ''],
  ] as const) {
    await run(openssl, ['req', ...ec, '-keyout', at(`${name}-key.pem`), '-out', at(`${name}.csr`), '-subj', `/CN=sophia-test-${name}`]);
    await writeFile(at(`${name}.ext`), `extendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n${extra}\n`);
    await run(openssl, ['x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca-key.pem'), '-CAcreateserial', '-out', at(`${name}-cert.pem`), '-days', '2', '-extfile', at(`${name}.ext`)]);
  }
  return {
    dir,
    ca: await readFile(at('ca.pem'), 'utf8'),
    cert: await readFile(at('client-cert.pem'), 'utf8'),
    key: await readFile(at('client-key.pem'), 'utf8'),
  };
}

async function dockerAnswers(docker: Docker): Promise<boolean> {
  await docker.ping();
  return true;
}

/**
 * A second dockerd on tcp://127.0.0.2:<free port> with `--tlsverify`. It starts its own
 * containerd under its exec root (the machine's dockerd runs a private one under
 * /var/run/docker, and there is no system containerd socket at /run/containerd for both to
 * share), so the two engines see neither each other's containers nor images.
 */
export async function startTlsEngine(options: { id?: string } = {}): Promise<TlsEngine> {
  const dockerd = await need('dockerd', 'Debian package docker.io');
  const id = options.id ?? 'test-tls';
  const host = '127.0.0.2';
  const port = await freePort(host);
  // Short: the exec root holds containerd's socket, and a unix socket path has at most 107 bytes.
  const temp = await mkdtemp('/tmp/sophia-eng-');
  const certs = await makeCertificates(path.join(temp, 'certs'), host);
  const storage = await claimStorage('tls');
  const execRoot = path.join(temp, 'x');
  const socketPath = path.join(temp, 'docker.sock');
  const logFile = path.join(temp, 'dockerd.log');
  const configFile = path.join(temp, 'daemon.json');
  await writeFile(configFile, '{}\n');
  const child = await startLogged(
    dockerd,
    [
      '--config-file', configFile,
      '--data-root', storage.dir,
      '--exec-root', execRoot,
      '--pidfile', path.join(temp, 'dockerd.pid'),
      '-H', `tcp://${host}:${port}`,
      '-H', `unix://${socketPath}`,
      '--tlsverify',
      '--tlscacert', path.join(certs.dir, 'ca.pem'),
      '--tlscert', path.join(certs.dir, 'server-cert.pem'),
      '--tlskey', path.join(certs.dir, 'server-key.pem'),
      '--bridge=none',
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--cgroup-parent', `/sophia-${id}`,
    ],
    logFile,
  );
  if (child.pid !== undefined) await storage.owned(child.pid);
  const local = createDockerClient({ socketPath });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopChild(child, 20_000);
    await storage.release();
    await rm(temp, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  };
  try {
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`dockerd exited with code ${String(code)} while starting`))));
    exited.catch(() => undefined);
    await Promise.race([waitUntil(() => dockerAnswers(local), 60_000, 'the TLS dockerd to answer on its unix socket', logFile), exited]);
  } catch (error) {
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${tail}`, { cause: error });
  }
  const secrets = {
    [engineSecretNames.ca(id)]: certs.ca,
    [engineSecretNames.cert(id)]: certs.cert,
    [engineSecretNames.key(id)]: certs.key,
  };
  return {
    profile: { id, name: 'Test engine over TLS', kind: 'tls', host, port },
    secrets,
    secret: secretReader(secrets),
    socketPath,
    certDir: certs.dir,
    host,
    port,
    cli: (args) => ({
      command: 'docker',
      args: ['-H', `tcp://${host}:${port}`, '--tlsverify', '--tlscacert', path.join(certs.dir, 'ca.pem'), '--tlscert', path.join(certs.dir, 'client-cert.pem'), '--tlskey', path.join(certs.dir, 'client-key.pem'), ...args],
    }),
    stop,
  };
}

/** `SHA256:...` of an OpenSSH public key line (`type base64 comment`). */
export function fingerprintOfPublicKey(line: string): string {
  const blob = line.trim().split(/\s+/)[1] ?? '';
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

export interface SshEngine extends StartedEngine {
  readonly port: number;
  /** The host key's `SHA256:` fingerprint (pinned in `profile`). */
  readonly hostKey: string;
  /** The client's private key file (for the `ssh`/`docker` CLI). */
  readonly keyFile: string;
  /** The host key's public half (`ssh-ed25519 AAAA...`), for checking fingerprints against `ssh-keygen -l`. */
  readonly hostPublicKeyFile: string;
  /** Cuts every open connection (kills sshd's per-connection processes); returns how many. */
  dropConnections(): Promise<number>;
  /** How many logins sshd has accepted so far (from its log). */
  acceptedLogins(): Promise<number>;
}

/** The processes whose parent is `pid` (from /proc). */
async function childrenOf(pid: number): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === pid) found.push(Number(entry));
  }
  return found;
}

/**
 * An OpenSSH server on 127.0.0.1:<free port> that lets the current user in with a generated key;
 * the profile names `target.socketPath`, so `docker -H unix://... system dial-stdio` reaches that
 * engine. `MaxSessions 10` (OpenSSH's default, said out loud) bounds channels per connection.
 */
export async function startSshEngine(target: { socketPath: string }, options: { id?: string; extraConfig?: readonly string[] } = {}): Promise<SshEngine> {
  const sshd = await need('sshd', 'Debian package openssh-server');
  const keygen = await need('ssh-keygen', 'Debian package openssh-client');
  const id = options.id ?? 'test-ssh';
  const port = await freePort('127.0.0.1');
  const temp = await mkdtemp('/tmp/sophia-sshd-');
  const at = (name: string): string => path.join(temp, name);
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'sophia-test-host', '-f', at('host_key')]);
  await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'sophia-test-client', '-f', at('client_key')]);
  await writeFile(at('authorized_keys'), await readFile(at('client_key.pub'), 'utf8'));
  const user = (await run('id', ['-un'])).stdout.trim();
  // sshd refuses to start without its privilege separation folder.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await writeFile(
    at('sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${at('host_key')}`,
      `PidFile ${at('sshd.pid')}`,
      `AuthorizedKeysFile ${at('authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      // The key files live in a temp folder, not a home folder with the usual owners and modes.
      'StrictModes no',
      'UsePAM no',
      `AllowUsers ${user}`,
      'MaxSessions 10',
      // Sessions get this temp folder as HOME, so the login shell does not run the account's own
      // ~/.bashrc: on this machine root's starts pyenv (about 1 s a channel, and a stale lock
      // of a killed session once held every later one for 60 s). `docker` needs no HOME files.
      // sshd takes the first SetEnv line only: a caller's variables join this one.
      ['SetEnv', `HOME=${temp}`, ...(options.extraConfig ?? []).filter((line) => line.startsWith('SetEnv ')).map((line) => line.slice('SetEnv '.length))].join(' '),
      'MaxStartups 100:30:200',
      'LogLevel VERBOSE',
      ...(options.extraConfig ?? []).filter((line) => !line.startsWith('SetEnv ')),
      '',
    ].join('\n'),
  );
  const logFile = at('sshd.log');
  const child = await startLogged(sshd, ['-D', '-e', '-f', at('sshd_config')], logFile);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopChild(child, 5000);
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await waitUntil(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = connect(port, '127.0.0.1');
          probe.setTimeout(2000, () => {
            probe.destroy();
            resolve(false);
          });
          probe.once('data', (data) => {
            probe.destroy();
            resolve(data.toString('latin1').startsWith('SSH-'));
          });
          probe.once('error', () => resolve(false));
        }),
      15_000,
      'sshd to greet',
      logFile,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const hostPublicKey = await readFile(at('host_key.pub'), 'utf8');
  const hostKey = fingerprintOfPublicKey(hostPublicKey);
  await writeFile(at('known_hosts'), `[127.0.0.1]:${port} ${hostPublicKey.trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
  const secrets = { [engineSecretNames.sshKey(id)]: await readFile(at('client_key'), 'utf8') };
  return {
    profile: { id, name: 'Test engine over SSH', kind: 'ssh', host: '127.0.0.1', port, user, sshAuth: 'key', hostKey, socketPath: target.socketPath },
    secrets,
    secret: secretReader(secrets),
    socketPath: target.socketPath,
    port,
    hostKey,
    keyFile: at('client_key'),
    hostPublicKeyFile: at('host_key.pub'),
    dropConnections: async () => {
      // Each connection is a monitor process and its unprivileged child holding the socket.
      const sessions: number[] = [];
      for (let level = child.pid === undefined ? [] : await childrenOf(child.pid); level.length > 0 && sessions.length < 1000; ) {
        sessions.push(...level);
        level = (await Promise.all(level.map(childrenOf))).flat();
      }
      for (const pid of sessions) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone with its parent already.
        }
      }
      const deadline = Date.now() + 10_000;
      while (sessions.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      return sessions.length;
    },
    acceptedLogins: async () => ((await readFile(logFile, 'utf8').catch(() => '')).match(/Accepted publickey/g) ?? []).length,
    // `docker -H ssh://` runs the system ssh with the person's own key and known_hosts (it has
    // no flag for others), so the CLI runs on the far side instead: one SSH session per call,
    // as `docker -H ssh://` makes too.
    cli: (args) => ({
      command: 'ssh',
      args: ['-i', at('client_key'), '-o', `UserKnownHostsFile=${at('known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(port), `${user}@127.0.0.1`, 'docker', '-H', `unix://${target.socketPath}`, ...args],
    }),
    stop,
  };
}

/**
 * Podman's Docker-compatible API (`podman system service`), rootful, with storage of its own
 * under /var/tmp (kept between runs), cgroupfs (no systemd here) and a file events log.
 */
export async function startPodmanEngine(options: { id?: string } = {}): Promise<StartedEngine> {
  const podman = await need('podman', 'Debian package podman');
  const id = options.id ?? 'test-podman';
  const temp = await mkdtemp('/tmp/sophia-podman-');
  const storage = await claimStorage('podman');
  const socketPath = path.join(temp, 'podman.sock');
  const logFile = path.join(temp, 'podman.log');
  const globalArgs = [
    '--root', path.join(storage.dir, 'root'),
    // Podman's database remembers its run root and temp dir: they stay with the storage.
    '--runroot', path.join('/tmp/sophia-podman-state', path.basename(storage.dir), 'run'),
    '--tmpdir', path.join('/tmp/sophia-podman-state', path.basename(storage.dir), 'tmp'),
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
  ];
  const child = await startLogged(podman, [...globalArgs, 'system', 'service', '--time=0', `unix://${socketPath}`], logFile);
  if (child.pid !== undefined) await storage.owned(child.pid);
  const local = createDockerClient({ socketPath });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopChild(child, 15_000);
    await storage.release();
    await rm(temp, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  };
  try {
    await waitUntil(() => dockerAnswers(local), 60_000, 'the Podman service to answer', logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    profile: { id, name: 'Test Podman', kind: 'podman', socketPath },
    secrets: {},
    secret: () => null,
    socketPath,
    // Podman's own client against the same service: `docker run` (CLI 28) gets 409 from Podman
    // 4.3's compat API when it attaches to a container that ends at once.
    cli: (args) => ({ command: podman, args: ['--remote', '--url', `unix://${socketPath}`, ...args] }),
    stop,
  };
}

/**
 * Copies an image from one engine to another with `docker save | docker load` through the API,
 * when the target lacks it. (Fleet's `ensureImageOnEngine` is the product's way; this is the
 * tests' fallback until it is merged.)
 */
export async function copyImage(from: Docker, to: Docker, image: string): Promise<{ copied: boolean }> {
  try {
    await to.getImage(image).inspect();
    return { copied: false };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  const saved = await from.getImage(image).get();
  const loaded = await to.loadImage(saved, { quiet: true });
  await new Promise<void>((resolve, reject) => {
    loaded.on('error', reject);
    loaded.on('end', () => resolve());
    loaded.resume();
  });
  await to.getImage(image).inspect();
  return { copied: true };
}
