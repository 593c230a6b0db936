/**
 * The built app (`out/main/serve.js`, what `npm run serve` runs) in real Chromium: type a
 * message and see it, see the Monaco diff view of a proposed change, press Stop and Resume.
 */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendererDir } from '../support/hostFixture';
import { employeesSql, makeWorkspace } from '../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import type { ServedApp } from '../support/servedApp';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

let session: BrowserSession;
let app: ServedApp;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;

beforeAll(async () => {
  if (!existsSync(`${rendererDir}/index.html`)) throw new Error('out/renderer is missing: run `npm run build` first (npm test does).');
  // No Anthropic key yet: the first message gets the app's own notice.
  session = await openBrowserSession({ secrets: { 'anthropic-api-key': undefined }, viewport: { width: 1400, height: 860 } });
  ({ app, model, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
});

describe('Sophia in Chromium through the browser host', () => {
  it('connects with the token from the fragment, then hides it from the address bar', async () => {
    await page.getByText('Connected', { exact: true }).waitFor();
    expect(page.url()).not.toContain(app.token);
    await expect.poll(() => page.getByTestId('status-bar').innerText()).toContain('Browser mode');
  });

  it('sends a typed message and shows it, rendered as markdown', async () => {
    const input = page.getByTestId('composer-input');
    await input.fill('Please **review** the `employees` table');
    await input.press('Enter');
    const userMessage = page.getByTestId('message-user');
    await userMessage.waitFor();
    expect(await userMessage.locator('strong').innerText()).toBe('review');
    expect(await userMessage.locator('code').innerText()).toBe('employees');
    // The main process answered with its notice, pushed as an event.
    await page.getByTestId('message-system').waitFor();
    expect(await input.inputValue()).toBe('');
  });

  it('renders the Monaco diff view from the local bundle', async () => {
    // The key goes in through the Credentials channel; the scripted model proposes the change.
    await app.request('secrets.set', { name: 'anthropic-api-key', value: 'sk-ant-e2e' });
    await app.request('settings.set', { workspace: await makeWorkspace() });
    const content = employeesSql.replace('name VARCHAR(100),', 'name VARCHAR(200) NOT NULL,\n  email VARCHAR(320) UNIQUE,');
    model.script({ kind: 'stream', events: anthropicTurn({ tools: [{ name: 'propose_edit', input: { summary: 'Widen name, add email', files: [{ path: 'sql/employees.sql', content }] } }] }) });
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
    const input = page.getByTestId('composer-input');
    await input.fill('widen the name column and add an email column to employees');
    await input.press('Enter');
    const diff = page.getByTestId('diff-panel').locator('.monaco-diff-editor');
    await diff.waitFor({ timeout: 30_000 });
    // Both sides are drawn, and the added lines are marked as inserts.
    await page.locator('.monaco-diff-editor .line-insert, .monaco-diff-editor .char-insert').first().waitFor();
    await expect.poll(() => page.locator('.monaco-diff-editor .view-line').count()).toBeGreaterThan(6);
  });

  it('shows the Stop button, and the screenshot holds all three', async () => {
    const stop = page.getByTestId('stop-button');
    expect(await stop.isVisible()).toBe(true);
    expect(await stop.innerText()).toContain('Stop');
    await screenshot(page, 'chat-diff-stop');
  });

  it('stops everything with one click and resumes', async () => {
    await page.getByTestId('stop-button').click();
    // The banner shows at once ("Stopping…"), then the main process's report.
    await page.getByText('Everything is stopped').waitFor();
    expect((await app.request('app.status', {})).locked).toBe(true);
    expect(await page.getByTestId('composer-input').getAttribute('placeholder')).toContain('Stopped');
    await screenshot(page, 'stopped');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('stop-banner').waitFor({ state: 'detached' });
    expect((await app.request('app.status', {})).locked).toBe(false);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
