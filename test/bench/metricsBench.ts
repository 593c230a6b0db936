/**
 * `npm run bench:metrics`: the Metrics panel's figures over an audit log of 100,000 entries
 * (a mix as the app writes it: chat requests, model calls, approval cards with a 2 KB edit,
 * tool calls, containers, deployments), per day, model and workspace, three times each; the
 * longest the event loop was held (the log is read a page at a time, with a turn between
 * pages); and the floor in the same run: the same rows read through the same library with no
 * counting. Prints figures; the last line is one JSON object. Bounded in count and time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { AuditLog, type AuditInput } from '../../electron/audit/auditLog';
import { computeMetrics, metricsPageSize } from '../../electron/metrics/metricsService';
import type { MetricsGrouping } from '../../shared/metrics';

const count = Number(process.env['BENCH_METRICS_ENTRIES'] ?? 100_000);
const runs = 3;
const fileContent = 'x'.repeat(2000);

function entry(i: number): AuditInput {
  const conversationId = `conv-${Math.floor(i / 40)}`;
  const workspace = `/home/dev/project-${Math.floor(i / 40) % 5}`;
  const callId = `call-${i}`;
  switch (i % 10) {
    case 0:
      return { kind: 'request', conversationId, actor: 'agent', summary: 'Chat request taken as troubleshoot', data: { intent: i % 20 === 0 ? 'troubleshoot' : 'code-edit', workspace } };
    case 1:
    case 2:
      return { kind: 'model.call', conversationId, actor: 'model', summary: 'model call', data: { provider: 'anthropic', model: i % 3 ? 'claude-sonnet-4-5' : 'claude-haiku-4-5', inputTokens: 1200, outputTokens: 80, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.0048, outcome: 'tool_use', workspace } };
    case 3:
      return { kind: 'approval', conversationId, risk: 'medium', actor: 'user', summary: 'propose_edit approved by the user', data: { tool: 'propose_edit', callId, allowed: true, reasons: [], input: { summary: 'edit', files: [{ path: 'src/a.ts', content: fileContent }] }, card: { answer: i % 30 === 3 ? 'modify' : 'approve', waitedMs: 1000 + (i % 7000), diff: true } } };
    case 4:
      return { kind: 'tool.call', conversationId, risk: 'medium', actor: 'user', summary: 'propose_edit ran: ok', data: { conversationId, callId: `call-${i - 1}`, tool: 'propose_edit', ok: true, outputChars: 40 } };
    case 5:
      return { kind: 'container', actor: 'sandbox', summary: 'Command started', data: { taskId: 't', execId: 'e', command: 'npm test' } };
    case 6:
      return { kind: 'tool.call', conversationId, risk: 'medium', actor: 'user', summary: 'run_command ran', data: { conversationId, callId, tool: 'run_command', ok: i % 3 !== 0, outputChars: 900 } };
    case 7:
      return i % 50 === 7
        ? { kind: 'infrastructure', actor: 'system', summary: 'Deploying', data: { planId: `p-${i}`, deploymentId: `up-${i}`, stack: 'dev' } }
        : { kind: 'tool.call', conversationId, risk: 'read-only', actor: 'policy', summary: 'read_file ran: ok', data: { conversationId, callId, tool: 'read_file', ok: true, outputChars: 3000 } };
    case 8:
      return i % 50 === 8
        ? { kind: 'infrastructure', actor: 'agent', summary: 'Deployment', data: { deploymentId: `up-${i - 1}`, phase: 'update', status: i % 100 === 8 ? 'failed' : 'succeeded', message: '', workspace } }
        : { kind: 'request', actor: 'websocket', summary: 'approval.answer requested', data: { channel: 'approval.answer', input: {} } };
    default:
      return { kind: 'approval', conversationId, risk: 'read-only', actor: 'policy', summary: 'read_file allowed by policy', data: { tool: 'read_file', callId, allowed: true, reasons: [], input: { path: 'src/a.ts' } } };
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (n: number): number => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'sophia-metrics-bench-'));
  // One day of entries, evenly spread: days, models and workspaces all have several groups.
  let at = Date.UTC(2026, 10, 1);
  const log = AuditLog.open(path.join(dir, 'audit.db'), { now: () => (at += 60_000) });
  try {
    for (let i = 0; i < count; i += 1000) log.recordMany(Array.from({ length: Math.min(1000, count - i) }, (_, j) => entry(i + j)));
    console.log(`built a log of ${log.length.toLocaleString('en')} entries in ${round((performance.now() - started) / 1000)} s`);

    const floor: number[] = [];
    for (let r = 0; r < runs; r += 1) {
      const t = performance.now();
      let after = 0;
      for (;;) {
        const rows = log.page(after, metricsPageSize);
        if (rows.length === 0) break;
        after = rows.at(-1)!.seq;
        await new Promise((resolve) => setImmediate(resolve));
      }
      floor.push(performance.now() - t);
    }
    const results: Record<string, { p50Ms: number; maxDelayMs: number; groups: number }> = {};
    for (const groupBy of ['day', 'model', 'workspace'] as MetricsGrouping[]) {
      const times: number[] = [];
      let groups = 0;
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      for (let r = 0; r < runs; r += 1) {
        const t = performance.now();
        const report = await computeMetrics(log, { groupBy, timeZone: 'Europe/Paris' });
        times.push(performance.now() - t);
        groups = report.groups.length;
        if (report.entriesRead !== log.length) throw new Error(`read ${report.entriesRead} of ${log.length} entries`);
      }
      delay.disable();
      results[groupBy] = { p50Ms: round(median(times)), maxDelayMs: round(delay.max / 1e6), groups };
      console.log(`by ${groupBy}: ${results[groupBy].groups} groups, p50 ${results[groupBy].p50Ms} ms over ${runs} runs, event loop held at most ${results[groupBy].maxDelayMs} ms`);
    }
    const floorMs = round(median(floor));
    console.log(`floor (the same pages read, nothing counted): p50 ${floorMs} ms`);
    const heapMb = round(process.memoryUsage().heapUsed / 1e6);
    console.log(`heap after: ${heapMb} MB; whole run ${round((performance.now() - started) / 1000)} s`);
    console.log(JSON.stringify({ entries: log.length, floorMs, ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v])), heapMb }));
  } finally {
    log.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
