/**
 * Network egress for one sandboxed run, by approval. The container stays on network `none`;
 * this host-side proxy listens on a Unix socket in a per-run directory that is bind-mounted
 * into the container (read-only: connecting to a socket needs no write to the file system),
 * and a tiny forwarder inside relays 127.0.0.1:3128 to it (`egressForwarderScript`). The
 * command runs with HTTP(S)_PROXY pointing at the forwarder.
 *
 * The proxy lets through only the granted `host:port` pairs: `CONNECT host:port` (HTTPS and
 * anything else tunnelled) and absolute-form plain-HTTP requests (`GET http://host:port/…`).
 * It resolves names itself, on the host, and connects to the address it checked (so a DNS
 * answer that changes between check and connect cannot move the connection); a name that
 * resolves to a private, loopback, link-local, CGNAT, ULA, multicast or documentation
 * address is refused unless the grant names that literal address. Every connection, allowed
 * or refused, is audited (host, port, address, decision, reason, bytes, duration; never
 * headers or bodies). Closing the proxy (the run ended, or the emergency stop) destroys every
 * connection it holds and removes the socket and its directory.
 */
import { chownSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SophiaError } from '../../shared/errors';
import type { AuditSink } from '../audit/auditLog';
import { createLogger } from '../log';
import type { StoppedItem } from '../../shared/contract';
import { commandUser } from './hardening';
export { egressMountPoint } from './hardening';

const log = createLogger('egressProxy');

export const egressLimits = {
  /** Hosts one run may be granted. */
  grants: 8,
  /** A request head larger than this is refused. */
  headBytes: 16 * 1024,
  /** How long a client may take to send its request head. */
  headTimeoutMs: 15_000,
  /** How long connecting to the granted host may take. */
  connectTimeoutMs: 10_000,
} as const;

export const egressSocketName = 'proxy.sock';
/** The forwarder's address inside the container. */
export const egressForwarderPort = 3128;

export interface EgressGrant {
  /** Lower case, no trailing dot; an IPv6 literal without brackets. */
  readonly host: string;
  readonly port: number;
}

const hostLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Parses "host:port" (IPv6 as "[::1]:443"); throws a clear error otherwise. */
export function parseGrant(text: string): EgressGrant {
  const raw = text.trim();
  const match = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(raw) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(raw);
  if (!match) throw new SophiaError('bad_request', `"${raw.slice(0, 100)}" is not host:port (say "api.notion.com:443", or "[::1]:8080" for IPv6).`);
  const host = (match[1] ?? '').toLowerCase().replace(/\.$/, '');
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new SophiaError('bad_request', `The port in "${raw.slice(0, 100)}" must be 1 to 65535.`);
  if (net.isIP(host) === 0) {
    const labels = host.split('.');
    if (host.length > 253 || labels.some((label) => !hostLabel.test(label))) {
      throw new SophiaError('bad_request', `"${raw.slice(0, 100)}" does not name a valid host.`);
    }
  }
  return { host, port };
}

export function grantText(grant: EgressGrant): string {
  return net.isIPv6(grant.host) ? `[${grant.host}]:${grant.port}` : `${grant.host}:${grant.port}`;
}

// Addresses a grant by name never reaches: this machine, the private networks, link-local
// (cloud metadata at 169.254.169.254 included), CGNAT, documentation, multicast, reserved.
const forbidden = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv6');
}

/** Why an address is off limits to a grant by name, or undefined when it is a public address. */
export function forbiddenAddress(address: string): string | undefined {
  const family = net.isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    // An IPv4-mapped or -compatible address is judged as the IPv4 address it carries.
    const mapped = /^(?:::ffff:|::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return forbiddenAddress(mapped[1]);
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
    if (hexMapped?.[1] && hexMapped[2]) {
      const high = parseInt(hexMapped[1], 16);
      const low = parseInt(hexMapped[2], 16);
      return forbiddenAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
    }
  }
  return forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6') ? 'a private, loopback, link-local or reserved address' : undefined;
}

export interface EgressConnectionRecord {
  readonly method: string;
  readonly host: string;
  readonly port: number;
  readonly address?: string;
  readonly decision: 'allowed' | 'refused';
  readonly reason: string;
  readonly bytesOut: number;
  readonly bytesIn: number;
  readonly durationMs: number;
}

export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

export interface EgressProxyOptions {
  readonly grants: readonly EgressGrant[];
  readonly audit: AuditSink;
  /** Names the run in the audit log. */
  readonly runId: string;
  readonly conversationId?: string;
  /** Name resolution on the host; the system resolver by default (tests hand in their own). */
  readonly resolve?: Resolver;
  /** Where the per-run directory is made; the OS temporary folder by default (a socket path must be short). */
  readonly parent?: string;
}

interface Tracked {
  readonly sockets: Set<net.Socket>;
}

export class EgressProxy {
  readonly directory: string;
  readonly socketPath: string;
  readonly #server: net.Server;
  readonly #options: EgressProxyOptions;
  readonly #resolve: Resolver;
  readonly #open: Tracked = { sockets: new Set() };
  readonly #records: EgressConnectionRecord[] = [];
  #closing: Promise<void> | undefined;
  #onClose: (() => void) | undefined;

  private constructor(directory: string, server: net.Server, options: EgressProxyOptions) {
    this.directory = directory;
    this.socketPath = path.join(directory, egressSocketName);
    this.#server = server;
    this.#options = options;
    this.#resolve = options.resolve ?? systemResolver;
  }

  /** Makes the per-run directory and listens on the socket in it. */
  static async open(options: EgressProxyOptions): Promise<EgressProxy> {
    if (options.grants.length === 0) throw new SophiaError('bad_request', 'An egress grant names at least one host:port.');
    if (options.grants.length > egressLimits.grants) throw new SophiaError('bad_request', `An egress grant names at most ${egressLimits.grants} host:port pairs.`);
    const directory = await mkdtemp(path.join(options.parent ?? os.tmpdir(), 'sophia-egress-'));
    const server = net.createServer();
    const proxy = new EgressProxy(directory, server, options);
    server.on('connection', (socket) => proxy.#accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(proxy.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
      proxy.#shareWithSandboxUser();
    } catch (error) {
      server.close();
      await rm(directory, { recursive: true, force: true });
      throw new SophiaError('unavailable', `The egress proxy could not listen on its socket: ${error instanceof Error ? error.message : String(error)}`);
    }
    server.on('error', (error) => log.warn('egress proxy error', { error }));
    log.info('egress proxy open', { runId: options.runId, grants: options.grants.map(grantText) });
    return proxy;
  }

  get grants(): readonly EgressGrant[] {
    return this.#options.grants;
  }

  /** Connections (client and upstream sockets) still open. */
  get openSockets(): number {
    return this.#open.sockets.size;
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  /** What was decided so far, in order. */
  get connections(): readonly EgressConnectionRecord[] {
    return this.#records;
  }

  /** Closes the listener and every connection, then removes the socket and its directory. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  set onClose(listener: (() => void) | undefined) {
    this.#onClose = listener;
  }

  async #close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#open.sockets) socket.destroy();
    await closed;
    await rm(this.directory, { recursive: true, force: true });
    log.info('egress proxy closed', { runId: this.#options.runId, connections: this.#records.length });
    this.#onClose?.();
  }

  /** Commands run as the host user's uid on Linux; when the app runs as root they run as another uid that must reach the socket. */
  #shareWithSandboxUser(): void {
    if (process.platform === 'win32' || process.getuid?.() !== 0) return;
    const user = commandUser();
    chownSync(this.directory, user.uid, user.gid);
    chownSync(this.socketPath, user.uid, user.gid);
  }

  #track(socket: net.Socket): void {
    this.#open.sockets.add(socket);
    socket.once('close', () => this.#open.sockets.delete(socket));
    if (this.#closing) socket.destroy();
  }

  #accept(client: net.Socket): void {
    this.#track(client);
    client.on('error', () => client.destroy());
    const started = performance.now();
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => client.destroy(), egressLimits.headTimeoutMs);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > egressLimits.headBytes) {
          clearTimeout(timer);
          client.off('data', onData);
          this.#refuse(client, { method: '?', host: '', port: 0 }, 'the request head is too large', started, 431);
        }
        return;
      }
      clearTimeout(timer);
      client.off('data', onData);
      client.pause();
      void this.#handle(client, head.subarray(0, end + 4), head.subarray(end + 4), started);
    };
    client.on('data', onData);
  }

  async #handle(client: net.Socket, head: Buffer, rest: Buffer, started: number): Promise<void> {
    const lines = head.toString('latin1').split('\r\n');
    const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
    if (!/^HTTP\/1\.[01]$/.test(version) || !/^[A-Z]{3,10}$/.test(method)) {
      this.#refuse(client, { method: method.slice(0, 10) || '?', host: '', port: 0 }, 'not an HTTP/1.x proxy request', started, 400);
      return;
    }
    let grant: EgressGrant;
    let originForm: string | undefined;
    if (method === 'CONNECT') {
      try {
        grant = parseGrant(target);
      } catch {
        this.#refuse(client, { method, host: target.slice(0, 100), port: 0 }, 'CONNECT needs host:port', started, 400);
        return;
      }
    } else {
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        this.#refuse(client, { method, host: '', port: 0 }, 'a plain-HTTP request through the proxy must name its URL in full (http://host:port/path)', started, 400);
        return;
      }
      if (url.protocol !== 'http:') {
        this.#refuse(client, { method, host: url.hostname, port: Number(url.port) || 0 }, `only http:// URLs are forwarded in plain form; ${url.protocol}// goes through CONNECT`, started, 400);
        return;
      }
      if (url.username !== '' || url.password !== '') {
        this.#refuse(client, { method, host: url.hostname, port: Number(url.port) || 80 }, 'credentials in the URL are not forwarded', started, 400);
        return;
      }
      const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
      grant = { host, port: Number(url.port) || 80 };
      originForm = `${url.pathname}${url.search}`;
    }
    const named = this.#options.grants.find((candidate) => candidate.host === grant.host && candidate.port === grant.port);
    if (!named) {
      this.#refuse(client, { method, ...grant }, `${grantText(grant)} is not in this run's egress grant (${this.#options.grants.map(grantText).join(', ')})`, started, 403);
      return;
    }
    let address: string;
    const literal = net.isIP(grant.host) !== 0;
    if (literal) {
      // The grant names this very address: the person chose it, private or not.
      address = grant.host;
    } else {
      let addresses: string[];
      try {
        addresses = await this.#resolve(grant.host);
      } catch (error) {
        this.#refuse(client, { method, ...grant }, `${grant.host} did not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`, started, 502);
        return;
      }
      const usable = addresses.find((candidate) => forbiddenAddress(candidate) === undefined);
      if (usable === undefined) {
        const shown = addresses.slice(0, 3).join(', ') || 'nothing';
        this.#refuse(
          client,
          { method, ...grant, ...(addresses[0] ? { address: addresses[0] } : {}) },
          `${grant.host} resolves to ${shown}: a private, loopback, link-local or reserved address, reached only when the grant names that address itself`,
          started,
          403,
        );
        return;
      }
      address = usable;
    }
    if (this.#closing) {
      client.destroy();
      return;
    }
    this.#connect(client, { method, ...grant, address }, started, method === 'CONNECT' ? rest : this.#rewrite(lines, method, originForm ?? '/', version, rest));
  }

  /** The plain-HTTP request in origin form, without proxy headers, one request per connection. */
  #rewrite(lines: string[], method: string, originForm: string, version: string, rest: Buffer): Buffer {
    const headers = lines
      .slice(1)
      .filter((line) => line !== '' && !/^(proxy-[a-z-]*|connection|keep-alive)\s*:/i.test(line));
    const head = [`${method} ${originForm} ${version}`, ...headers, 'Connection: close', '', ''].join('\r\n');
    return Buffer.concat([Buffer.from(head, 'latin1'), rest]);
  }

  #connect(client: net.Socket, target: { method: string; host: string; port: number; address: string }, started: number, first: Buffer): void {
    const upstream = net.connect({ host: target.address, port: target.port });
    this.#track(upstream);
    let connected = false;
    let bytesOut = 0;
    let bytesIn = 0;
    const timer = setTimeout(() => upstream.destroy(new Error('timed out')), egressLimits.connectTimeoutMs);
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected) {
        this.#refuse(client, target, `connecting to ${target.address}:${target.port} failed (${error.code ?? error.message})`, started, 502);
      } else {
        client.destroy();
      }
    });
    upstream.once('connect', () => {
      clearTimeout(timer);
      connected = true;
      this.#audit({ ...target, decision: 'allowed', reason: 'in the grant', bytesOut: 0, bytesIn: 0, durationMs: 0 }, 'open');
      if (target.method === 'CONNECT') client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (first.length > 0) {
        bytesOut += first.length;
        upstream.write(first);
      }
      client.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      upstream.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        client.destroy();
        upstream.destroy();
        const record: EgressConnectionRecord = {
          ...target,
          decision: 'allowed',
          reason: this.#closing ? 'closed by Sophia (the run ended or Sophia was stopped)' : 'in the grant',
          bytesOut,
          bytesIn,
          durationMs: Math.round(performance.now() - started),
        };
        this.#records.push(record);
        this.#audit(record, 'close');
      };
      client.once('close', end);
      upstream.once('close', end);
    });
  }

  #refuse(client: net.Socket, target: { method: string; host: string; port: number; address?: string }, reason: string, started: number, status: number): void {
    const record: EgressConnectionRecord = { ...target, decision: 'refused', reason, bytesOut: 0, bytesIn: 0, durationMs: Math.round(performance.now() - started) };
    this.#records.push(record);
    this.#audit(record, 'refused');
    const body = `Sophia's egress proxy refused this connection: ${reason}.\n`;
    const phrase = status === 403 ? 'Forbidden' : status === 502 ? 'Bad Gateway' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    client.end(`HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  #audit(record: EgressConnectionRecord, event: 'open' | 'close' | 'refused'): void {
    const where = `${grantText(record)}${record.address && record.address !== record.host ? ` (${record.address})` : ''}`;
    const summary =
      event === 'refused'
        ? `Egress refused: ${record.method} ${where}: ${record.reason}`
        : event === 'open'
          ? `Egress opened: ${record.method} ${where}`
          : `Egress closed: ${record.method} ${where}, ${record.bytesOut} bytes out, ${record.bytesIn} bytes in, ${record.durationMs} ms`;
    try {
      this.#options.audit.record({
        kind: 'egress',
        actor: 'sandbox',
        summary: summary.slice(0, 500),
        ...(this.#options.conversationId ? { conversationId: this.#options.conversationId } : {}),
        data: { runId: this.#options.runId, event, ...record },
      });
    } catch (error) {
      // The audit log refusing a write is the one failure that ends the connection: unaudited egress is not allowed.
      log.error('could not audit an egress connection; closing it', { error });
      void this.close();
    }
  }
}

/**
 * The proxies of the runs under way: the emergency stop closes them all (and each run closes
 * its own when it ends).
 */
export class EgressProxies {
  readonly #open = new Set<EgressProxy>();

  async open(options: EgressProxyOptions): Promise<EgressProxy> {
    const proxy = await EgressProxy.open(options);
    this.#open.add(proxy);
    proxy.onClose = () => this.#open.delete(proxy);
    return proxy;
  }

  get size(): number {
    return this.#open.size;
  }

  async closeAll(): Promise<StoppedItem[]> {
    const proxies = [...this.#open];
    await Promise.allSettled(proxies.map((proxy) => proxy.close()));
    return proxies.map((proxy) => ({ kind: 'task' as const, id: path.basename(proxy.directory).slice(0, 64), label: `egress proxy (${proxy.grants.map(grantText).join(', ')})`.slice(0, 200), outcome: 'stopped' as const }));
  }
}

/**
 * The forwarder inside the container (run with the image's `node`): listens on
 * 127.0.0.1:3128, relays each connection to the proxy's socket, and creates the ready file
 * (argv[3]) once it listens.
 */
export const egressForwarderScript = `'use strict';
const net = require('net');
const fs = require('fs');
const socketPath = process.argv[2];
const ready = process.argv[3];
const server = net.createServer((inside) => {
  const outside = net.connect(socketPath);
  const end = () => { inside.destroy(); outside.destroy(); };
  inside.on('error', end); outside.on('error', end);
  inside.on('close', end); outside.on('close', end);
  inside.pipe(outside); outside.pipe(inside);
});
server.on('error', (error) => { process.stderr.write('Sophia egress forwarder: ' + error.message + '\\n'); process.exit(1); });
server.listen(${egressForwarderPort}, '127.0.0.1', () => fs.writeFileSync(ready, ''));
`;
