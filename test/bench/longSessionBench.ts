/**
 * `npm run bench:long-session`: a conversation of 2,000 messages with 50 tool outputs of
 * 200 KB each, written through the real store and migrations, reopened from the sidebar in
 * headless Chromium through the real pipeline (core, browser host, WebSocket, renderer).
 * Prints the reopen time (click → conversation.open → the last message painted), the
 * main-process and renderer heaps after reopening against before, and frame times and long
 * tasks while the whole transcript is scrolled from top to bottom. Floors in the same run:
 * the same database read of 2,000 small rows (bare better-sqlite3 + JSON.parse), and the
 * same page painting a static list of the 2,000 texts. Beside the wall times, the renderer's
 * main-thread busy time (CDP Performance metrics: its tasks' time, by kind, without the idle
 * time between them). Goals: reopen < 300 ms, main heap
 * growth < 50 MB, no long task while scrolling. Every loop is bounded in count and time.
 * The last line is the JSON figure.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { ConversationStore } from '../../electron/agent/conversationStore';
import { createSophiaCore } from '../../electron/app/sophiaCore';
import { openAppDatabase } from '../../electron/db/appDatabase';
import { startBrowserHost } from '../../electron/host/browserHost';
import { seedLongConversation } from '../support/longSession';
import { percentile, progress, round } from './stats';

const messages = Number(process.env['BENCH_MESSAGES'] ?? 2000);
const bigOutputs = Number(process.env['BENCH_BIG_OUTPUTS'] ?? 50);
const outputChars = Number(process.env['BENCH_OUTPUT_CHARS'] ?? 200 * 1024);
const reopens = Number(process.env['BENCH_REOPENS'] ?? 10);
const rendererDir = path.resolve(import.meta.dirname, '../renderer');
const mb = (bytes: number): number => round(bytes / (1024 * 1024));

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with node --expose-gc (npm run bench:long-session does).');
function mainHeap(): number {
  for (let i = 0; i < 3; i += 1) gc?.();
  return process.memoryUsage().heapUsed;
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-long-'));
progress(`seeding ${messages} messages with ${bigOutputs} outputs of ${outputChars} characters…`);
const long = seedLongConversation(dataDir, { messages, bigOutputs, outputChars, title: 'Long session' });
const small = seedLongConversation(dataDir, { messages, bigOutputs: 0, outputChars: 0, title: 'Small rows' });

// The main process's share, timed alone: the store's read of the long conversation vs a bare read of 2,000 small rows.
const storeTimes: number[] = [];
const floorTimes: number[] = [];
let replyBytes = 0;
{
  const db = openAppDatabase(path.join(dataDir, 'sophia.db'));
  const store = new ConversationStore(db);
  const bare = db.prepare<[string], { payload: string }>('SELECT payload FROM conversation_events WHERE conversation_id = ? ORDER BY seq');
  const deadline = performance.now() + 20_000;
  for (let i = 0; i < 20 && performance.now() < deadline; i += 1) {
    let t = performance.now();
    const events = store.events(long.conversationId);
    storeTimes.push(performance.now() - t);
    replyBytes = JSON.stringify({ conversation: store.get(long.conversationId), events }).length;
    t = performance.now();
    bare.all(small.conversationId).map((row) => JSON.parse(row.payload) as unknown);
    floorTimes.push(performance.now() - t);
  }
  db.close();
}

const core = createSophiaCore({ host: 'browser', dataDir, secrets: { get: async () => undefined } });
const host = await startBrowserHost({ core, rendererDir });
const browser = await chromium.launch({
  executablePath: process.env['SOPHIA_CHROMIUM'] ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

/** Runs in the page (plain JavaScript: this file is type-checked without the DOM). Clicks a conversation and resolves once its last message is painted. */
const openAndPaint = `(async ({ title, lastText }) => {
  const button = document.querySelector('button[title="' + title + '"]');
  // The chat section, not the list: another conversation gets a list of its own.
  const chat = document.querySelector('section.chat');
  const t0 = performance.now();
  const painted = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not painted in 10 s')), 10000);
    const done = () => requestAnimationFrame(() => setTimeout(() => { clearTimeout(timer); resolve(performance.now() - t0); }, 0));
    const observer = new MutationObserver(() => {
      if (chat.querySelector('[data-testid="message-list"]').textContent.includes(lastText)) { observer.disconnect(); done(); }
    });
    observer.observe(chat, { childList: true, subtree: true, characterData: true });
  });
  button.click();
  return painted;
})`;

/** The floor: the same page painting a static list of the same 2,000 texts, built with DOM calls (no framework, no virtualisation). */
const paintStaticList = `(async (texts) => {
  const t0 = performance.now();
  const list = document.createElement('ol');
  list.className = 'message-list';
  list.style.cssText = 'position:fixed;inset:0;overflow:auto;z-index:99;background:#000';
  for (const text of texts) {
    const item = document.createElement('li');
    item.className = 'message';
    item.textContent = text;
    list.append(item);
  }
  document.body.append(list);
  list.scrollTop = list.scrollHeight;
  const ms = await new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0)));
  list.remove();
  return ms;
})`;

/** Scrolls the transcript from top to bottom, 300 px a frame, recording frame times, long tasks and mounted rows. */
const scrollWhole = `(async () => {
  const list = document.querySelector('[data-testid="message-list"]');
  list.scrollTop = 0;
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const longTasks = [];
  const observer = new PerformanceObserver((entries) => { for (const entry of entries.getEntries()) longTasks.push(entry.duration); });
  observer.observe({ type: 'longtask', buffered: false });
  const frames = [];
  let maxRows = 0;
  const t0 = performance.now();
  await new Promise((resolve) => {
    let last = performance.now();
    let stillAtBottom = 0;
    const frame = (now) => {
      frames.push(now - last);
      last = now;
      maxRows = Math.max(maxRows, list.querySelectorAll('[data-testid="chat-row"]').length);
      const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 1;
      stillAtBottom = atBottom ? stillAtBottom + 1 : 0;
      // Bounded: 20,000 frames or 120 s; done once the bottom held for 10 frames (late measurements settle).
      if (stillAtBottom >= 10 || frames.length >= 20000 || now - t0 > 120000) return resolve();
      list.scrollTop += 300;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  observer.disconnect();
  return { frames: frames.slice(1), longTasks, maxRows, seconds: (performance.now() - t0) / 1000, height: list.scrollHeight,
    lastShown: list.textContent.includes(${JSON.stringify(long.lastText)}) };
})()`;

try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  await page.goto(host.url);
  await page.getByText('Connected', { exact: true }).waitFor();
  await page.getByTitle(long.title).waitFor();
  await page.waitForTimeout(1000);
  const cdp = await page.context().newCDPSession(page);
  const rendererHeap = async (): Promise<number> => {
    for (let i = 0; i < 2; i += 1) await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };

  // The renderer's main-thread time by kind (CDP Performance metrics, in seconds): the time of
  // its tasks, without the idle time between them (waiting for the reply, for a frame).
  await cdp.send('Performance.enable');
  const threadKinds = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'] as const;
  const threadTime = async (): Promise<Record<(typeof threadKinds)[number], number>> => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const value = (name: string): number => (metrics.find((metric) => metric.name === name)?.value ?? 0) * 1000;
    return { TaskDuration: value('TaskDuration'), ScriptDuration: value('ScriptDuration'), LayoutDuration: value('LayoutDuration'), RecalcStyleDuration: value('RecalcStyleDuration') };
  };
  const threadSpent = (before: Record<(typeof threadKinds)[number], number>, after: Record<(typeof threadKinds)[number], number>): Record<(typeof threadKinds)[number], number> =>
    Object.fromEntries(threadKinds.map((kind) => [kind, after[kind] - before[kind]])) as Record<(typeof threadKinds)[number], number>;
  const shownThread = (spent: readonly Record<(typeof threadKinds)[number], number>[]): string =>
    `main-thread busy p50 ${percentile(spent.map((s) => s.TaskDuration), 50)} ms (script ${percentile(spent.map((s) => s.ScriptDuration), 50)}, layout ${percentile(spent.map((s) => s.LayoutDuration), 50)}, style ${percentile(spent.map((s) => s.RecalcStyleDuration), 50)})`;

  const mainBefore = mainHeap();
  const rendererBefore = await rendererHeap();

  const reopenTimes: number[] = [];
  const staticTimes: number[] = [];
  const reopenThread: Record<(typeof threadKinds)[number], number>[] = [];
  const staticThread: Record<(typeof threadKinds)[number], number>[] = [];
  const texts = Array.from({ length: messages }, (_, n) => `Message ${n}`);
  const deadline = performance.now() + 120_000;
  for (let i = 0; i < reopens && performance.now() < deadline; i += 1) {
    // Away to an empty chat, then back: each time a full conversation.open and a fresh fold.
    await page.getByRole('button', { name: '+ New chat' }).click();
    await page.waitForTimeout(200);
    let before = await threadTime();
    reopenTimes.push((await page.evaluate(`${openAndPaint}(${JSON.stringify({ title: long.title, lastText: long.lastText })})`)) as number);
    reopenThread.push(threadSpent(before, await threadTime()));
    await page.waitForTimeout(200);
    before = await threadTime();
    staticTimes.push((await page.evaluate(`${paintStaticList}(${JSON.stringify(texts)})`)) as number);
    staticThread.push(threadSpent(before, await threadTime()));
  }
  if (process.env['BENCH_PROFILE']) {
    // A CPU profile of one more reopen, for looking into where its time goes.
    await page.getByRole('button', { name: '+ New chat' }).click();
    await page.waitForTimeout(200);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
    await page.evaluate(`${openAndPaint}(${JSON.stringify({ title: long.title, lastText: long.lastText })})`);
    const { profile } = await cdp.send('Profiler.stop');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env['BENCH_PROFILE'], JSON.stringify(profile));
  }
  await page.waitForTimeout(500);
  const mainAfter = mainHeap();
  const rendererAfter = await rendererHeap();
  const mountedAfterOpen = await page.getByTestId('chat-row').count();

  if (process.env['BENCH_PROFILE']) {
    await cdp.send('Profiler.start');
  }
  const scrollBefore = await threadTime();
  const scroll = (await page.evaluate(scrollWhole)) as { frames: number[]; longTasks: number[]; maxRows: number; seconds: number; height: number; lastShown: boolean };

  if (process.env['BENCH_PROFILE']) {
    const { profile } = await cdp.send('Profiler.stop');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${process.env['BENCH_PROFILE']}.scroll`, JSON.stringify(profile));
  }
  const scrollThread = threadSpent(scrollBefore, await threadTime());
  const reopenP50 = percentile(reopenTimes, 50);
  const staticP50 = percentile(staticTimes, 50);
  const storeP50 = percentile(storeTimes, 50);
  const floorP50 = percentile(floorTimes, 50);
  const framesP95 = percentile(scroll.frames, 95);
  const ratio = (a: number, b: number): number => round(a / Math.max(b, 0.1));
  process.stdout.write(
    [
      `conversation: ${messages} messages, ${bigOutputs} outputs of ${outputChars.toLocaleString('en')} characters; conversation.open reply ${round(replyBytes / 1024)} KB`,
      `reopen (click → conversation.open → last message painted), ${reopenTimes.length} runs: p50 ${reopenP50} ms, max ${round(Math.max(...reopenTimes))} ms; floor (same page painting a static list of ${messages} texts): p50 ${staticP50} ms (${ratio(reopenP50, staticP50)}×)`,
      `  renderer ${shownThread(reopenThread)} per reopen; floor ${shownThread(staticThread)}`,
      `store read of the long conversation: p50 ${storeP50} ms; floor (bare better-sqlite3 read + JSON.parse of ${messages} small rows): p50 ${floorP50} ms (${ratio(storeP50, floorP50)}×)`,
      `main heap: ${mb(mainBefore)} MB before, ${mb(mainAfter)} MB after ${reopenTimes.length} reopens (growth ${mb(mainAfter - mainBefore)} MB); renderer heap: ${mb(rendererBefore)} MB before, ${mb(rendererAfter)} MB after (growth ${mb(rendererAfter - rendererBefore)} MB)`,
      `rows mounted after reopening: ${mountedAfterOpen} of ${messages + bigOutputs}; scrolling the whole transcript (${Math.round(scroll.height).toLocaleString('en')} px, ${round(scroll.seconds)} s, ${scroll.frames.length} frames): frame p50 ${percentile(scroll.frames, 50)} ms, p95 ${framesP95} ms, max ${round(Math.max(...scroll.frames))} ms; long tasks: ${scroll.longTasks.length ? scroll.longTasks.map((d) => `${round(d)} ms`).join(', ') : 'none'}; at most ${scroll.maxRows} rows mounted; last message shown at the bottom: ${scroll.lastShown}`,
      `  renderer main-thread busy while scrolling: ${round(scrollThread.TaskDuration)} ms (script ${round(scrollThread.ScriptDuration)}, layout ${round(scrollThread.LayoutDuration)}, style ${round(scrollThread.RecalcStyleDuration)}) over ${scroll.frames.length} frames`,
      `goals: reopen < 300 ms ${reopenP50 < 300 ? 'met' : 'NOT met'}, main heap growth < 50 MB ${mainAfter - mainBefore < 50 * 1024 * 1024 ? 'met' : 'NOT met'}, 0 long tasks while scrolling ${scroll.longTasks.length === 0 ? 'met' : 'NOT met'}`,
    ].join('\n') + '\n',
  );
  process.stdout.write(
    `${JSON.stringify({
      metric: 'long_session',
      reopen_p50_ms: reopenP50,
      reopen_floor_p50_ms: staticP50,
      reopen_vs_floor: ratio(reopenP50, staticP50),
      reopen_busy_p50_ms: percentile(reopenThread.map((s) => s.TaskDuration), 50),
      reopen_floor_busy_p50_ms: percentile(staticThread.map((s) => s.TaskDuration), 50),
      store_read_p50_ms: storeP50,
      store_floor_p50_ms: floorP50,
      open_reply_kb: round(replyBytes / 1024),
      main_heap_growth_mb: mb(mainAfter - mainBefore),
      renderer_heap_growth_mb: mb(rendererAfter - rendererBefore),
      renderer_heap_mb: mb(rendererAfter),
      scroll_frame_p95_ms: framesP95,
      scroll_long_tasks: scroll.longTasks.length,
      scroll_busy_ms: round(scrollThread.TaskDuration),
      max_rows_mounted: scroll.maxRows,
    })}\n`,
  );
} finally {
  await browser.close();
  await host.close();
  await core.close();
}
