/**
 * The Metrics panel in Chromium, against the built app, over an audit log that real agent
 * runs made in this test: a scripted model (the real Anthropic SDK against its stand-in) in a
 * workspace with a failing test troubleshoots it (a failing run in a real Docker sandbox, a
 * proposal rejected, one modified in the diff view, the passing run that verifies the fix),
 * proposes a README line approved as it was, then previews and deploys a stack through the
 * real Pulumi Automation API against the stand-in CLI. The panel's figures (and the CSV
 * export) are then checked against counts taken independently: from the audit database read
 * with SQL in this test, and from what the test itself scripted and answered.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { DeploymentPlan } from '../../shared/contract';
import type { ServedApp } from '../support/servedApp';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { makePulumiWorkspace, mcpProgram, pulumiStandInRoot } from '../support/standIns/pulumiProject';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

const buggy = 'module.exports = (a, b) => a - b;\n';
const testJs = "const assert = require('node:assert');\nconst sum = require('./sum.js');\nassert.strictEqual(sum(2, 3), 5);\nconsole.log('1 passed');\n";

let session: BrowserSession;
let app: ServedApp;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let workspace: string;

/** Tokens each scripted turn reports, so their sums are known without the app. */
const turnTokens = { inputTokens: 1200, outputTokens: 80 };
const turn = (options: Parameters<typeof anthropicTurn>[0]) => ({ kind: 'stream' as const, events: anthropicTurn({ ...turnTokens, ...options }) });

beforeAll(async () => {
  workspace = mkdtempSync(path.join(tmpdir(), 'sophia-e2e-metrics-'));
  // The sandbox runs commands as an unprivileged user, with the workspace mounted read-only.
  chmodSync(workspace, 0o755);
  writeFileSync(path.join(workspace, 'sum.js'), buggy);
  writeFileSync(path.join(workspace, 'test.js'), testJs);
  writeFileSync(path.join(workspace, 'README.md'), '# calc\n');
  const pulumi = await makePulumiWorkspace(mcpProgram, workspace);
  session = await openBrowserSession({
    pulumiCliRoot: pulumiStandInRoot,
    settings: { workspace, pulumiBackendUrl: pulumi.backendUrl, pulumiProjectDir: 'infra' },
    viewport: { width: 1600, height: 1000 },
    env: { SOPHIA_LOG_LEVEL: 'info' },
  });
  ({ model, app, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
});

async function ask(text: string): Promise<void> {
  await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 60_000 }).toBe(0);
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
}

async function approveCard(operation: RegExp): Promise<void> {
  const card = page.getByTestId('approval-card').filter({ hasText: operation });
  await card.first().waitFor({ timeout: 90_000 });
  const approvalId = await card.first().getAttribute('data-approval-id');
  await card.first().getByRole('button', { name: 'Approve', exact: true }).click();
  await page.locator(`[data-testid="approval-card"][data-approval-id="${approvalId}"]`).waitFor({ state: 'detached', timeout: 30_000 });
}

async function proposalShown(summary: string) {
  const proposal = page.getByTestId('proposal');
  await expect.poll(() => proposal.getByTestId('proposal-summary').innerText().catch(() => ''), { timeout: 60_000 }).toBe(summary);
  await proposal.locator('.monaco-diff-editor').first().waitFor({ timeout: 30_000 });
  return proposal;
}

const toolCalls = (name: string) => page.getByTestId('tool-call').filter({ hasText: name });

/** Counts straight from the audit database, with SQL written here, apart from the app's code. */
function countsFromAuditDb() {
  const db = new Database(path.join(app.dataDir, 'audit.db'), { readonly: true, fileMustExist: true });
  try {
    const one = (sql: string): number => (db.prepare(sql).pluck().get() as number | null) ?? 0;
    const card = `kind IN ('approval', 'refusal') AND json_extract(data, '$.card.answer')`;
    const diff = `json_extract(data, '$.card.diff') = 1`;
    const runs = `kind = 'tool.call' AND json_extract(data, '$.tool') = 'run_command' AND json_type(data, '$.ok') IN ('true', 'false')`;
    const started = `SELECT json_extract(data, '$.deploymentId') FROM audit_entries WHERE kind = 'infrastructure' AND json_extract(data, '$.planId') IS NOT NULL`;
    return {
      approved: one(`SELECT count(*) FROM audit_entries WHERE ${card} IN ('approve', 'approve-for-session') AND ${diff}`),
      modified: one(`SELECT count(*) FROM audit_entries WHERE ${card} = 'modify' AND ${diff}`),
      rejected: one(`SELECT count(*) FROM audit_entries WHERE ${card} = 'cancel' AND ${diff}`),
      answered: one(`SELECT count(*) FROM audit_entries WHERE ${card} IN ('approve', 'approve-for-session', 'modify', 'cancel')`),
      unanswered: one(`SELECT count(*) FROM audit_entries WHERE ${card} IN ('timeout', 'stopped')`),
      passed: one(`SELECT count(*) FROM audit_entries WHERE ${runs} AND json_extract(data, '$.ok') = 1`),
      failed: one(`SELECT count(*) FROM audit_entries WHERE ${runs} AND json_extract(data, '$.ok') = 0`),
      deployed: one(
        `SELECT count(DISTINCT json_extract(data, '$.deploymentId')) FROM audit_entries WHERE kind = 'infrastructure' AND json_extract(data, '$.status') = 'succeeded' AND json_extract(data, '$.deploymentId') IN (${started})`,
      ),
      troubleshooting: one(`SELECT count(*) FROM audit_entries WHERE kind = 'request' AND actor = 'agent' AND json_extract(data, '$.intent') = 'troubleshoot'`),
      calls: one(`SELECT count(*) FROM audit_entries WHERE kind = 'model.call'`),
      inputTokens: one(`SELECT sum(json_extract(data, '$.inputTokens')) FROM audit_entries WHERE kind = 'model.call'`),
      outputTokens: one(`SELECT sum(json_extract(data, '$.outputTokens')) FROM audit_entries WHERE kind = 'model.call'`),
      models: db.prepare(`SELECT DISTINCT json_extract(data, '$.model') FROM audit_entries WHERE kind = 'model.call'`).pluck().all() as string[],
      waits: db.prepare(`SELECT json_extract(data, '$.card.waitedMs') FROM audit_entries WHERE ${card} IN ('approve', 'approve-for-session', 'modify', 'cancel') ORDER BY 1`).pluck().all() as number[],
      fixAt: {
        request: one(`SELECT min(at) FROM audit_entries WHERE kind = 'request' AND actor = 'agent' AND json_extract(data, '$.intent') = 'troubleshoot'`),
        verified: one(`SELECT max(at) FROM audit_entries WHERE ${runs} AND json_extract(data, '$.ok') = 1`),
      },
    };
  } finally {
    db.close();
  }
}

const shown = async (id: string): Promise<number> => Number(await page.getByTestId(`metric-${id}`).getAttribute('data-value'));

describe('the Metrics panel over an audit log made by real agent runs', () => {
  it('troubleshoots, proposes, deploys; the panel and the CSV match counts taken independently from the audit log', async () => {
    onTestFailed(() => {
      process.stderr.write(`--- the app's log (tail) ---\n${app.log().slice(-30_000)}\n`);
    });

    // 1. Troubleshooting: reproduce (fails), a wrong fix rejected, a fix modified in the diff view, verification (passes).
    model.script(
      turn({ text: ['Running the test to see the failure.'], tools: [{ name: 'run_command', input: { command: 'node test.js' } }] }),
      turn({ text: ['Multiplying should do.'], tools: [{ name: 'propose_edit', input: { summary: 'Make sum multiply', files: [{ path: 'sum.js', content: 'module.exports = (a, b) => a * b;\n' }] } }] }),
      turn({ text: ['Then adding.'], tools: [{ name: 'propose_edit', input: { summary: 'Make sum add', files: [{ path: 'sum.js', content: 'module.exports = (a, b) => a + b + 0;\n' }] } }] }),
      turn({ text: ['Running the test again.'], tools: [{ name: 'run_command', input: { command: 'node test.js' } }] }),
      turn({ text: ['Noting it in the README.'], tools: [{ name: 'propose_edit', input: { summary: 'Document sum', files: [{ path: 'README.md', content: '# calc\n\n`sum(a, b)` adds.\n' }] } }] }),
      turn({ text: ['Fixed: sum adds, and the test passes.'] }),
    );
    await ask('the test fails with an error: debug it');
    await approveCard(/node test\.js/);
    await expect.poll(() => toolCalls('run_command').first().getAttribute('class'), { timeout: 90_000 }).toMatch(/tool-failed/);

    let proposal = await proposalShown('Make sum multiply');
    await proposal.getByTestId('proposal-cancel').click();
    // The next proposal may take this one's place in the Diff panel at once: the call's own card says how it ended.
    await expect.poll(() => toolCalls('Make sum multiply').first().innerText(), { timeout: 30_000 }).toMatch(/Cancelled by you/);

    proposal = await proposalShown('Make sum add');
    await proposal.getByTestId('proposal-modify').click();
    const line = proposal.locator('.editor.modified .view-line', { hasText: 'module.exports' });
    await line.click();
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.type('module.exports = (a, b) => a + b;');
    await expect.poll(() => proposal.locator('.editor.modified').innerText()).not.toContain('+ 0');
    await proposal.getByTestId('proposal-approve').click();
    await expect.poll(() => proposal.getByTestId('proposal-status').innerText(), { timeout: 30_000 }).toBe('Applied');
    expect(await readFile(path.join(workspace, 'sum.js'), 'utf8')).toBe('module.exports = (a, b) => a + b;\n');

    await approveCard(/node test\.js/);
    // The transcript is virtualised: the first run's card may be unmounted by now, so `nth(1)` would
    // not name the second run. The last run_command card mounted at the end of the list is the
    // second run once it exists (the first one failed, so it never reads as ok).
    await expect
      .poll(
        async () => {
          await page.getByTestId('message-list').evaluate((element) => (element.scrollTop = element.scrollHeight));
          return toolCalls('run_command').last().getAttribute('class', { timeout: 5000 });
        },
        { timeout: 90_000 },
      )
      .toMatch(/tool-ok/);

    proposal = await proposalShown('Document sum');
    await proposal.getByTestId('proposal-approve').click();
    await expect.poll(() => proposal.getByTestId('proposal-status').innerText(), { timeout: 30_000 }).toBe('Applied');
    // The transcript is virtualised and follows new messages only while it is scrolled to the end: go there first.
    await expect
      .poll(
        async () => {
          await page.getByTestId('message-list').evaluate((element) => (element.scrollTop = element.scrollHeight));
          return page.getByTestId('message-assistant').last().innerText();
        },
        { timeout: 60_000 },
      )
      .toContain('the test passes');

    // 2. A deployment: preview, then the approved plan deployed.
    model.script(turn({ text: ['Previewing staging.'], tools: [{ name: 'pulumi_preview', input: { stack: 'staging' } }] }), turn({ text: ['The plan creates the network. Deploy it?'] }));
    await ask('preview the staging stack and deploy it');
    await approveCard(/preview Pulumi stack staging/);
    await expect.poll(() => page.getByTestId('message-assistant').last().innerText(), { timeout: 60_000 }).toContain('Deploy it?');
    const planId = app.events.flatMap((event) => (event.type === 'deployment.plan' ? [(event.plan as DeploymentPlan).deploymentId] : [])).at(-1);
    expect(planId).toBeTruthy();
    model.script(turn({ text: ['Deploying.'], tools: [{ name: 'pulumi_up', input: { stack: 'staging', planId } }] }), turn({ text: ['Staging is deployed.'] }));
    await ask('yes, deploy it');
    await approveCard(/deploy Pulumi stack staging/);
    await expect.poll(() => page.getByTestId('message-assistant').last().innerText(), { timeout: 90_000 }).toContain('Staging is deployed');
    await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 60_000 }).toBe(0);
    expect(model.violations).toEqual([]);

    // 3. Counts taken independently: what the test did, and the audit database read with SQL.
    const counted = countsFromAuditDb();
    expect(counted).toMatchObject({ approved: 1, modified: 1, rejected: 1, answered: 7, unanswered: 0, passed: 1, failed: 1, deployed: 1, troubleshooting: 1 });
    expect(counted.calls).toBe(model.requests.length);
    expect(counted.inputTokens).toBe(model.requests.length * turnTokens.inputTokens);
    expect(counted.outputTokens).toBe(model.requests.length * turnTokens.outputTokens);
    expect(counted.models).toHaveLength(1);

    // 4. The panel.
    await page.getByTestId('open-metrics').click();
    const panel = page.getByTestId('metrics-panel');
    await panel.getByTestId('metrics-table').waitFor({ timeout: 30_000 });
    const figures = {
      approved: await shown('proposals-approved'),
      modified: await shown('proposals-modified'),
      rejected: await shown('proposals-rejected'),
      answered: await shown('approvals-answered'),
      unanswered: await shown('approvals-unanswered'),
      passed: await shown('tests-passed'),
      failed: await shown('tests-failed'),
      deployed: await shown('deployments-succeeded'),
      troubleshooting: await shown('troubleshooting-requests'),
      calls: await shown('model-calls'),
      inputTokens: await shown('input-tokens'),
      outputTokens: await shown('output-tokens'),
    };
    const { models, waits, fixAt, ...counts } = counted;
    expect(figures).toEqual(counts);
    // Cost and tokens against a second record kept apart from the audit log: the conversations' own usage (the status bar's figures).
    const { conversations } = await app.request('conversation.list', {});
    const stored = conversations.reduce((sum, c) => ({ cost: sum.cost + c.usage.costUsd, input: sum.input + c.usage.inputTokens }), { cost: 0, input: 0 });
    expect(stored.cost).toBeGreaterThan(0);
    expect(await shown('cost')).toBeCloseTo(stored.cost, 6);
    expect(figures.inputTokens).toBe(stored.input);
    expect(await shown('troubleshooting-fixed')).toBe(1);
    expect(await shown('deployments-failed')).toBe(0);
    expect(await panel.getByTestId('metrics-accuracy').innerText()).toMatch(/^33\.3 % of the code proposals you answered were approved as they were \(1 of 3\)\. That share is the honest measure of code-generation accuracy/);
    // The durations: the fix took from the troubleshooting request to the passing run; the waits' median from the entries.
    expect(Number(await panel.getByTestId('metric-time-to-fix').getAttribute('data-median'))).toBe(fixAt.verified - fixAt.request);
    const middle = Math.floor(waits.length / 2);
    expect(Number(await panel.getByTestId('metric-approval-wait').getAttribute('data-median'))).toBe(waits.length % 2 ? waits[middle] : (waits[middle - 1]! + waits[middle]!) / 2);
    // By day: one row, today (in the browser's time zone), holding everything.
    expect(await panel.getByTestId('metrics-row').count()).toBe(1);
    expect(await panel.locator('canvas').count()).toBe(5);
    await screenshot(page, 'metrics-panel');

    // By workspace and by model: the one workspace and the stand-in's model.
    await panel.getByTestId('metrics-group').selectOption('workspace');
    await expect.poll(() => panel.getByTestId('metrics-row').first().getAttribute('data-key')).toBe(workspace);
    expect(await panel.getByTestId('metrics-row').count()).toBe(1);
    await panel.getByTestId('metrics-group').selectOption('model');
    await expect.poll(() => panel.getByTestId('metrics-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')))).toEqual(
      // Deployments name no conversation, so they are under (unknown) when grouped by model.
      ['(unknown)', models[0]],
    );

    // 5. The CSV export: the totals row holds the same counts.
    await panel.getByTestId('metrics-group').selectOption('day');
    const download = page.waitForEvent('download');
    await panel.getByTestId('metrics-csv').click();
    const saved = await (await download).path();
    const lines = (await readFile(saved, 'utf8')).trimEnd().split('\r\n');
    const header = lines[0]!.split(',');
    const total = Object.fromEntries(lines.at(-1)!.split(',').map((cell, i) => [header[i], cell]));
    expect(lines).toHaveLength(3);
    expect(total).toMatchObject({
      group: 'TOTAL',
      proposals_approved_unmodified: String(counts.approved),
      proposals_modified: String(counts.modified),
      proposals_rejected: String(counts.rejected),
      test_runs_passed: String(counts.passed),
      test_runs_failed: String(counts.failed),
      deployments_succeeded: String(counts.deployed),
      troubleshooting_requests: String(counts.troubleshooting),
      troubleshooting_fixed: '1',
      approvals_answered: String(counts.answered),
      model_calls: String(counts.calls),
      input_tokens: String(counts.inputTokens),
      output_tokens: String(counts.outputTokens),
    });
    // The export itself is audited.
    const db = new Database(path.join(app.dataDir, 'audit.db'), { readonly: true });
    expect(db.prepare(`SELECT count(*) FROM audit_entries WHERE kind = 'request' AND json_extract(data, '$.channel') = 'metrics.csv'`).pluck().get()).toBe(1);
    db.close();
    // Two sandbox runs, Pulumi's first load and a deployment: minutes on a loaded 2-core machine.
  }, 480_000);

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
