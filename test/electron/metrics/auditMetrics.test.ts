import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ToolRegistry, type ToolDefinition } from '../../../electron/agent/tools';
import { AuditLog, type AuditInput } from '../../../electron/audit/auditLog';
import { MetricsAccumulator, stats } from '../../../electron/metrics/auditMetrics';
import { computeMetrics, csvCell, csvColumns, metricsCsv } from '../../../electron/metrics/metricsService';
import { ApprovalGate } from '../../../electron/safety/approvalGate';
import { defaultPolicy } from '../../../electron/safety/policy';
import { metricsReport, unknownGroup } from '../../../shared/metrics';
import { RecordingAudit, ScriptedApprover } from '../safety/safetyFixtures';

const dir = mkdtempSync(path.join(tmpdir(), 'sophia-metrics-'));
let files = 0;

/** A hand-built audit log: each entry as its source writes it, at a time we choose. */
function buildLog(entries: readonly (AuditInput & { at: number })[]): AuditLog {
  let now = 0;
  const log = AuditLog.open(path.join(dir, `audit-${(files += 1)}.db`), { now: () => now });
  for (const { at, ...entry } of entries) {
    now = at;
    log.record(entry);
  }
  return log;
}

const day1 = Date.UTC(2026, 10, 30, 10, 0, 0); // 2026-11-30 10:00 UTC
const day2 = Date.UTC(2026, 11, 1, 23, 30, 0); // 2026-12-01 23:30 UTC = 2026-12-02 00:30 in Paris
const s = 1000;

const turn = (at: number, conversationId: string, intent: string, workspace: string) => ({ at, kind: 'request' as const, conversationId, actor: 'agent', summary: `Chat request taken as ${intent}`, data: { intent, workspace } });
const modelCall = (at: number, conversationId: string, model: string, tokens: [number, number], costUsd: number | null, workspace: string) => ({
  at,
  kind: 'model.call' as const,
  conversationId,
  actor: 'model',
  summary: 'model call',
  data: { provider: 'anthropic', model, inputTokens: tokens[0], outputTokens: tokens[1], cacheReadTokens: 10, cacheWriteTokens: 0, costUsd, outcome: 'end_turn', workspace },
});
const card = (at: number, conversationId: string, callId: string, tool: string, answer: string, waitedMs: number, diff: boolean) => {
  const allowed = answer === 'approve' || answer === 'modify' || answer === 'approve-for-session';
  return {
    at,
    kind: (answer === 'timeout' ? 'refusal' : 'approval') as 'approval' | 'refusal',
    conversationId,
    risk: 'medium' as const,
    actor: answer === 'timeout' ? 'timeout' : 'user',
    summary: `${tool} ${answer}`,
    data: { tool, callId, allowed, reasons: [], input: {}, card: { answer, waitedMs, diff } },
  };
};
const ran = (at: number, conversationId: string, callId: string, tool: string, ok: boolean) => ({ at, kind: 'tool.call' as const, conversationId, actor: 'user', summary: `${tool} ran: ${ok ? 'ok' : 'failed'}`, data: { conversationId, callId, tool, ok, outputChars: 10 } });
const deployStart = (at: number, deploymentId: string) => ({ at, kind: 'infrastructure' as const, actor: 'system', summary: `Deploying from approved preview`, data: { planId: `plan-${deploymentId}`, deploymentId, stack: 'dev' } });
const deployEvent = (at: number, deploymentId: string, phase: string, status: string, workspace = '/ws/b') => ({ at, kind: 'infrastructure' as const, actor: 'agent', summary: `Deployment ${deploymentId}: ${phase} ${status}`, data: { deploymentId, phase, status, message: '', workspace } });

/**
 * Day 1, conversation a in /ws/a with sonnet: an edit request with three code proposals
 * (approved, modified, rejected), a command card, a passing and a failing run, a timed-out card.
 * Day 2, conversation b in /ws/b with haiku: a troubleshooting request, a failing reproduction,
 * an approved fix, a passing verification 90 s after the request; deployments (one succeeded,
 * one failed, a Snowflake plan that is no deployment, a rollback); conversation c with an
 * unpriced model: a troubleshooting request that is never fixed.
 */
const entries = [
  { at: day1 - 5 * s, kind: 'request' as const, actor: 'websocket', summary: 'chat.send requested', data: { channel: 'chat.send', input: { text: 'fix it' } } },
  turn(day1, 'a', 'edit', '/ws/a'),
  modelCall(day1 + 1 * s, 'a', 'claude-sonnet-4-5', [1000, 200], 0.006, '/ws/a'),
  card(day1 + 3 * s, 'a', 'e1', 'propose_edit', 'approve', 1000, true),
  ran(day1 + 3 * s, 'a', 'e1', 'propose_edit', true),
  card(day1 + 6 * s, 'a', 'e2', 'propose_edit', 'modify', 3000, true),
  card(day1 + 11 * s, 'a', 'e3', 'propose_edit', 'cancel', 5000, true),
  card(day1 + 13 * s, 'a', 'r1', 'run_command', 'approve', 2000, false),
  ran(day1 + 14 * s, 'a', 'r1', 'run_command', true),
  ran(day1 + 15 * s, 'a', 'r2', 'run_command', false),
  card(day1 + 20 * s, 'a', 'p1', 'git_push', 'timeout', 300_000, false),
  { at: day1 + 21 * s, kind: 'tool.call' as const, conversationId: 'a', actor: 'timeout', summary: 'git_push not run: denied', data: { conversationId: 'a', callId: 'p1', tool: 'git_push', reasons: [] } },
  modelCall(day1 + 22 * s, 'a', 'claude-sonnet-4-5', [500, 100], 0.003, '/ws/a'),

  turn(day2, 'b', 'troubleshoot', '/ws/b'),
  modelCall(day2 + 1 * s, 'b', 'claude-haiku-4-5', [2000, 300], 0.0035, '/ws/b'),
  ran(day2 + 10 * s, 'b', 'x1', 'run_command', false),
  card(day2 + 40 * s, 'b', 'f1', 'propose_edit', 'approve', 4000, true),
  ran(day2 + 41 * s, 'b', 'f1', 'propose_edit', true),
  turn(day2 + 50 * s, 'b', 'troubleshoot', '/ws/b'), // a follow-up in the same request: no second request while one is open
  ran(day2 + 90 * s, 'b', 'x2', 'run_command', true),
  deployStart(day2 + 100 * s, 'up-1'),
  deployEvent(day2 + 120 * s, 'up-1', 'update', 'succeeded'),
  deployEvent(day2 + 121 * s, 'up-1', 'update', 'succeeded'), // the same outcome again is not a second deployment
  deployStart(day2 + 130 * s, 'up-2'),
  deployEvent(day2 + 140 * s, 'up-2', 'update', 'failed'),
  deployEvent(day2 + 150 * s, 'plan-ddl', 'ddl', 'succeeded'), // a Snowflake plan (dry run): no start, no deployment
  deployEvent(day2 + 160 * s, 'rb-1', 'rollback', 'running'),
  deployEvent(day2 + 161 * s, 'rb-1', 'rollback', 'succeeded'),
  turn(day2 + 200 * s, 'c', 'troubleshoot', '/ws/b'),
  modelCall(day2 + 201 * s, 'c', 'local-model', [50, 5], null, '/ws/b'),
];

describe('metrics from a hand-built audit log', () => {
  it('counts each figure once, from the entries that record it', async () => {
    const log = buildLog(entries);
    const report = await computeMetrics(log, { groupBy: 'day' });
    expect(metricsReport.parse(report)).toEqual(report);
    const t = report.totals;
    expect(t.proposals).toEqual({ approved: 2, modified: 1, rejected: 1 });
    expect(t.testRuns).toEqual({ passed: 2, failed: 2 });
    expect(t.deployments).toEqual({ succeeded: 1, failed: 1, cancelled: 0, rolledBack: 1 });
    expect(t.troubleshooting).toMatchObject({ requests: 2, fixed: 1, timeToFix: { count: 1, meanMs: 90_000, medianMs: 90_000, maxMs: 90_000 } });
    expect(t.approvalWait).toEqual({ count: 5, meanMs: 3000, medianMs: 3000, p95Ms: 5000, maxMs: 5000, unanswered: 1 });
    expect(t.usage).toEqual({ calls: 4, inputTokens: 3550, outputTokens: 605, cacheReadTokens: 40, cacheWriteTokens: 0, costUsd: 0.0125, unpricedCalls: 1 });
    expect(report.entriesRead).toBe(entries.length);
    expect(report.timeZone).toBe('UTC');
    expect(report.groups.map((g) => g.key)).toEqual(['2026-11-30', '2026-12-01']);
    const [first, second] = report.groups;
    expect(first!.figures.proposals).toEqual({ approved: 1, modified: 1, rejected: 1 });
    expect(first!.figures.testRuns).toEqual({ passed: 1, failed: 1 });
    expect(second!.figures.testRuns).toEqual({ passed: 1, failed: 1 });
    expect(second!.figures.troubleshooting.requests).toBe(2);
    log.close();
  });

  it('cuts days in the time zone asked for', async () => {
    const log = buildLog(entries);
    const report = await computeMetrics(log, { groupBy: 'day', timeZone: 'Europe/Paris' });
    expect(report.timeZone).toBe('Europe/Paris');
    expect(report.groups.map((g) => g.key)).toEqual(['2026-11-30', '2026-12-02']);
    await expect(computeMetrics(log, { groupBy: 'day', timeZone: 'Mars/Olympus' })).rejects.toThrow(/Unknown time zone/);
    log.close();
  });

  it('groups by model and by workspace, from the entry or its conversation', async () => {
    const log = buildLog(entries);
    const byModel = await computeMetrics(log, { groupBy: 'model' });
    const model = Object.fromEntries(byModel.groups.map((g) => [g.key, g.figures]));
    expect(Object.keys(model)).toEqual([unknownGroup, 'claude-haiku-4-5', 'claude-sonnet-4-5', 'local-model']);
    expect(model['claude-sonnet-4-5']!.proposals).toEqual({ approved: 1, modified: 1, rejected: 1 });
    expect(model['claude-sonnet-4-5']!.usage.calls).toBe(2);
    expect(model['claude-haiku-4-5']!.troubleshooting).toMatchObject({ requests: 1, fixed: 1 });
    // The unfixed request's conversation had used local-model by the end of the log.
    expect(model['local-model']!.troubleshooting).toMatchObject({ requests: 1, fixed: 0 });
    // Deployments name no conversation, so no model.
    expect(byModel.groups.find((g) => g.key === unknownGroup)?.figures.deployments).toEqual({ succeeded: 1, failed: 1, cancelled: 0, rolledBack: 1 });

    const byWorkspace = await computeMetrics(log, { groupBy: 'workspace' });
    const ws = Object.fromEntries(byWorkspace.groups.map((g) => [g.key, g.figures]));
    expect(Object.keys(ws)).toEqual(['/ws/a', '/ws/b']);
    expect(ws['/ws/a']!.testRuns).toEqual({ passed: 1, failed: 1 });
    expect(ws['/ws/b']!.deployments.succeeded).toBe(1);
    expect(ws['/ws/b']!.troubleshooting.requests).toBe(2);
    // Grouped any way, the totals are the same.
    expect(byWorkspace.totals).toEqual(byModel.totals);
    log.close();
  });

  it('counts only what falls in [from, to), while reading earlier entries for context', async () => {
    const log = buildLog(entries);
    const report = await computeMetrics(log, { groupBy: 'workspace', from: day2, to: day2 + 145 * s });
    expect(report.totals.proposals).toEqual({ approved: 1, modified: 0, rejected: 0 });
    expect(report.totals.deployments).toEqual({ succeeded: 1, failed: 1, cancelled: 0, rolledBack: 0 });
    expect(report.totals.troubleshooting).toMatchObject({ requests: 1, fixed: 1 });
    expect(report.totals.usage.calls).toBe(1);
    log.close();
  });

  it('reads the log a page at a time with the same result', async () => {
    const log = buildLog(entries);
    const whole = await computeMetrics(log, { groupBy: 'model' });
    let pages = 0;
    const paged = await computeMetrics({ page: (after, limit) => ((pages += 1), log.page(after, limit)) }, { groupBy: 'model' }, 3);
    expect(paged).toEqual(whole);
    expect(pages).toBe(Math.floor(entries.length / 3) + 1);
    log.close();
  });

  it('exports CSV: a header, a row per group, the totals; cells quoted and formulas defused', async () => {
    const log = buildLog([...entries, turn(day2 + 300 * s, 'd', 'edit', '=HYPERLINK("x"),1'), card(day2 + 301 * s, 'd', 'e9', 'propose_edit', 'approve', 10, true)]);
    const csv = metricsCsv(await computeMetrics(log, { groupBy: 'workspace' }));
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(csvColumns.join(','));
    expect(lines).toHaveLength(1 + 3 + 1);
    expect(lines.find((line) => line.startsWith('"'))).toMatch(/^"'=HYPERLINK\(""x""\),1",1,0,0,1,/);
    const total = lines.at(-1)!.split(',');
    expect(total[0]).toBe('TOTAL');
    expect(Object.fromEntries(csvColumns.map((c, i) => [c, total[i]]))).toMatchObject({
      proposals_approved_unmodified: '3',
      proposals_modified: '1',
      proposals_rejected: '1',
      share_approved_unmodified: '0.6',
      test_runs_passed: '2',
      test_runs_failed: '2',
      test_pass_rate: '0.5',
      deployments_succeeded: '1',
      rollbacks: '1',
      troubleshooting_fixed: '1',
      time_to_fix_median_ms: '90000',
      model_calls: '4',
      cost_usd: '0.0125',
    });
    expect(csvCell(null)).toBe('');
    expect(csvCell('+1')).toBe("'+1");
    log.close();
  });

  it('counts a clipped entry for nothing rather than guessing', () => {
    const acc = new MetricsAccumulator({ groupBy: 'day' });
    acc.add({ seq: 1, at: day1, kind: 'model.call', conversationId: null, actor: 'model', data: '{"model":"x","inputTokens":5… [900 more]' });
    acc.add({ seq: 2, at: day1, kind: 'tool.call', conversationId: null, actor: 'agent', data: JSON.stringify({ tool: 'run_command', reasons: [] }) });
    expect(acc.report().totals.usage).toMatchObject({ calls: 1, inputTokens: 0, unpricedCalls: 1 });
    expect(acc.report().totals.testRuns).toEqual({ passed: 0, failed: 0 });
    expect(stats([5, 1, 3, 2])).toEqual({ count: 4, meanMs: 2.75, medianMs: 2.5, p95Ms: 5, maxMs: 5 });
  });
});

describe('what the approval gate records for metrics', () => {
  it('the answer, how long the card waited and whether it showed a diff, for every card the person saw', async () => {
    const audit = new RecordingAudit();
    const approver = new ScriptedApprover([{ decision: 'approve' }, { decision: 'modify', input: { path: 'a.ts', content: 'b' } }, { decision: 'cancel' }, 'hang']);
    const gate = new ApprovalGate({ policy: () => ({ ...defaultPolicy, approvalThreshold: 'low' }), stop: { locked: false }, audit, approver, timeoutMs: 30 });
    const registry = new ToolRegistry(gate);
    const edit: ToolDefinition = {
      name: 'propose_edit',
      description: 'edit',
      input: z.object({ path: z.string(), content: z.string() }),
      risk: 'medium',
      preview: () => ({ text: 'diff', edit: [{ path: 'a.ts', added: 1, removed: 0, isNew: false }] }),
    };
    const push: ToolDefinition = { name: 'git_push', description: 'push', input: z.object({ branch: z.string() }), risk: 'high' };
    registry.register(edit, async () => ({ ok: true, output: 'ok' }));
    registry.register(push, async () => ({ ok: true, output: 'ok' }));
    const call = (callId: string) => ({ conversationId: 'c', callId, signal: new AbortController().signal });
    await registry.invoke('propose_edit', { path: 'a.ts', content: 'a' }, call('1'));
    await registry.invoke('propose_edit', { path: 'a.ts', content: 'a' }, call('2'));
    await registry.invoke('propose_edit', { path: 'a.ts', content: 'a' }, call('3'));
    await registry.invoke('git_push', { branch: 'main' }, call('4'));
    const cards = audit.entries.filter((e) => e.kind === 'approval' || e.kind === 'refusal').map((e) => (e.data as { card?: { answer: string; waitedMs: number; diff: boolean } }).card);
    expect(cards.map((c) => [c?.answer, c?.diff])).toEqual([
      ['approve', true],
      ['modify', true],
      ['cancel', true],
      ['timeout', false],
    ]);
    expect(cards.every((c) => typeof c?.waitedMs === 'number' && c.waitedMs >= 0)).toBe(true);
    expect(cards[3]!.waitedMs).toBeGreaterThanOrEqual(25);
  });

  it('an edit too large for one entry is clipped, and its card is still read and counted', async () => {
    const log = AuditLog.open(path.join(dir, `audit-${(files += 1)}.db`));
    const big = 'y'.repeat(40_000);
    const approver = new ScriptedApprover([{ decision: 'modify', input: { path: 'a.ts', content: `${big}!` } }]);
    const gate = new ApprovalGate({ policy: () => ({ ...defaultPolicy, approvalThreshold: 'low' }), stop: { locked: false }, audit: log, approver });
    const registry = new ToolRegistry(gate);
    registry.register(
      { name: 'propose_edit', description: 'edit', input: z.object({ path: z.string(), content: z.string() }), risk: 'medium', preview: () => ({ text: 'diff', edit: [{ path: 'a.ts', added: 1, removed: 0, isNew: false }] }) },
      async () => ({ ok: true, output: 'ok' }),
    );
    await registry.invoke('propose_edit', { path: 'a.ts', content: big }, { conversationId: 'c', callId: 'big', signal: new AbortController().signal });
    const stored = log.query({ kind: 'approval' })[0]!.data;
    expect(() => JSON.parse(stored)).toThrow();
    const report = await computeMetrics(log, { groupBy: 'day' });
    expect(report.totals.proposals).toEqual({ approved: 0, modified: 1, rejected: 0 });
    expect(report.totals.approvalWait.count).toBe(1);
    log.close();
  });
});
