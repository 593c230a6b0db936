/**
 * One cold start of a server process, observed from outside: the time until it prints its
 * address, the time until its WebSocket answers a first frame (through the browser host's
 * real handshake: the token as a sub-protocol, the host's own Origin), its resident memory
 * once idle, and (with the module recorder) every module file it loaded. Used by
 * `npm run bench:startup` and by the idle-modules test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { tokenProtocolPrefix, wireProtocol } from '../../shared/wire';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const builtServer = path.join(repoRoot, 'out/main/serve.js');
export const builtRenderer = path.join(repoRoot, 'out/renderer');
const recorder = path.join(repoRoot, 'test/support/moduleRecorder.mjs');

/**
 * Clients of outside systems that must not be loaded while the app sits idle: each is
 * imported by the service that needs it, on first use. Matched against module file paths.
 */
export const cloudClients: readonly { readonly name: string; readonly path: RegExp }[] = [
  { name: 'snowflake-sdk', path: /\/node_modules\/snowflake-sdk\// },
  { name: '@pulumi/*', path: /\/node_modules\/@pulumi\// },
  { name: '@duckdb/*', path: /\/node_modules\/@duckdb\// },
  { name: '@octokit/*', path: /\/node_modules\/@octokit\// },
  { name: '@modelcontextprotocol/sdk client', path: /\/node_modules\/@modelcontextprotocol\/sdk\/dist\/[^/]+\/client\// },
  { name: 'openai', path: /\/node_modules\/openai\// },
  { name: '@anthropic-ai/sdk', path: /\/node_modules\/@anthropic-ai\/sdk\// },
  { name: 'ollama', path: /\/node_modules\/ollama\// },
  { name: 'node-sql-parser', path: /\/node_modules\/node-sql-parser\// },
];

export interface StartupSample {
  /** Spawn → the address line on stdout. */
  readonly addressMs: number;
  /** Spawn → the answer to the first WebSocket frame. */
  readonly frameMs: number;
  /** Resident memory once the process has gone quiet after that frame. */
  readonly idleRssBytes: number;
  /** Module files loaded by then (only with `recordModules`). */
  readonly modules?: readonly string[];
}

export interface StartOptions {
  /** Arguments after `node`: the script and its own arguments. */
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Loads the module recorder first (which slows the start: never on a timed run). */
  readonly recordModules?: boolean;
  /** The frame sent once connected; the first frame back counts as the answer. */
  readonly frame?: string;
  readonly timeoutMs?: number;
}

const addressLine = /(http:\/\/127\.0\.0\.1:\d+\/)\S*#token=([0-9a-f]+)/;

/** Resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU time used so far by a process, in clock ticks (/proc/PID/stat utime + stime). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the process used no CPU over two 250 ms looks in a row (at least 1 s, at most 10 s). */
async function waitIdle(pid: number): Promise<void> {
  const started = Date.now();
  await sleep(1000);
  let quiet = 0;
  let last = cpuTicks(pid);
  while (quiet < 2 && Date.now() - started < 10_000) {
    await sleep(250);
    const now = cpuTicks(pid);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

function firstFrame(url: string, token: string, frame: string): Promise<void> {
  const origin = url.replace(/\/$/, '');
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/ws`, [wireProtocol, tokenProtocolPrefix + token], { headers: { Origin: origin } });
  return new Promise<void>((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => reject(new Error(`WebSocket refused with HTTP ${response.statusCode}`)));
    ws.once('error', reject);
    ws.once('open', () => ws.send(frame));
    ws.once('message', () => {
      ws.close();
      resolve();
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

/** Starts the process, measures, and ends it (SIGTERM, then SIGKILL after 10 s). */
export async function coldStart(options: StartOptions): Promise<StartupSample> {
  const recordFile = options.recordModules ? path.join(mkdtempSync(path.join(os.tmpdir(), 'sophia-modules-')), 'modules.txt') : undefined;
  const args = [...(recordFile ? ['--import', recorder] : []), ...options.args];
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...options.env, ...(recordFile ? { MODULE_RECORD_FILE: recordFile } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString();
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
  });
  try {
    const address = await Promise.race([
      deadline,
      new Promise<{ url: string; token: string; at: number }>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = addressLine.exec(out);
          if (match?.[1] && match[2]) resolve({ url: match[1], token: match[2], at: performance.now() });
        });
        child.once('exit', (code) => reject(new Error(`exited with ${String(code)} before printing an address; stderr: ${stderr.slice(-2000)}`)));
      }),
    ]);
    const frame = options.frame ?? JSON.stringify({ kind: 'request', id: 1, channel: 'app.status', input: {} });
    await Promise.race([deadline, firstFrame(address.url, address.token, frame)]);
    const frameAt = performance.now();
    const pid = child.pid as number;
    await Promise.race([deadline, waitIdle(pid)]);
    const idleRssBytes = rssBytes(pid);
    const modules = recordFile ? readFileSync(recordFile, 'utf8').split('\n').filter(Boolean) : undefined;
    return { addressMs: address.at - began, frameMs: frameAt - began, idleRssBytes, ...(modules ? { modules } : {}) };
  } finally {
    clearTimeout(timer);
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(killer);
    if (recordFile) rmSync(path.dirname(recordFile), { recursive: true, force: true });
  }
}

/** A cold start of the built server with a fresh, empty data folder (removed afterwards). */
export async function coldStartServer(options: { recordModules?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<StartupSample> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sophia-startup-'));
  try {
    return await coldStart({
      args: [builtServer],
      env: { SOPHIA_DATA_DIR: dataDir, SOPHIA_LOG_LEVEL: 'warn', ...options.env },
      ...(options.recordModules ? { recordModules: true } : {}),
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The loaded module files that belong to a cloud client, by client. */
export function cloudClientsIn(modules: readonly string[]): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const url of modules) {
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    for (const client of cloudClients) {
      if (client.path.test(file)) (found[client.name] ??= []).push(path.relative(repoRoot, file));
    }
  }
  return found;
}

/** Loaded module files grouped by npm package (or `(app)` and `node:` builtins). */
export function packagesIn(modules: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const url of modules) {
    let name: string;
    if (url.startsWith('node:')) name = 'node: builtins';
    else {
      const file = url.startsWith('file:') ? fileURLToPath(url) : url;
      const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
      name = match?.[1] ?? '(app)';
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}
