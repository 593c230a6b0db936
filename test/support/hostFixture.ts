/** Starts the real browser host over the real core, and a Node WebSocket client for it. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createSophiaCore, type CoreOptions, type SophiaCore } from '../../electron/app/sophiaCore';
import { startBrowserHost, type BrowserHost } from '../../electron/host/browserHost';
import { serverFrame, tokenProtocolPrefix, wireProtocol, type ServerFrame } from '../../shared/wire';

export const rendererDir = path.resolve(import.meta.dirname, '../../out/renderer');

/** A fresh data folder for one test's core. */
export function tempDataDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'sophia-data-'));
}

export async function startHost(
  rendererRoot = rendererDir,
  options: Partial<CoreOptions> = {},
): Promise<{ core: SophiaCore; host: BrowserHost }> {
  const core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), ...options });
  const host = await startBrowserHost({ core, rendererDir: rendererRoot });
  // As `npm run serve` does once its address is printed.
  core.startAfterWindow();
  return { core, host };
}

export interface TestSocket {
  ws: WebSocket;
  /** Sends raw text (or bytes) and waits for the response frame it causes. */
  exchange(data: string | Buffer): Promise<Extract<ServerFrame, { kind: 'response' }>>;
  events: Extract<ServerFrame, { kind: 'event' }>[];
  /** Responses that arrived with nobody waiting: a correct host sends none. */
  strayResponses: Extract<ServerFrame, { kind: 'response' }>[];
  close(): Promise<void>;
}

export function connect(
  host: BrowserHost,
  options: { token?: string | null; origin?: string | null } = {},
): Promise<TestSocket> {
  const token = options.token === undefined ? host.token : options.token;
  const origin = options.origin === undefined ? host.origin : options.origin;
  const protocols = token === null ? [wireProtocol] : [wireProtocol, tokenProtocolPrefix + token];
  const headers: Record<string, string> = {};
  if (origin !== null) headers['Origin'] = origin;
  const ws = new WebSocket(`ws://127.0.0.1:${host.port}/ws`, protocols, { headers });
  const responses: Extract<ServerFrame, { kind: 'response' }>[] = [];
  const events: Extract<ServerFrame, { kind: 'event' }>[] = [];
  let waiting: ((frame: Extract<ServerFrame, { kind: 'response' }>) => void) | undefined;
  ws.on('message', (data) => {
    const frame = serverFrame.parse(JSON.parse(String(data)));
    if (frame.kind === 'event') {
      events.push(frame);
    } else if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(frame);
    } else {
      responses.push(frame);
    }
  });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => reject(new Error(`refused with HTTP ${response.statusCode}`)));
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        events,
        strayResponses: responses,
        exchange: (data) =>
          new Promise((resolveFrame, rejectFrame) => {
            waiting = resolveFrame;
            ws.send(data, (error) => error && rejectFrame(error));
          }),
        close: () =>
          new Promise((resolveClose) => {
            if (ws.readyState === WebSocket.CLOSED) return resolveClose();
            ws.once('close', () => resolveClose());
            ws.close();
          }),
      }),
    );
  });
}
