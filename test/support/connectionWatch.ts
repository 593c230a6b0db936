/**
 * Watches every connection a process opens: all its threads (worker threads included) and
 * every process it starts (an outside stdio MCP server, git, Pulumi's CLI), through
 * `strace -f` attached to it. Each `connect`, `sendto` and `sendmsg` that names an address
 * is recorded; an IPv4 or IPv6 address that is not loopback is a violation (a DNS query to
 * a resolver off this machine included). Unix sockets (the Docker engine's) and netlink
 * never leave the machine.
 *
 * It is synchronous with the process: `watchConnections` returns once strace has seen a
 * marker connection of this process, so nothing the test does afterwards is missed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface ConnectionReport {
  /** Connections (or datagrams) to an address off this machine: the strace lines. */
  readonly violations: string[];
  /** Addresses seen at all, loopback included. */
  readonly addresses: string[];
  /** Process and thread ids that made a call naming an address. */
  readonly tids: ReadonlySet<number>;
}

export interface ConnectionWatch {
  /** What has been seen so far (strace keeps running). */
  report(): ConnectionReport;
  /** Detaches strace and returns everything it saw. */
  stop(): Promise<ConnectionReport>;
}

export function isLoopbackAddress(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address);
}

export function parseStrace(text: string): ConnectionReport {
  const violations: string[] = [];
  const addresses: string[] = [];
  const tids = new Set<number>();
  for (const line of text.split('\n')) {
    const found = [...line.matchAll(/sin_addr=inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"/g)].map((match) => match[1] ?? match[2] ?? '');
    if (found.length === 0) continue;
    const tid = Number(/^(\d+)\s/.exec(line)?.[1] ?? NaN);
    if (Number.isInteger(tid)) tids.add(tid);
    for (const address of found) {
      addresses.push(address);
      if (!isLoopbackAddress(address)) violations.push(line.trim().slice(0, 300));
    }
  }
  return { violations, addresses, tids };
}

export async function watchConnections(pid = process.pid, timeoutMs = 20_000): Promise<ConnectionWatch> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sophia-strace-'));
  const file = path.join(dir, 'trace.txt');
  const strace = spawn('strace', ['-f', '-qq', '-e', 'trace=connect,sendto,sendmsg,sendmmsg', '-e', 'signal=none', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  strace.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => strace.once('exit', (code) => resolve(code)));
  const read = (): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };

  // The marker: a connection to a port of our own, repeated until strace reports it.
  const marker = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => marker.listen(0, '127.0.0.1', resolve));
  const port = (marker.address() as net.AddressInfo).port;
  const deadline = Date.now() + timeoutMs;
  let attached = false;
  while (!attached) {
    if (strace.exitCode !== null || Date.now() > deadline) {
      strace.kill('SIGKILL');
      marker.close();
      throw new Error(`strace did not attach to ${pid}: ${stderr.trim() || `exit ${strace.exitCode}`}`);
    }
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('close', () => resolve());
      socket.once('error', () => resolve());
    });
    attached = read().includes(`htons(${port})`);
    if (!attached) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  marker.close();

  return {
    report: () => parseStrace(read()),
    stop: async () => {
      // SIGINT detaches strace from every thread and child, leaving them running.
      strace.kill('SIGINT');
      const timer = setTimeout(() => strace.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      const report = parseStrace(read());
      rmSync(dir, { recursive: true, force: true });
      return report;
    },
  };
}
