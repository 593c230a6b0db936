/**
 * The built app as a user starts it: `node out/main/serve.js` (what `npm run serve` runs) as
 * a child process in its own process group, with a fresh SOPHIA_DATA_DIR and its own keychain
 * service (SOPHIA_KEYCHAIN_SERVICE). Whatever a test hands it goes where a person would put it:
 * environment variables (ANTHROPIC_BASE_URL, PATH), the settings channel, the Credentials
 * channel into the real OS keychain. The test talks to it over the same WebSocket the page
 * uses, with the token the app printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import type { Channel, RequestInput, RequestOutput, SecretName, SophiaEvent } from '../../shared/contract';
import { secretNames } from '../../shared/contract';
import type { Result } from '../../shared/errors';
import { serverFrame, tokenProtocolPrefix, wireProtocol } from '../../shared/wire';
import { OsKeychain } from '../../electron/keychain/keychain';
import { auditHeadKeyAccount } from '../../electron/audit/auditKey';
import { secretAccount } from '../../electron/safety/secretStore';

export const builtServe = path.resolve(import.meta.dirname, '../../out/main/serve.js');

export interface ServedApp {
  /** The address the app printed, token fragment included: what a person opens. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  readonly pid: number;
  readonly dataDir: string;
  /** The keychain service this app's secrets live under. */
  readonly keychainService: string;
  /** Every event the app pushed to this test's socket, oldest first. */
  readonly events: SophiaEvent[];
  /** A request over the WebSocket; the app's answer as it sent it. */
  send<C extends Channel>(channel: C, input: RequestInput<C>): Promise<Result<RequestOutput<C>>>;
  /** A request that must succeed: its value, or a thrown error with the app's message. */
  request<C extends Channel>(channel: C, input: RequestInput<C>): Promise<RequestOutput<C>>;
  /** What the app wrote to stderr so far (its log). */
  log(): string;
  /** Stops the app (SIGTERM to its group, then SIGKILL), removes this run's keychain entries. */
  close(): Promise<void>;
}

export interface ServedAppOptions {
  /** Environment over the test process's own (ANTHROPIC_BASE_URL, PATH, OLLAMA_HOST, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** The data folder; a fresh one by default. */
  readonly dataDir?: string;
  /** How long to wait for the printed address (a loaded 2-core machine takes seconds). */
  readonly startTimeoutMs?: number;
}

/** The environment a person's shell would give: the test runner's own markers left out. */
function userEnvironment(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'VITEST' || key.startsWith('VITEST_') || key === 'NODE_OPTIONS' || key === 'TEST') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group has ended
  }
}

export async function startServedApp(options: ServedAppOptions = {}): Promise<ServedApp> {
  if (!existsSync(builtServe)) throw new Error('out/main/serve.js is missing: run `npm run build` first (npm test does).');
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'sophia-served-'));
  const keychainService = `sophia-e2e-${randomUUID()}`;
  const child = spawn(process.execPath, [builtServe], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: userEnvironment({ SOPHIA_DATA_DIR: dataDir, SOPHIA_KEYCHAIN_SERVICE: keychainService, SOPHIA_LOG_LEVEL: 'warn', ...options.env }),
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-200_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the built app printed no address within ${options.startTimeoutMs ?? 90_000} ms`)), options.startTimeoutMs ?? 90_000);
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const found = /http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+/.exec(stdout);
        if (found) {
          clearTimeout(timer);
          resolve(found[0]);
        }
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the built app exited (${code ?? signal}) before printing its address`));
      });
    });
  } catch (error) {
    killGroup(child, 'SIGKILL');
    throw new Error(`${(error as Error).message}\nstdout: ${stdout.slice(0, 2000)}\nstderr: ${stderr.slice(-4000)}`, { cause: error });
  }

  const parsed = new URL(url);
  const token = parsed.hash.replace('#token=', '');
  const origin = parsed.origin;
  const port = Number(parsed.port);
  const events: SophiaEvent[] = [];
  const waiting = new Map<number, (result: Result<unknown>) => void>();
  let nextId = 1;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, [wireProtocol, tokenProtocolPrefix + token], { headers: { Origin: origin } });
  ws.on('message', (data) => {
    const frame = serverFrame.parse(JSON.parse(String(data)));
    if (frame.kind === 'event') events.push(frame.event);
    else if (frame.id !== null) {
      waiting.get(frame.id)?.(frame.result as Result<unknown>);
      waiting.delete(frame.id);
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_request, response) => reject(new Error(`the built app refused the socket with HTTP ${response.statusCode}`)));
    });
  } catch (error) {
    killGroup(child, 'SIGKILL');
    throw error;
  }

  const send = <C extends Channel>(channel: C, input: RequestInput<C>): Promise<Result<RequestOutput<C>>> =>
    new Promise((resolve, reject) => {
      if (ws.readyState !== WebSocket.OPEN) return reject(new Error(`the socket to the built app is closed (request ${channel})`));
      const id = nextId++;
      waiting.set(id, resolve as (result: Result<unknown>) => void);
      ws.send(JSON.stringify({ kind: 'request', id, channel, input }), (error) => {
        if (error) {
          waiting.delete(id);
          reject(error);
        }
      });
    });

  let closed = false;
  return {
    url,
    origin,
    port,
    token,
    pid: child.pid!,
    dataDir,
    keychainService,
    events,
    send,
    request: async (channel, input) => {
      const result = await send(channel, input);
      if (!result.ok) throw new Error(`${channel} failed: ${result.error.code}: ${result.error.message}`);
      return result.value;
    },
    log: () => stderr,
    close: async () => {
      if (closed) return;
      closed = true;
      ws.terminate();
      killGroup(child, 'SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
      // Whatever is left in the group (an outside MCP server, a stand-in CLI) goes too.
      killGroup(child, 'SIGKILL');
      if (!stopped) await exited;
      // This run's entries, under its own service name, leave the keychain with it.
      const keychain = new OsKeychain(keychainService);
      if (keychain.status().available) {
        for (const account of [...secretNames.map(secretAccount), auditHeadKeyAccount]) keychain.remove(account);
      }
    },
  };
}

/** Stores secrets through the Credentials channel, as the Credentials panel does, into the real keychain. */
export async function storeSecrets(app: ServedApp, secrets: Partial<Record<SecretName, string | undefined>>): Promise<void> {
  for (const [name, value] of Object.entries(secrets) as [SecretName, string | undefined][]) {
    if (value !== undefined) await app.request('secrets.set', { name, value });
  }
}
