/**
 * `npm run bench:render`: a 20,000-token Markdown answer with code blocks streams into the
 * chat in headless Chromium, through the real pipeline (Anthropic SDK against a paced
 * loopback stand-in, agent, browser host, WebSocket, renderer): 16,000 tokens at 300/s,
 * then a burst of 4,000 at 2,000/s, with Stop clicked near the end of the burst. The page
 * counts long tasks (Long Tasks API, over 50 ms) and frame times (requestAnimationFrame),
 * and times Stop from the click to the first frame showing the stopped state. The last
 * line is the JSON figure.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { createSophiaCore } from '../../electron/app/sophiaCore';
import { startBrowserHost } from '../../electron/host/browserHost';
import { anthropicTurn, startAnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { percentile } from './stats';

const slowTokens = Number(process.env['BENCH_SLOW_TOKENS'] ?? 16_000);
const burstTokens = Number(process.env['BENCH_BURST_TOKENS'] ?? 4_000);
const rendererDir = path.resolve(import.meta.dirname, '../renderer');

/** A long review answer: headings, paragraphs, lists, tables and fenced code. */
function answerTokens(count: number): string[] {
  const words = 'the employees table stores one row per person with salary and manager columns that need constraints'.split(' ');
  const tokens: string[] = [];
  let section = 0;
  while (tokens.length < count) {
    section += 1;
    tokens.push(`\n\n## Finding ${section}\n\n`);
    for (let i = 0; i < 60; i += 1) tokens.push(`${words[(i + section) % words.length]} `);
    tokens.push('\n\n- **salary** ', 'has no ', 'check\n', '- `manager_id` ', 'lacks a ', 'foreign key\n\n');
    tokens.push('```sql\n');
    for (let line = 0; line < 12; line += 1) tokens.push('ALTER ', 'TABLE ', 'employees ', 'ADD ', `CONSTRAINT c${section}_${line} `, 'CHECK ', '(salary ', '>= 0);\n');
    tokens.push('```\n\n', '| column | issue |\n', '| --- | --- |\n', `| salary | unchecked ${section} |\n\n`);
  }
  return tokens.slice(0, count);
}

/** Runs in the page (plain JavaScript: this file is type-checked without the DOM). */
const instrumentPage = `(() => {
  const bench = (window.bench = { longTasks: [], longTaskAt: [], t0: performance.now(), frames: [], running: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      bench.longTasks.push(entry.duration);
      bench.longTaskAt.push(entry.startTime - bench.t0);
    }
  }).observe({ type: 'longtask', buffered: false });
  let last = performance.now();
  const frame = (now) => {
    bench.frames.push(now - last);
    last = now;
    if (bench.running) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  document.querySelector('[data-testid="stop-button"]').addEventListener('pointerdown', (event) => (bench.clickAt = event.timeStamp), { capture: true });
  new MutationObserver((_mutations, observer) => {
    if (bench.clickAt !== undefined && document.querySelector('[data-testid="stop-banner"]')) {
      observer.disconnect();
      // The next frame paints the stopped state.
      requestAnimationFrame(() => (bench.stopMs = performance.now() - bench.clickAt));
    }
  }).observe(document.body, { childList: true, subtree: true });
})()`;

const collectResults = `(() => {
  window.bench.running = false;
  const b = window.bench;
  return { longTasks: b.longTasks, longTaskAt: b.longTaskAt, clickAt: b.clickAt - b.t0, frames: b.frames, stopMs: b.stopMs,
    chars: document.querySelector('.message-assistant')?.textContent?.length ?? 0 };
})()`;

const tokens = answerTokens(slowTokens + burstTokens);
const atMs = tokens.map((_, i) => (i < slowTokens ? (i * 1000) / 300 : (slowTokens * 1000) / 300 + ((i - slowTokens) * 1000) / 2000));
const stopAtToken = slowTokens + Math.floor(burstTokens * 0.9);

const model = await startAnthropicStandIn();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-'));
const core = createSophiaCore({ host: 'browser', dataDir, secrets: { get: async () => 'sk-ant-bench' }, endpoints: { anthropicBaseURL: model.baseURL } });
core.settings.update({ provider: 'anthropic' });
const host = await startBrowserHost({ core, rendererDir });
const events = anthropicTurn({ text: tokens, outputTokens: tokens.length });
const firstDelta = events.findIndex((e) => e.event === 'content_block_delta');
model.script({ kind: 'stream', events, atMs: events.map((_, i) => (i < firstDelta ? 0 : atMs[Math.min(i - firstDelta, atMs.length - 1)] ?? 0)) });

const browser = await chromium.launch({
  executablePath: process.env['SOPHIA_CHROMIUM'] ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  await page.goto(host.url);
  await page.getByText('Connected', { exact: true }).waitFor();
  // The side panel is up (Monaco itself loads only with a proposal), and start-up has settled.
  await page.getByTestId('diff-panel').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1000);

  // Instrument the page: long tasks, frame times, and Stop from click to paint.
  await page.evaluate(instrumentPage);

  const input = page.getByTestId('composer-input');
  await input.fill('review the whole payroll schema in depth');
  await input.press('Enter');
  const started = performance.now();
  const limitMs = (atMs.at(-1) ?? 0) + 60_000;
  // Wait until the stand-in has sent the token where Stop is clicked, then click it.
  while (performance.now() - started < limitMs) {
    const sent = (performance.now() - (model.firstDeltaAt[0] ?? performance.now())) ;
    if (model.firstDeltaAt.length > 0 && sent >= (atMs[stopAtToken] ?? 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await page.getByTestId('stop-button').click();
  await page.getByTestId('stop-banner').waitFor();
  await page.waitForFunction('window.bench.stopMs !== undefined');
  const result = (await page.evaluate(collectResults)) as {
    longTasks: number[];
    longTaskAt: number[];
    clickAt: number;
    frames: number[];
    stopMs: number;
    chars: number;
  };
  const frames = result.frames.slice(1).sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 10) / 10;
  process.stdout.write(
    `streamed ~${stopAtToken} tokens (${slowTokens} at 300/s, burst at 2000/s) -> ${result.chars} characters on screen; frames: ${frames.length}, frame p50 ${round(percentile(frames, 50))} ms, max ${round(frames.at(-1) ?? 0)} ms; long tasks: ${result.longTasks.map((d, i) => `${round(d)} ms at ${round((result.longTaskAt[i] ?? 0) / 1000)} s`).join(', ') || 'none'}; Stop clicked at ${round(result.clickAt / 1000)} s\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ metric: 'chat_render', long_tasks: result.longTasks.length, frame_p95_ms: round(percentile(frames, 95)), stop_click_to_paint_ms: round(result.stopMs) })}\n`,
  );
} finally {
  await browser.close();
  await host.close();
  await core.close();
  await model.close();
}
