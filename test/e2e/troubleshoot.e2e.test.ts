/**
 * "The Notion sync is failing, please investigate and fix", carried out in Chromium against the
 * built app with a scripted model (the Anthropic stand-in: it may call only tools offered in
 * each request). The fixture workspace holds a small sync script (Python, urllib) and its
 * tests; a loopback Notion stand-in answers 429 with Retry-After and then paginates; a log file
 * outside the workspace, added as a log source, shows the failures.
 *
 * The agent reads the log source; asks to run the sync with egress to the stand-in and with
 * NOTION_TOKEN (the card names both; the person approves); reproduces the failure in the
 * sandbox; reports its diagnosis (the quoted lines checked against what it read); proposes a
 * fix that only backs off, which the person turns down with "Try a different approach" and a
 * reason the model is then told; proposes backoff + pagination; the person clicks Apply fix;
 * the verification run (the fixture's tests, then the sync) passes. Then: the audit log holds
 * every proxy connection, and the token is in none of the model's requests, the chat, the
 * SQLite files or the app's log.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { startNotionStandIn, type NotionStandIn } from '../support/standIns/notionStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

const fixtureDir = path.resolve(import.meta.dirname, '../support/notionSync');
const token = 'secret_e2eNotion7f3a9c1d5b2e8f4a6c0d9e1b3a5f7c2d';
const request = 'The Notion sync is failing, please investigate and fix';

let notion: NotionStandIn;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let session: BrowserSession;
let workspace: string;
let logFile: string;
let grant: string;

/** The log the failing nightly runs left, outside the workspace. */
function failureLog(databaseId: string): string {
  return [
    '2026-12-01T02:00:00Z INFO notion-sync: starting (database ' + databaseId + ')',
    '2026-12-01T02:00:01Z ERROR notion-sync: HTTP 429 from the Notion API: {"object":"error","status":429,"code":"rate_limited","message":"You have been rate limited. Please try again in a few minutes."} (Retry-After: 1)',
    '2026-12-01T02:00:01Z ERROR notion-sync: sync failed with exit code 1',
    '2026-12-02T02:00:00Z INFO notion-sync: starting (database ' + databaseId + ')',
    '2026-12-02T02:00:01Z ERROR notion-sync: HTTP 429 from the Notion API: {"object":"error","status":429,"code":"rate_limited","message":"You have been rate limited. Please try again in a few minutes."} (Retry-After: 1)',
    '2026-12-02T02:00:01Z ERROR notion-sync: sync failed with exit code 1',
    '',
  ].join('\n');
}

const quoted = ['ERROR notion-sync: HTTP 429 from the Notion API: {"object":"error","status":429,"code":"rate_limited"', 'ERROR notion-sync: sync failed with exit code 1'];
const backoffOnly = readFileSync(path.join(fixtureDir, 'sync.py'), 'utf8').replace(
  '    with urllib.request.urlopen(request, timeout=30) as response:\n        return json.load(response)\n',
  '    for attempt in range(5):\n        try:\n            with urllib.request.urlopen(request, timeout=30) as response:\n                return json.load(response)\n        except urllib.error.HTTPError as error:\n            if error.code != 429 or attempt == 4:\n                raise\n            sleep(int(error.headers.get("Retry-After", "1")))\n',
);
const fixed = readFileSync(path.join(fixtureDir, 'fixed', 'sync.py'), 'utf8');
const rejection = 'Backing off is not enough: it still reads only the first page (3 of 7 tasks). Follow next_cursor too.';

beforeAll(async () => {
  // Two 429s: one for the reproduction, one for the verification, which must wait it out.
  notion = await startNotionStandIn({ token, pages: 7, rateLimitFirst: 2, retryAfterSeconds: 1 });
  grant = `127.0.0.1:${notion.port}`;
  workspace = mkdtempSync(path.join(tmpdir(), 'sophia-e2e-notion-'));
  cpSync(fixtureDir, workspace, { recursive: true, filter: (source) => !source.includes(`${path.sep}fixed`) && !source.includes('__pycache__') });
  writeFileSync(path.join(workspace, 'config.json'), `${JSON.stringify({ api_base: notion.baseURL, database_id: notion.databaseId }, null, 2)}\n`);
  chmodSync(workspace, 0o755);
  const logDir = mkdtempSync(path.join(tmpdir(), 'sophia-e2e-notion-logs-'));
  mkdirSync(logDir, { recursive: true });
  logFile = path.join(logDir, 'notion-sync.log');
  writeFileSync(logFile, failureLog(notion.databaseId));
  session = await openBrowserSession({ settings: { workspace }, viewport: { width: 1600, height: 1000 }, env: { SOPHIA_LOG_LEVEL: 'info' } });
  ({ model, page, watched } = session);
});

/** Where a person puts them, in Settings: the log file as a log source, the token as a run secret (into the keychain). */
async function setUpInSettings(): Promise<void> {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const logs = page.getByTestId('settings-log-sources');
  await logs.scrollIntoViewIfNeeded();
  await logs.getByLabel('Name').fill('notion-sync');
  await logs.getByRole('radio', { name: /File or folder/ }).check();
  await logs.getByLabel('Path of the log file or folder').fill(logFile);
  await logs.getByRole('button', { name: 'Add log source' }).click();
  await logs.getByTestId('log-source-notion-sync').waitFor();
  const secrets = page.getByTestId('settings-run-secrets');
  await secrets.scrollIntoViewIfNeeded();
  await secrets.getByLabel('Run secret name').fill('NOTION_TOKEN');
  await secrets.getByLabel('Run secret value').fill(token);
  await secrets.getByRole('button', { name: 'Save run secret' }).click();
  await expect.poll(() => secrets.getByTestId('run-secret-NOTION_TOKEN').innerText()).toContain('Set');
  await page.getByRole('button', { name: 'Close' }).first().click();
  await page.getByTestId('settings-run-secrets').waitFor({ state: 'detached' });
}

afterAll(async () => {
  await session?.close();
  await notion?.close();
});

async function approveCard(expected: readonly RegExp[]): Promise<string> {
  const card = page.getByTestId('approval-card');
  await card.waitFor({ timeout: 90_000 });
  const text = await card.innerText();
  for (const pattern of expected) expect(text).toMatch(pattern);
  const approvalId = await card.getAttribute('data-approval-id');
  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.locator(`[data-testid="approval-card"][data-approval-id="${approvalId}"]`).waitFor({ state: 'detached' });
  return text;
}

const step = (name: string) => page.locator(`[data-testid="flow-step"][data-step="${name}"]`);
const statusOf = (name: string) => step(name).getAttribute('data-status');

describe('troubleshooting reaches the failing system', () => {
  it('the Notion sync is failing, please investigate and fix', async () => {
    onTestFailed(() => {
      process.stderr.write(`--- the app's log (tail) ---\n${session.app.log().slice(-30_000)}\n`);
    });
    const run = (command: string) => ({ name: 'run_command', input: { command, egress: [grant], secrets: ['NOTION_TOKEN'] } });
    model.script(
      ...[
        { thinking: ['The sync fails: reading its log first.'], tools: [{ name: 'read_logs', input: { source: 'notion-sync', grep: 'notion-sync', tail: 50 } }] },
        { text: ['The log shows 429s. Reproducing against the API.'], tools: [run('python3 sync.py')] },
        { tools: [{ name: 'read_file', input: { path: 'sync.py' } }] },
        {
          tools: [
            {
              name: 'report_diagnosis',
              input: { cause: 'The sync gives up on the first 429 (rate_limited) instead of waiting the Retry-After the API sends.', evidence: [{ source: 'notion-sync', lines: [...quoted, 'ERROR notion-sync: token expired'] }] },
            },
          ],
        },
        { text: ['Here is a fix: wait and retry on 429.'], tools: [{ name: 'propose_edit', input: { summary: 'Wait Retry-After and retry on 429', files: [{ path: 'sync.py', content: backoffOnly }] } }] },
        // Told that the person rejected the diagnosis, and why: a second look.
        {
          tools: [
            {
              name: 'report_diagnosis',
              input: {
                cause: 'Two faults: the sync gives up on a 429 instead of waiting Retry-After, and it reads only the first page of results, ignoring has_more and next_cursor.',
                evidence: [{ source: 'notion-sync', lines: quoted }],
              },
            },
          ],
        },
        { text: ['Backoff and pagination, together.'], tools: [{ name: 'propose_edit', input: { summary: 'Back off on 429 and follow next_cursor', files: [{ path: 'sync.py', content: fixed }] } }] },
        { text: ['Applied; verifying with the tests and a real sync.'], tools: [run('python3 -m unittest -q && python3 sync.py')] },
        { text: ['Fixed: the sync waits out rate limits and now reads all 7 pages.'], tools: [] },
      ].map((turn) => ({ kind: 'stream' as const, events: anthropicTurn(turn) })),
    );

    await setUpInSettings();
    const input = page.getByTestId('composer-input');
    await input.fill(request);
    await input.press('Enter');
    await page.getByTestId('troubleshoot-flow').waitFor({ timeout: 30_000 });

    // 1. Evidence: the log source, read (low risk: the person approves it).
    await approveCard([/read_logs|notion-sync/]);
    await expect.poll(() => statusOf('evidence'), { timeout: 60_000 }).toBe('done');

    // 2. Reproduction: a high-risk card that names the host and the secret (never its value); the run fails with the 429.
    const grants = page.getByTestId('approval-card').getByTestId('approval-grants');
    await grants.waitFor({ timeout: 90_000 });
    expect(await grants.getByTestId('approval-grant-host').allInnerTexts()).toEqual([expect.stringContaining(grant)]);
    expect(await grants.getByTestId('approval-grant-secret').allInnerTexts()).toEqual([expect.stringContaining('NOTION_TOKEN')]);
    expect(await page.getByTestId('approval-card').getByTestId('approval-risk').innerText()).toMatch(/high|critical/i);
    await screenshot(page, 'troubleshoot-egress-card');
    const card = await approveCard([new RegExp(grant.replace(/\./g, '\\.')), /NOTION_TOKEN/]);
    expect(card).not.toContain(token);
    await expect.poll(() => statusOf('reproduction'), { timeout: 120_000 }).toBe('done');
    expect(await step('reproduction').innerText()).toMatch(/exit code 1/);
    await screenshot(page, 'troubleshoot-reproduction');

    // 3. Cause, with the quoted lines checked: the one never read is marked so.
    await expect.poll(() => statusOf('cause'), { timeout: 60_000 }).toBe('done');
    const quotes = step('evidence').getByTestId('flow-quote');
    await expect.poll(() => quotes.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-found')))).toEqual(['true', 'true', 'false']);
    expect(await step('evidence').innerText()).toContain('not found in what was read');

    // 4. The first fix: turned down with a reason.
    await expect.poll(() => page.getByTestId('flow-apply').isEnabled(), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('flow-different').click();
    await page.getByTestId('flow-reason').fill(rejection);
    await page.getByTestId('flow-reject').click();

    // The second diagnosis and fix; the earlier cause stays in view.
    await expect.poll(() => page.getByTestId('flow-cause').innerText(), { timeout: 60_000 }).toContain('Two faults');
    await expect.poll(() => page.getByTestId('flow-apply').isEnabled(), { timeout: 60_000 }).toBe(true);
    await expect.poll(() => step('fix').innerText()).toContain('Back off on 429 and follow next_cursor');
    await page.getByTestId('proposal').locator('.monaco-diff-editor :is(.line-insert, .char-insert)').first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'troubleshoot-fix');
    await page.getByTestId('flow-apply').click();
    await expect.poll(() => statusOf('fix'), { timeout: 30_000 }).toBe('done');
    expect(readFileSync(path.join(workspace, 'sync.py'), 'utf8')).toBe(fixed);

    // 5. Verification: approved like the reproduction, and it passes.
    await approveCard([new RegExp(grant.replace(/\./g, '\\.')), /NOTION_TOKEN/]);
    await expect.poll(() => statusOf('verification'), { timeout: 120_000 }).toBe('done');
    expect(await step('verification').innerText()).toMatch(/Exit code 0/);
    await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
    await screenshot(page, 'troubleshoot-verified');

    // Review details: evidence, commands and outputs side by side.
    await page.getByTestId('flow-details').click();
    const details = page.getByTestId('review-details');
    await details.waitFor();
    expect(await details.getByTestId('review-run').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-kind')))).toEqual(['reproduction', 'verification']);
    expect(await details.innerText()).toContain('synced 7 pages');
    await screenshot(page, 'troubleshoot-review-details');
    await page.getByTestId('review-details-close').click();

    // The scripted model called only what it was offered, and was told why its first fix was rejected.
    expect(model.violations).toEqual([]);
    expect(model.refusals).toEqual([]);
    const afterRejection = JSON.stringify(model.requests[5]?.body.messages.at(-1));
    expect(afterRejection).toContain('rejected your diagnosis');
    expect(afterRejection).toContain('Follow next_cursor too.');

    // The stand-in saw the 429, a wait of Retry-After, then every page (with the bearer token, through the proxy).
    expect(notion.requests.map((entry) => entry.status)).toEqual([429, 429, 200, 200, 200]);
    const [, limited, first] = notion.requests;
    expect(first!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    const served = notion.requests.filter((entry) => entry.status === 200);
    expect(served.map((entry) => (entry.body as { start_cursor?: string }).start_cursor !== undefined)).toEqual([false, true, true]);

    // The audit log holds every proxy connection (each urllib request is one), opened and closed.
    const egress = (await session.app.request('audit.query', { kind: 'egress', limit: 500 })).entries;
    const opened = egress.filter((entry) => entry.summary.startsWith('Egress opened') && entry.summary.includes(grant));
    const closedAgain = egress.filter((entry) => entry.summary.startsWith('Egress closed') && entry.summary.includes(grant));
    expect(opened).toHaveLength(notion.requests.length);
    expect(closedAgain).toHaveLength(notion.requests.length);
    expect(egress.filter((entry) => entry.summary.startsWith('Egress refused'))).toEqual([]);

    // No secret value in the model's requests, the chat, the database files or the app's log.
    expect(JSON.stringify(model.requests)).not.toContain(token);
    expect(await page.content()).not.toContain(token);
    expect(session.app.log()).not.toContain(token);
    const files = readdirSync(session.app.dataDir, { recursive: true, encoding: 'utf8' }).map((name) => path.join(session.app.dataDir, name));
    const dataFiles = files.filter((file) => statSync(file).isFile());
    expect(dataFiles.some((file) => /\.db$/.test(file))).toBe(true);
    for (const file of dataFiles) expect(readFileSync(file).includes(Buffer.from(token)), file).toBe(false);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
