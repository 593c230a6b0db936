/**
 * Log sources in the built app, in Chromium: the person adds a log file outside the
 * workspace in Settings → Log sources (a missing file and a file inside the workspace are
 * refused beside the field first), then a scripted model calls read_logs on it; the person
 * approves the low-risk card, and the lines it read show in the chat with a keychain value
 * cut. The value reaches neither the model nor the page; the channel and the call are audited.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace } from '../support/agentFixture';
import { anthropicTurn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

const secret = 'E2e-Canary-Pass-9931';
let session: BrowserSession;
let page: Page;
let watched: PageProblems;
let workspace: string;
let logs: string;

const isoAgo = (minutes: number): string => new Date(Date.now() - minutes * 60_000).toISOString();

beforeAll(async () => {
  workspace = await makeWorkspace();
  logs = await mkdtemp(path.join(tmpdir(), 'sophia-e2e-logs-'));
  await writeFile(
    path.join(logs, 'sync.log'),
    [
      `${isoAgo(180)} INFO notion sync started`,
      `${isoAgo(30)} INFO notion sync started`,
      `${isoAgo(29)} ERROR notion GET /v1/databases/abc/query -> 429 Too Many Requests (Retry-After: 2) auth=${secret}`,
      `${isoAgo(28)} ERROR notion sync aborted: 1 of 3 pages fetched`,
      `${isoAgo(27)} INFO notion sync ended`,
    ].join('\n') + '\n',
  );
  session = await openBrowserSession({ settings: { workspace }, secrets: { 'snowflake-password': secret } });
  ({ page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await rm(logs, { recursive: true, force: true });
  await rm(workspace, { recursive: true, force: true });
});

describe('log sources and read_logs, in Chromium', () => {
  it('adds a log file outside the workspace in Settings; a missing file and a workspace file are refused beside the field', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('button', { name: 'Log sources' }).click();
    const section = page.getByTestId('settings-log-sources');
    await section.waitFor();
    await section.getByLabel('Name').fill('notion-sync');
    await section.getByRole('radio', { name: /File or folder/ }).check();
    const pathField = section.getByLabel('Path of the log file or folder');

    await pathField.fill(path.join(logs, 'missing.log'));
    await section.getByRole('button', { name: 'Add log source' }).click();
    await expect.poll(() => section.getByTestId('log-source-path-error').innerText()).toContain('does not exist');
    expect(await pathField.getAttribute('aria-invalid')).toBe('true');

    await pathField.fill(path.join(workspace, 'README.md'));
    await section.getByRole('button', { name: 'Add log source' }).click();
    await expect.poll(() => section.getByTestId('log-source-path-error').innerText()).toContain('inside the workspace');
    await screenshot(page, 'settings-log-sources-refused');

    await pathField.fill(path.join(logs, 'sync.log'));
    await section.getByRole('button', { name: 'Add log source' }).click();
    await section.getByTestId('log-source-notion-sync').waitFor();
    expect(await section.getByTestId('log-source-notion-sync').innerText()).toContain(path.join(logs, 'sync.log'));
    expect(await section.getByTestId('log-source-path-error').count()).toBe(0);
    await screenshot(page, 'settings-log-sources');
    expect(await session.app.request('logSources.list', {})).toEqual({ sources: [{ name: 'notion-sync', kind: 'file', path: path.join(logs, 'sync.log') }] });
    await page.getByRole('button', { name: 'Close' }).first().click();
  });

  it('a scripted model reads it with read_logs; approved, the matching lines show in the chat with the secret cut', async () => {
    session.model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Reading the sync log first.'], tools: [{ name: 'read_logs', input: { source: 'notion-sync', since: '1h', grep: 'ERROR|429' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The sync hit a 429 from Notion and gave up after the first page.'] }) },
    );
    const input = page.getByTestId('composer-input');
    await input.fill('The Notion sync is failing, please investigate');
    await input.press('Enter');

    const card = page.getByTestId('approval-card');
    await card.waitFor();
    expect(await card.innerText()).toMatch(/read_logs[\s\S]*low/);
    await card.getByRole('button', { name: 'Approve', exact: true }).click();

    const tool = page.getByTestId('tool-call').filter({ hasText: 'read_logs' });
    await tool.waitFor();
    await expect.poll(() => tool.innerText()).toMatch(/read_logs[\s\S]*ok/);
    // The person opens the call to read what it returned.
    await tool.getByRole('button', { expanded: false }).click();
    const output = await tool.getByTestId('tool-output').innerText();
    expect(output).toContain('Log source: notion-sync (file; file');
    expect(output).toContain('Lines: 2 matched, 2 returned (tail 200)');
    expect(output).toContain('429 Too Many Requests (Retry-After: 2) auth=[redacted:snowflake-password]');
    expect(output).toContain('ERROR notion sync aborted: 1 of 3 pages fetched');
    expect(output).not.toContain('INFO notion sync started');
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
    expect(await page.getByTestId('message-assistant').last().innerText()).toContain('The sync hit a 429 from Notion');
    await screenshot(page, 'chat-read-logs');

    // The model read the lines, never the value; nor does the page hold it.
    const second = JSON.stringify(session.model.requests[1]?.body.messages);
    expect(second).toContain('429 Too Many Requests');
    expect(JSON.stringify(session.model.requests)).not.toContain(secret);
    expect(await page.content()).not.toContain(secret);
  });

  it('audits the channel and the call', async () => {
    const requests = await session.app.request('audit.query', { kind: 'request', limit: 200 });
    expect(requests.entries.map((entry) => entry.summary)).toContain('logSources.save requested');
    const calls = await session.app.request('audit.query', { kind: 'tool.call', limit: 200 });
    expect(calls.entries.some((entry) => entry.summary === 'read_logs ran: ok' && entry.risk === 'low')).toBe(true);
    expect(JSON.stringify(requests)).not.toContain(secret);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
