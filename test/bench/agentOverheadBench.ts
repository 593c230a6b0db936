/**
 * `npm run bench:agent-overhead`: the time Sophia adds between the model's first byte of
 * answer text and the first token event reaching the renderer's socket. The real core, the
 * real Anthropic SDK against a loopback stand-in, the real browser host.
 *
 * Each answer opens the way today's default model answers with adaptive thinking: a
 * `thinking` block (thinking deltas, then its `signature_delta`) before the text. The floor
 * is measured in the same run, turn for turn: the same stand-in stream consumed by the bare
 * @anthropic-ai/sdk with no Sophia code, from the same first text byte to the SDK's
 * `text_delta` event. 200 turns of each, interleaved; the last line is the JSON figure.
 * Bounded in count and time.
 *
 * The renderer's end is a WebSocket client in a worker thread: in the app the renderer is
 * another process, which reads a frame as soon as the main process writes it, not once the
 * main process has finished the rest of the turn. Both threads read one monotonic clock
 * (`process.hrtime`). Beside the figure, for reading it: when the browser host wrote the first
 * token's frame ("on the wire"), and the same figure with the client in the main thread (as
 * this bench measured it before, when the client waited for the whole turn to be processed).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Anthropic from '@anthropic-ai/sdk';
import WebSocket from 'ws';
import { createSophiaCore } from '../../electron/app/sophiaCore';
import { startBrowserHost } from '../../electron/host/browserHost';
import { serverFrame, tokenProtocolPrefix, wireProtocol } from '../../shared/wire';
import { anthropicTurn, startAnthropicStandIn, type SseEvent } from '../support/standIns/anthropicStandIn';
import { percentile } from './stats';

const turns = Number(process.env['BENCH_TURNS'] ?? 200);
const deadline = performance.now() + 180_000;

/** An answer that thinks first: a thinking block with its signature, then the text block (indices shifted). */
function thinkingTurn(turn: number): SseEvent[] {
  const [start, ...rest] = anthropicTurn({ text: ['Hello', ' there', ', this', ' is', ' turn', ` ${turn}.`] });
  const shifted = rest.map((event) => (typeof event.data['index'] === 'number' ? { ...event, data: { ...event.data, index: event.data['index'] + 1 } } : event));
  const thoughts = ['The person greets me.', ' A short answer will do;', ' no tool is needed.'];
  return [
    ...(start ? [start] : []),
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } } },
    ...thoughts.map((thinking) => ({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking } } })),
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: `EqQBCkgIARABGAIiQL${'x'.repeat(280)}${turn}` } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    ...shifted,
  ];
}

const model = await startAnthropicStandIn();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-'));
const core = createSophiaCore({ host: 'browser', dataDir, secrets: { get: async () => 'sk-ant-bench' }, endpoints: { anthropicBaseURL: model.baseURL } });
core.settings.update({ provider: 'anthropic' });
const host = await startBrowserHost({ core, rendererDir: dataDir });
const bare = new Anthropic({ apiKey: 'sk-ant-bench', baseURL: model.baseURL, maxRetries: 0 });

const ws = new WebSocket(`ws://127.0.0.1:${host.port}/ws`, [wireProtocol, tokenProtocolPrefix + host.token], { headers: { Origin: host.origin } });
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});

// The host's sockets and the client share the ws module: the first token frame written by the host.
let onWire: ((at: number) => void) | undefined;
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
  if (onWire && typeof data === 'string' && data.includes('"type":"model.token"')) {
    onWire(performance.now());
    onWire = undefined;
  }
  return (send as (...args: unknown[]) => void).call(this, data, ...rest);
} as typeof send;

// The renderer: a WebSocket client in its own thread, which tells the first token's arrival (hrtime, ms).
const rendererSource = `
const { parentPort, workerData } = require('node:worker_threads');
const loaded = require(workerData.ws);
const WebSocket = loaded.WebSocket ?? loaded.default ?? loaded;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const ws = new WebSocket(workerData.url, workerData.protocols, { headers: { Origin: workerData.origin } });
let waiting = false;
ws.on('open', () => parentPort.postMessage({ kind: 'open' }));
ws.on('message', (data) => {
  const at = now();
  const text = String(data);
  if (waiting && text.includes('"type":"model.token"')) { waiting = false; parentPort.postMessage({ kind: 'token', at }); }
  else if (text.includes('"type":"agent.status"') && text.includes('"state":"idle"')) parentPort.postMessage({ kind: 'idle' });
});
parentPort.on('message', (message) => {
  if (message.kind === 'send') { waiting = true; ws.send(message.frame); }
  else if (message.kind === 'close') { ws.close(); parentPort.close(); }
});
`;
const renderer = new Worker(rendererSource, {
  eval: true,
  workerData: {
    ws: import.meta.resolve('ws').replace('file://', ''),
    url: `ws://127.0.0.1:${host.port}/ws`,
    protocols: [wireProtocol, tokenProtocolPrefix + host.token],
    origin: host.origin,
  },
});
let onWorkerToken: ((at: number) => void) | undefined;
let onWorkerIdle: (() => void) | undefined;
await new Promise<void>((resolve, reject) => {
  renderer.on('message', (message: { kind: string; at?: number }) => {
    if (message.kind === 'open') resolve();
    else if (message.kind === 'token' && message.at !== undefined) onWorkerToken?.(message.at);
    else if (message.kind === 'idle') onWorkerIdle?.();
  });
  renderer.once('error', reject);
});
// performance.now() of this thread on the hrtime clock the worker reads.
const hrOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now();

let onFirstToken: ((at: number) => void) | undefined;
let onIdle: (() => void) | undefined;
ws.on('message', (data) => {
  const at = performance.now();
  const frame = serverFrame.parse(JSON.parse(String(data)));
  if (frame.kind !== 'event') return;
  if (frame.event.type === 'model.token' && onFirstToken) {
    onFirstToken(at);
    onFirstToken = undefined;
  } else if (frame.event.type === 'agent.status' && frame.event.state === 'idle') {
    onIdle?.();
  }
});

/** Sophia: the first text byte written by the stand-in to the first token event on the renderer's socket. */
async function sophiaTurn(turn: number, id: number): Promise<number | undefined> {
  model.script({ kind: 'stream', events: thinkingTurn(turn) });
  const firstToken = new Promise<number>((resolve) => (onFirstToken = resolve));
  const sent = new Promise<number>((resolve) => (onWire = resolve));
  const idle = new Promise<void>((resolve) => (onIdle = resolve));
  ws.send(JSON.stringify({ kind: 'request', id, channel: 'chat.send', input: { text: `hello ${turn}` } }));
  const received = await firstToken;
  await idle;
  await sent;
  const written = model.firstTextAt.at(-1);
  return written === undefined ? undefined : received - written;
}

/** Sophia with the renderer in its own thread: the first text byte to the worker's socket reading the first token. */
async function sophiaTurnWorker(turn: number, id: number): Promise<number | undefined> {
  model.script({ kind: 'stream', events: thinkingTurn(turn) });
  const firstToken = new Promise<number>((resolve) => (onWorkerToken = resolve));
  const sent = new Promise<number>((resolve) => (onWire = resolve));
  const idle = new Promise<void>((resolve) => (onWorkerIdle = resolve));
  renderer.postMessage({ kind: 'send', frame: JSON.stringify({ kind: 'request', id, channel: 'chat.send', input: { text: `hello ${turn}` } }) });
  const received = await firstToken;
  await idle;
  const written = model.firstTextAt.at(-1);
  if (written !== undefined) wire.push((await sent) - written);
  return written === undefined ? undefined : received - (written + hrOffset);
}

/** The floor: the same stream through the bare SDK, first text byte to its `text_delta` event. */
async function floorTurn(turn: number): Promise<number | undefined> {
  model.script({ kind: 'stream', events: thinkingTurn(turn) });
  const stream = await bare.messages.create({
    model: 'claude-sonnet-5-5',
    max_tokens: 1024,
    messages: [{ role: 'user', content: `hello ${turn}` }],
    stream: true,
  });
  let received: number | undefined;
  for await (const event of stream) {
    if (received === undefined && event.type === 'content_block_delta' && event.delta.type === 'text_delta') received = performance.now();
  }
  const written = model.firstTextAt.at(-1);
  return received === undefined || written === undefined ? undefined : received - written;
}

const sophia: number[] = [];
const sameThread: number[] = [];
const wire: number[] = [];
const floor: number[] = [];
let id = 0;
for (let turn = 0; turn < turns && performance.now() < deadline; turn += 1) {
  // Interleaved, so all three see the same machine at the same moments.
  const measured = await sophiaTurnWorker(turn, ++id);
  if (measured !== undefined) sophia.push(measured);
  const inThread = await sophiaTurn(turn, ++id);
  if (inThread !== undefined) sameThread.push(inThread);
  const bareMeasured = await floorTurn(turn);
  if (bareMeasured !== undefined) floor.push(bareMeasured);
}

renderer.postMessage({ kind: 'close' });
await renderer.terminate();
ws.close();
await host.close();
await core.close();
await model.close();

sophia.sort((a, b) => a - b);
floor.sort((a, b) => a - b);
wire.sort((a, b) => a - b);
sameThread.sort((a, b) => a - b);
const round = (n: number): number => Math.round(n * 100) / 100;
const p95 = percentile(sophia, 95);
const floorP95 = percentile(floor, 95);
process.stdout.write(`turns: ${sophia.length} through Sophia, ${floor.length} through the bare SDK; every answer thinks first (thinking + signature_delta, then text)\n`);
process.stdout.write(`Sophia (renderer in its own thread): p50 ${round(percentile(sophia, 50))} ms, p95 ${round(p95)} ms, max ${round(sophia.at(-1) ?? 0)} ms\n`);
process.stdout.write(`on the wire (the host wrote the frame): p50 ${round(percentile(wire, 50))} ms, p95 ${round(percentile(wire, 95))} ms\n`);
process.stdout.write(`renderer client in the main thread (reads only after the rest of the turn): p50 ${round(percentile(sameThread, 50))} ms, p95 ${round(percentile(sameThread, 95))} ms\n`);
process.stdout.write(`bare SDK floor: p50 ${round(percentile(floor, 50))} ms, p95 ${round(floorP95)} ms, max ${round(floor.at(-1) ?? 0)} ms\n`);
process.stdout.write(`p95 above the floor: ${round(p95 - floorP95)} ms (goal: p95 < 3 ms and within 2 ms of the floor); ratio ${round(p95 / Math.max(floorP95, 0.001))}x\n`);
process.stdout.write(
  `${JSON.stringify({
    metric: 'first_token_overhead_ms',
    p50: round(percentile(sophia, 50)),
    p95: round(p95),
    floor_p50: round(percentile(floor, 50)),
    floor_p95: round(floorP95),
    p95_above_floor: round(p95 - floorP95),
    wire_p50: round(percentile(wire, 50)),
    wire_p95: round(percentile(wire, 95)),
    same_thread_p95: round(percentile(sameThread, 95)),
    ratio_to_floor: round(p95 / Math.max(floorP95, 0.001)),
    turns: sophia.length,
  })}\n`,
);
