/**
 * Makes a `SandboxEngine` from a profile in Settings → Engines: the local socket, a Docker engine
 * over mutual TLS, a Docker engine over SSH, or Podman's Docker-compatible socket. Certificates
 * and keys come from the keychain through `secret` and stay in memory; no file is written.
 *
 * SSH does not use docker-modem's own SSH support: that makes one ssh2 client per request and
 * never checks the host key. Here an `http.Agent` hands out ssh2 exec channels running
 * `docker system dial-stdio`, several on one connection (up to the server's MaxSessions), the
 * host key pinned by its SHA-256 fingerprint (an unpinned or different key refuses).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { TcpNetConnectOpts } from 'node:net';
import { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import type Docker from 'dockerode';
import type * as Ssh2 from 'ssh2';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import type { EngineProfile } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import { requireOnFirstUse } from '../../core/lazyRequire';
import { createLogger } from '../../log';
import { createDockerClient, imageExists, statusCodeOf, withTimeout } from '../dockerClient';
import { containerSpec, defaultLimits, labelKeys } from '../hardening';
import { currentOwner, ownerLabels } from '../sandboxOwner';
import type { SandboxEngine } from './engine';

const log = createLogger('engineClient');
const ssh2 = requireOnFirstUse<typeof Ssh2>('ssh2');

/** A keychain read: `engine-<id>-ca`, `engine-<id>-cert`, `engine-<id>-key`, `engine-<id>-ssh-key`. */
export type EngineSecret = (account: string) => string | null;

export const localProfile: EngineProfile = { id: 'local', name: 'This machine', kind: 'local' };

export const engineSecretNames = {
  ca: (id: string) => `engine-${id}-ca`,
  cert: (id: string) => `engine-${id}-cert`,
  key: (id: string) => `engine-${id}-key`,
  sshKey: (id: string) => `engine-${id}-ssh-key`,
};

export interface EngineCheck {
  ok: boolean;
  message: string;
  version?: string;
  /** The API version the engine speaks (dockerode asks without a version prefix, so the engine's own). */
  apiVersion?: string;
  os?: string;
  arch?: string;
  rttMs?: number;
  /** ssh: the host key the server presented, `SHA256:...` (shown to the person to confirm and pin). */
  hostKey?: string;
  /**
   * Whether a container with the sandbox's full hardening started and exited cleanly there.
   * Absent when not tried (no image named, or the image is not on the engine yet).
   */
  hardened?: boolean;
}

/** OpenSSH's default MaxSessions: channels one connection may carry. */
const channelsPerConnection = 10;
/** At most this many SSH connections to one engine (so at most 160 channels at once: each sandbox container holds one for its keeper's attach stream). */
const maxConnections = 16;
const sshReadyTimeoutMs = 10_000;
/**
 * A connection that stops answering (a cut network sends no close) is given up after three
 * unanswered keepalives: its requests fail within about 20 s instead of hanging.
 */
const keepaliveMs = 5000;
/** Channels dialled ahead of need on an SSH engine (see SshTransport.openChannel). */
const spareChannels = 2;
/** How long a request waits for a free channel when every connection is full. */
const channelWaitMs = 30_000;
/** An idle kept-alive channel or TLS socket is closed after this long. */
const idleSocketMs = 30_000;

/** The OpenSSH form of a host key's fingerprint: `SHA256:` and unpadded base64 of its SHA-256. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Failures the SSH transport names itself (so checkEngine can explain them). */
export type EngineFailure = 'host_key_unpinned' | 'host_key_mismatch' | 'ssh_auth' | 'docker_missing' | 'dial_failed' | 'closed';

export class EngineConnectionError extends Error {
  override readonly name = 'EngineConnectionError';
  readonly failure: EngineFailure;
  constructor(failure: EngineFailure, message: string) {
    super(message);
    this.failure = failure;
  }
}

function needSecret(profile: EngineProfile, secret: EngineSecret, account: string, what: string): string {
  const value = secret(account);
  if (value === null || value.trim() === '') {
    throw new SophiaError('bad_request', `The engine "${profile.name}" needs ${what} in the keychain (${account}), and there is none. Add it in Settings → Engines.`);
  }
  return value;
}

function needField<T>(profile: EngineProfile, value: T | undefined, what: string): T {
  if (value === undefined || value === '') throw new SophiaError('bad_request', `The engine "${profile.name}" has no ${what}.`);
  return value;
}

/** A single-quoted shell word: the remote command runs through the login shell. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function podmanDefaultSocket(): string {
  if (process.getuid?.() === 0) return '/run/podman/podman.sock';
  const runtime = process.env['XDG_RUNTIME_DIR'] || `/run/user/${process.getuid?.() ?? 0}`;
  return `${runtime}/podman/podman.sock`;
}

export function createEngine(profile: EngineProfile, secret: EngineSecret): SandboxEngine {
  switch (profile.kind) {
    case 'local': {
      const options = profile.socketPath ? { socketPath: profile.socketPath } : undefined;
      return simpleEngine(profile, false, () => createDockerClient(options));
    }
    case 'podman': {
      const socketPath = profile.socketPath || podmanDefaultSocket();
      return simpleEngine(profile, true, () => createDockerClient({ socketPath }));
    }
    case 'tls':
      return tlsEngine(profile, secret);
    case 'ssh':
      return sshEngine(profile, secret);
    default: {
      const never: never = profile.kind;
      throw new SophiaError('bad_request', `Unknown engine kind ${String(never)}.`);
    }
  }
}

/**
 * docker-modem takes an `agent` for its requests; dockerode's types do not list it.
 *
 * docker-modem formats every request's options with `util.inspect(..., { showHidden: true,
 * depth: null })` for its debug log, whether or not that log is on: with a kept-alive agent in
 * them that walks every socket's TLS or SSH state, 2-3 ms of CPU a request (the TLS engine's
 * ping took 2.3 ms through dockerode against 0.4 ms through the same agent directly). The agent
 * says only its name when inspected; the TLS material lives in the agent alone, so it is not in
 * the options that log would print with DEBUG=modem either.
 */
function withAgent(options: Docker.DockerOptions, agent: http.Agent): Docker.DockerOptions {
  Object.defineProperty(agent, inspect.custom, { value: () => `[${agent.constructor.name}]` });
  return { ...options, agent } as Docker.DockerOptions;
}

function simpleEngine(profile: EngineProfile, remote: boolean, make: () => Docker, onClose?: () => void): SandboxEngine {
  let client: Docker | undefined;
  let closed = false;
  return {
    id: profile.id,
    name: profile.name,
    kind: profile.kind,
    remote,
    docker() {
      if (closed) throw new SophiaError('unavailable', `The engine "${profile.name}" was closed.`);
      client ??= make();
      return client;
    },
    close() {
      if (!closed) {
        closed = true;
        onClose?.();
      }
      return Promise.resolve();
    },
  };
}

function tlsEngine(profile: EngineProfile, secret: EngineSecret): SandboxEngine {
  const host = needField(profile, profile.host, 'host name or address');
  const port = profile.port ?? 2376;
  const ca = needSecret(profile, secret, engineSecretNames.ca(profile.id), 'the CA certificate');
  const cert = needSecret(profile, secret, engineSecretNames.cert(profile.id), 'the client certificate');
  const key = needSecret(profile, secret, engineSecretNames.key(profile.id), 'the client key');
  // Kept-alive sockets: a TLS handshake per request would cost several round trips each time.
  const agent = new https.Agent({ keepAlive: true, maxFreeSockets: 4, timeout: idleSocketMs, ca, cert, key, minVersion: 'TLSv1.2' });
  return simpleEngine(profile, true, () => createDockerClient(withAgent({ host, port, protocol: 'https' }, agent)), () => agent.destroy());
}

function sshEngine(profile: EngineProfile, secret: EngineSecret): SandboxEngine {
  const host = needField(profile, profile.host, 'host name or address');
  const port = profile.port ?? 22;
  const username = needField(profile, profile.user, 'user name to log in as');
  const keyAccount = engineSecretNames.sshKey(profile.id);
  const auth = profile.sshAuth ?? (secret(keyAccount) ? 'key' : 'agent');
  const config: ConnectConfig = { host, port, username, readyTimeout: sshReadyTimeoutMs, keepaliveInterval: keepaliveMs, keepaliveCountMax: 3 };
  if (auth === 'key') {
    config.privateKey = needSecret(profile, secret, keyAccount, 'the SSH private key');
  } else {
    const agentSocket = process.env['SSH_AUTH_SOCK'];
    if (!agentSocket) throw new SophiaError('bad_request', `The engine "${profile.name}" logs in through the SSH agent, but no agent is running (SSH_AUTH_SOCK is not set).`);
    config.agent = agentSocket;
  }
  if (profile.socketPath && /[\0\n\r]/.test(profile.socketPath)) throw new SophiaError('bad_request', 'The socket path has a control character.');
  const command = profile.socketPath ? `docker -H ${shellQuote(`unix://${profile.socketPath}`)} system dial-stdio` : 'docker system dial-stdio';
  const transport = new SshTransport({ profile, config, command });
  const agent = new SshChannelAgent(transport);
  const engine = simpleEngine(
    profile,
    true,
    // The host and port only fill the Host header: every socket comes from the agent.
    () => createDockerClient(withAgent({ host, port, protocol: 'http' }, agent)),
    () => {
      agent.destroy();
      transport.close();
    },
  );
  sshTransports.set(engine, transport);
  return engine;
}

const sshTransports = new WeakMap<SandboxEngine, SshTransport>();

interface SshConnection {
  readonly client: Client;
  readonly ready: Promise<void>;
  channels: number;
  /** The server refused one more channel here: use it for no more than it carries now. */
  limit: number;
  dead: boolean;
  /** Its open channels: ended with an error when the connection drops (ssh2 leaves them open). */
  readonly open: Set<ClientChannel>;
}

interface SshTransportOptions {
  profile: EngineProfile;
  config: ConnectConfig;
  command: string;
}

/** SSH connections to one engine, each carrying up to `channelsPerConnection` dial-stdio channels. */
class SshTransport {
  /** The key the server presented on the last handshake (for checkEngine to show). */
  presentedHostKey: string | undefined;
  /** The last failure of a connection or channel, in plain words. */
  lastFailure: EngineConnectionError | undefined;
  private readonly options: SshTransportOptions;
  private readonly connections = new Set<SshConnection>();
  private readonly waiters: Array<() => void> = [];
  /** Channels dialled ahead (see openChannel). */
  private readonly spares: ClientChannel[] = [];
  /** Channels of a connection that dropped. */
  private readonly lost = new WeakSet<ClientChannel>();
  private refilling = 0;
  private closed = false;

  constructor(options: SshTransportOptions) {
    this.options = options;
  }

  /**
   * A channel for one HTTP connection. Every hijacked request (an exec's or a container's attach
   * stream) keeps its channel, and starting `docker system dial-stdio` on the server takes
   * 100-500 ms, so a few channels are dialled ahead and handed out at once.
   */
  async openChannel(): Promise<ClientChannel> {
    for (let spare = this.spares.shift(); spare !== undefined; spare = this.spares.shift()) {
      if (!spare.destroyed && spare.readable && !this.lost.has(spare)) {
        this.refill();
        return spare;
      }
    }
    const channel = await this.dial();
    this.refill();
    return channel;
  }

  private refill(): void {
    while (!this.closed && this.spares.length + this.refilling < spareChannels) {
      this.refilling += 1;
      this.dial()
        .then(
          (channel) => {
            if (this.closed) {
              channel.close();
              return;
            }
            this.spares.push(channel);
            channel.once('close', () => {
              const at = this.spares.indexOf(channel);
              if (at >= 0) this.spares.splice(at, 1);
            });
          },
          // The next request dials for itself and reports the failure.
          () => undefined,
        )
        .finally(() => {
          this.refilling -= 1;
        });
    }
  }

  private async dial(): Promise<ClientChannel> {
    const deadline = Date.now() + channelWaitMs;
    // Bounded: each round either opens a channel, fails, or waits for one to close.
    for (let round = 0; round < 1000; round += 1) {
      if (this.closed) throw new EngineConnectionError('closed', `The engine "${this.options.profile.name}" was closed.`);
      const connection = this.pick();
      if (connection) {
        connection.channels += 1;
        try {
          await connection.ready;
          return await this.exec(connection);
        } catch (error) {
          connection.channels -= 1;
          if (error instanceof EngineConnectionError && error.failure === 'dial_failed' && !connection.dead && connection.channels > 0) {
            // The server allows fewer sessions than we assumed: remember it and try elsewhere.
            connection.limit = Math.max(1, connection.channels);
            continue;
          }
          this.wake();
          throw error;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    throw new EngineConnectionError('dial_failed', `Every SSH session to ${this.options.profile.name} stayed busy for ${channelWaitMs / 1000} s.`);
  }

  close(): void {
    this.closed = true;
    for (const spare of this.spares.splice(0)) spare.close();
    for (const connection of this.connections) {
      connection.dead = true;
      connection.client.end();
    }
    this.connections.clear();
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private pick(): SshConnection | undefined {
    for (const connection of this.connections) {
      if (!connection.dead && connection.channels < connection.limit) return connection;
    }
    if (this.connections.size >= maxConnections) return undefined;
    return this.connect();
  }

  private connect(): SshConnection {
    const { profile, config } = this.options;
    const client = new (ssh2().Client)();
    const pinned = profile.hostKey;
    let hostKeyFailure: EngineConnectionError | undefined;
    const connection: SshConnection = {
      client,
      channels: 0,
      limit: channelsPerConnection,
      dead: false,
      open: new Set(),
      ready: new Promise<void>((resolve, reject) => {
        client.once('ready', () => {
          log.info('ssh connection ready', { engine: profile.id, connections: this.connections.size });
          resolve();
        });
        client.on('error', (error: Error & { level?: string }) => {
          const failure = hostKeyFailure ?? describeSshError(error, profile);
          this.lastFailure = failure;
          reject(failure);
        });
      }),
    };
    connection.ready.catch(() => undefined);
    const forget = (): void => {
      // A dropped connection is forgotten, so the next request connects again. Its channels
      // get no close from ssh2 (only an end of their input), so a kept-alive HTTP socket on
      // one would take the next request and never answer: each is ended with an error here.
      if (!connection.dead) log.info('ssh connection closed', { engine: profile.id, channels: connection.open.size });
      connection.dead = true;
      this.connections.delete(connection);
      const lost = new EngineConnectionError('dial_failed', `The SSH connection to ${profile.host ?? ''} was lost.`);
      for (const channel of connection.open) {
        this.lost.add(channel);
        channel.emit('error', lost);
      }
      connection.open.clear();
      this.wake();
    };
    // Requests and answers are small and back to back: Nagle's algorithm would hold each one
    // for the peer's delayed ACK (about 40 ms a round trip).
    client.once('connect', () => client.setNoDelay(true));
    client.on('close', forget);
    client.on('end', forget);
    this.connections.add(connection);
    client.connect({
      ...config,
      hostVerifier: (key: Buffer) => {
        const presented = sshFingerprint(key);
        this.presentedHostKey = presented;
        if (pinned === undefined) {
          hostKeyFailure = new EngineConnectionError(
            'host_key_unpinned',
            `The SSH host key of ${profile.host ?? ''} is not pinned yet. It presented ${presented}: confirm it is the server's key, then save the profile.`,
          );
          return false;
        }
        if (presented !== pinned) {
          hostKeyFailure = new EngineConnectionError(
            'host_key_mismatch',
            `WARNING: the SSH host key of ${profile.host ?? ''} has CHANGED. It presented ${presented}, but ${pinned} is pinned. Someone may be intercepting the connection; Sophia refused it. If the server's key really changed, check the profile again and confirm the new key.`,
          );
          log.warn('ssh host key mismatch', { engine: profile.id, presented, pinned });
          return false;
        }
        return true;
      },
    });
    return connection;
  }

  private exec(connection: SshConnection): Promise<ClientChannel> {
    const { profile, command } = this.options;
    return new Promise((resolve, reject) => {
      const started = connection.client.exec(command, (error, channel) => {
        if (error) {
          reject(new EngineConnectionError('dial_failed', `The SSH server refused a session for the Docker connection (${error.message}).`));
          return;
        }
        // Until a socket wraps it, nobody else listens: a failed dial must not throw.
        channel.on('error', () => undefined);
        let stderr = '';
        channel.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < 2000) stderr += chunk.toString('utf8');
        });
        channel.on('exit', (code: number | null) => {
          if (code === 0 || code === null) return;
          const failure =
            code === 127
              ? new EngineConnectionError('docker_missing', `The \`docker\` command was not found on ${profile.host ?? ''} (for ${profile.user ?? ''}). Install the Docker CLI there, or put it on that user's PATH.`)
              : new EngineConnectionError('dial_failed', `\`docker system dial-stdio\` on ${profile.host ?? ''} ended with code ${code}: ${stderr.trim().split('\n')[0]?.slice(0, 300) ?? ''}`);
          this.lastFailure = failure;
          channel.emit('error', failure);
        });
        connection.open.add(channel);
        channel.once('close', () => {
          connection.open.delete(channel);
          connection.channels -= 1;
          this.wake();
        });
        resolve(channel);
      });
      if (!started) log.debug('ssh exec queued', { engine: profile.id });
    });
  }
}

/**
 * An exec channel dressed as a socket for Node's HTTP client: the timers and flags it sets on
 * TCP sockets, and the end of the stream held until the channel closes so a failed
 * `dial-stdio` (exit code) arrives as an error rather than as an empty response.
 */
class ChannelSocket extends Duplex {
  private readonly channel: ClientChannel;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(channel: ClientChannel) {
    super({ allowHalfOpen: true });
    this.channel = channel;
    channel.on('data', (chunk: Buffer) => {
      this.touch();
      if (!this.push(chunk)) channel.pause();
    });
    channel.on('error', (error: Error) => this.destroy(error));
    channel.once('close', () => {
      if (!this.destroyed) this.push(null);
    });
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.touch();
    this.channel.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    try {
      this.channel.close();
    } catch {
      // Its connection is gone already.
    }
    callback(error);
  }

  /** As `net.Socket#setTimeout`: 0 turns the timer off and takes the listener back. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idleMs = ms;
    if (onTimeout) {
      if (ms === 0) this.removeListener('timeout', onTimeout);
      else this.once('timeout', onTimeout);
    }
    this.touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    if (this.idleMs > 0 && !this.destroyed) this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
  }
}

/** Node's HTTP agent, its sockets SSH channels: kept alive and reused like TCP connections. */
class SshChannelAgent extends http.Agent {
  private readonly transport: SshTransport;

  constructor(transport: SshTransport) {
    super({ keepAlive: true, maxSockets: maxConnections * channelsPerConnection, maxFreeSockets: 4, timeout: idleSocketMs });
    this.transport = transport;
  }

  override createConnection(_options: TcpNetConnectOpts, callback?: (error: Error | null, socket: Duplex) => void): Duplex | undefined {
    this.transport.openChannel().then(
      (channel) => callback?.(null, new ChannelSocket(channel)),
      (error: Error) => callback?.(error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

function describeSshError(error: Error & { level?: string; code?: string }, profile: EngineProfile): EngineConnectionError {
  const where = `${profile.host ?? ''}:${profile.port ?? 22}`;
  if (error.level === 'client-authentication') {
    const how = profile.sshAuth === 'agent' ? 'the keys in the SSH agent' : 'the key in the keychain';
    return new EngineConnectionError('ssh_auth', `The SSH server at ${where} did not accept ${profile.user ?? ''} with ${how}. Add the public key to ~/.ssh/authorized_keys there.`);
  }
  if (error.level === 'client-timeout') return new EngineConnectionError('dial_failed', `The SSH server at ${where} did not finish the handshake in time.`);
  if (error.code === 'ECONNREFUSED') return new EngineConnectionError('dial_failed', `Nothing accepts SSH connections at ${where} (connection refused).`);
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return new EngineConnectionError('dial_failed', `The host name ${profile.host ?? ''} is not known.`);
  return new EngineConnectionError('dial_failed', `The SSH connection to ${where} failed: ${error.message.slice(0, 200)}`);
}

/** Plain words for a failure to reach an engine. */
export function describeEngineError(error: unknown, profile: EngineProfile, transport?: SshTransport): string {
  if (error instanceof EngineConnectionError) return error.message;
  if (error instanceof SophiaError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // A dropped dial-stdio channel shows up in the HTTP client as a hang-up; the channel knows why.
  if (transport?.lastFailure && (code === 'ECONNRESET' || /socket hang up/i.test(message))) return transport.lastFailure.message;
  const where = profile.kind === 'tls' ? `${profile.host ?? ''}:${profile.port ?? 2376}` : profile.kind === 'ssh' ? `${profile.host ?? ''}` : profile.socketPath || (profile.kind === 'podman' ? podmanDefaultSocket() : 'the Docker socket');
  switch (code) {
    case 'ECONNREFUSED':
      return `Nothing accepts connections at ${where} (connection refused). Is the engine running and listening there?`;
    case 'ENOENT':
      return profile.kind === 'podman'
        ? `There is no Podman socket at ${where}. Start it with \`systemctl --user start podman.socket\` (or \`podman system service\`).`
        : `There is no Docker socket at ${where}. Is the engine running?`;
    case 'EACCES':
    case 'EPERM':
      return `Permission denied on ${where}.`;
    case 'ETIMEDOUT':
      return `The engine at ${where} did not answer in time.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The host name in ${where} is not known.`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_SIGNATURE_FAILURE':
      return `The engine at ${where} presented a certificate that the CA in this profile did not sign, so Sophia refused it. Check the CA certificate.`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `The engine's certificate is not made out to ${profile.host ?? ''}, so Sophia refused it.`;
    case 'CERT_HAS_EXPIRED':
      return `The engine's certificate at ${where} has expired.`;
    default:
      break;
  }
  if (profile.kind === 'tls' && (/certificate required|bad certificate|unknown ca|alert/i.test(message) || code === 'EPROTO' || code === 'ECONNRESET')) {
    return `The engine at ${where} refused the TLS handshake: it did not accept this profile's client certificate (is it signed by the CA the engine trusts?).`;
  }
  if (/socket hang up/i.test(message)) return `The engine at ${where} closed the connection without answering.`;
  return `The engine at ${where} cannot be reached (${message.slice(0, 200)}).`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The median time of a bare `GET /_ping`: the engine's round trip as the sandbox service sees it. */
export async function measureRtt(engine: SandboxEngine, samples = 5): Promise<number> {
  const docker = engine.docker();
  const times: number[] = [];
  for (let i = 0; i < Math.max(1, Math.min(samples, 100)); i += 1) {
    const started = performance.now();
    await docker.ping();
    times.push(performance.now() - started);
  }
  return Math.round(median(times) * 100) / 100;
}

/**
 * Connects to the engine, asks its version and times a few pings, within `timeoutMs`. Never
 * throws: every failure comes back as `ok: false` with a plain message. For an SSH engine whose
 * host key is not pinned, `hostKey` holds the key the server presented.
 */
export async function checkEngine(profile: EngineProfile, secret: EngineSecret, options: { timeoutMs?: number; image?: string } = {}): Promise<EngineCheck> {
  // An SSH check logs in and starts `docker system dial-stdio` through the login shell, which
  // alone can take seconds on a busy host.
  const timeoutMs = options.timeoutMs ?? (profile.kind === 'ssh' ? 20_000 : 10_000);
  const { image } = options;
  let engine: SandboxEngine;
  try {
    engine = createEngine(profile, secret);
  } catch (error) {
    return { ok: false, message: describeEngineError(error, profile) };
  }
  const transport = sshTransports.get(engine);
  try {
    const work = (async (): Promise<EngineCheck> => {
      const version = await engine.docker().version();
      const rttMs = await measureRtt(engine, 3);
      return {
        ok: true,
        message: `${version.Version ? `Engine ${version.Version}` : 'The engine'} answered (API ${version.ApiVersion}, ${version.Os}/${version.Arch}, round trip ${rttMs} ms).`,
        version: version.Version,
        apiVersion: version.ApiVersion,
        os: version.Os,
        arch: version.Arch,
        rttMs,
      };
    })();
    const result = await withTimeout(work, timeoutMs, `Checking the engine "${profile.name}"`);
    if (transport?.presentedHostKey) result.hostKey = transport.presentedHostKey;
    if (image !== undefined) {
      const probe = await probeHardened(engine, image, hardenedProbeMs);
      if (probe.hardened !== undefined) result.hardened = probe.hardened;
      result.message = `${result.message} ${probe.message}`;
      if (probe.hardened === false) result.ok = false;
    }
    return result;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const message =
      code === 'ETIMEDOUT' && !(transport?.lastFailure)
        ? `The engine "${profile.name}" did not answer within ${Math.round(timeoutMs / 1000)} s.`
        : describeEngineError(error, profile, transport);
    const result: EngineCheck = { ok: false, message };
    if (transport?.presentedHostKey) result.hostKey = transport.presentedHostKey;
    log.info('engine check failed', { engine: profile.id, kind: profile.kind, reason: message });
    return result;
  } finally {
    await engine.close();
  }
}

/** Starting a container can take seconds on a busy engine. */
const hardenedProbeMs = 30_000;

/**
 * Runs `/bin/sh -c 'exit 0'` in a container made by the sandbox's own `containerSpec` (every
 * capability dropped, read-only root, no network, limits...), then removes it. Labelled as the
 * app's, so a crash in between leaves nothing that start-up clean-up would not find.
 */
async function probeHardened(engine: SandboxEngine, image: string, timeoutMs: number): Promise<{ hardened?: boolean; message: string }> {
  const docker = engine.docker();
  let container: Docker.Container | undefined;
  try {
    if (!(await withTimeout(imageExists(docker, image), timeoutMs, 'Looking for the sandbox image'))) {
      return { message: 'The sandbox image is not on this engine yet: Sophia sends it on first use and the hardening is checked then.' };
    }
    const spec = containerSpec({
      image,
      name: `sophia-check-${randomBytes(4).toString('hex')}`,
      labels: { ...ownerLabels(currentOwner()), [labelKeys.role]: 'check' },
      workspace: undefined,
      access: 'read-only',
      limits: defaultLimits,
      engineKind: engine.kind,
    });
    // The hardening as it is, with a command that ends by itself instead of the keeper.
    spec.Entrypoint = ['/bin/sh', '-c', 'exit 0'];
    Object.assign(spec, { OpenStdin: false, StdinOnce: false, AttachStdin: false });
    if (spec.HostConfig) spec.HostConfig.AutoRemove = false;
    const created = await withTimeout(docker.createContainer(spec), timeoutMs, 'Creating a hardened container');
    container = created;
    const exit = await withTimeout(
      (async () => {
        await created.start();
        return (await created.wait()) as { StatusCode?: number };
      })(),
      timeoutMs,
      'Running a hardened container',
    );
    if (exit.StatusCode !== 0) return { hardened: false, message: `A hardened container started but ended with code ${String(exit.StatusCode)}.` };
    return { hardened: true, message: 'A container with the sandbox hardening ran there.' };
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^\(HTTP code \d+\)\s*/, '').slice(0, 300);
    log.warn('hardened container check failed', { engine: engine.id, reason });
    return { hardened: false, message: `It cannot run a container with the sandbox hardening: ${reason}` };
  } finally {
    if (container) await container.remove({ force: true }).catch((error: unknown) => (statusCodeOf(error) === 404 ? undefined : log.warn('could not remove the check container', { engine: engine.id, error })));
  }
}
