/**
 * `npm run bench:agent-overhead`: the time Sophia adds between the model's first byte of
 * text and the first token event reaching the renderer's socket. The real core, the real
 * Anthropic SDK against a loopback stand-in, the real browser host; the renderer's end is a
 * WebSocket client in this process, so both ends read one clock. 200 turns; the last line
 * is the JSON figure. Bounded in count and time.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createSophiaCore } from '../../electron/core/sophiaCore';
import { startBrowserHost } from '../../electron/host/browserHost';
import { serverFrame, tokenProtocolPrefix, wireProtocol } from '../../shared/wire';
import { anthropicTurn, startAnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { percentile } from './stats';

const turns = Number(process.env['BENCH_TURNS'] ?? 200);
const deadline = performance.now() + 120_000;

const model = await startAnthropicStandIn();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-'));
const core = createSophiaCore({ host: 'browser', dataDir, secrets: { get: async () => 'sk-ant-bench' }, endpoints: { anthropicBaseURL: model.baseURL } });
core.settings.update({ provider: 'anthropic' });
const host = await startBrowserHost({ core, rendererDir: dataDir });

const ws = new WebSocket(`ws://127.0.0.1:${host.port}/ws`, [wireProtocol, tokenProtocolPrefix + host.token], { headers: { Origin: host.origin } });
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});

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

const overheads: number[] = [];
let id = 0;
for (let turn = 0; turn < turns && performance.now() < deadline; turn += 1) {
  model.script({ kind: 'stream', events: anthropicTurn({ text: ['Hello', ' there', ', this', ' is', ' turn', ` ${turn}.`] }) });
  const firstToken = new Promise<number>((resolve) => (onFirstToken = resolve));
  const idle = new Promise<void>((resolve) => (onIdle = resolve));
  ws.send(JSON.stringify({ kind: 'request', id: ++id, channel: 'chat.send', input: { text: `hello ${turn}` } }));
  const received = await firstToken;
  await idle;
  const firstByte = model.firstDeltaAt.at(-1);
  if (firstByte !== undefined) overheads.push(received - firstByte);
}

ws.close();
await host.close();
await core.close();
await model.close();

overheads.sort((a, b) => a - b);
const round = (n: number): number => Math.round(n * 100) / 100;
process.stdout.write(`turns: ${overheads.length}, min ${round(overheads[0] ?? 0)} ms, max ${round(overheads.at(-1) ?? 0)} ms\n`);
process.stdout.write(`${JSON.stringify({ metric: 'first_token_overhead_ms', p50: round(percentile(overheads, 50)), p95: round(percentile(overheads, 95)), turns: overheads.length })}\n`);
