/**
 * The built renderer, in real Chromium, against the browser host and the real main-process
 * services: type a message and see it, see the Monaco diff view, press Stop.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendererDir, startHost } from '../support/hostFixture';
import { employeesSql, makeWorkspace } from '../support/agentFixture';
import { launchChromium, screenshot, watchPage, type PageProblems } from './support/chromium';
import type { BrowserHost } from '../../electron/host/browserHost';
import type { SophiaCore } from '../../electron/core/sophiaCore';

let browser: Browser;
let host: BrowserHost;
let core: SophiaCore;
let page: Page;
let watched: PageProblems;

beforeAll(async () => {
  if (!existsSync(`${rendererDir}/index.html`)) throw new Error('out/renderer is missing: run `npm run build` first (npm test does).');
  ({ core, host } = await startHost());
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  watched = watchPage(page);
  await page.goto(host.url);
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
});

describe('Sophia in Chromium through the browser host', () => {
  it('connects with the token from the fragment, then hides it from the address bar', async () => {
    await page.getByText('Connected', { exact: true }).waitFor();
    expect(page.url()).not.toContain(host.token);
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
    // A proposed change, put through the registry and the approval gate as the agent would.
    core.settings.update({ workspace: await makeWorkspace() });
    const content = employeesSql.replace('name VARCHAR(100),', 'name VARCHAR(200) NOT NULL,\n  email VARCHAR(320) UNIQUE,');
    void core.registry.invoke('propose_edit', { summary: 'Widen name, add email', files: [{ path: 'sql/employees.sql', content }] }, { conversationId: 'app-e2e', callId: 'c1', signal: new AbortController().signal });
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
    expect(core.stop.locked).toBe(true);
    expect(await page.getByTestId('composer-input').getAttribute('placeholder')).toContain('Stopped');
    await screenshot(page, 'stopped');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('stop-banner').waitFor({ state: 'detached' });
    expect(core.stop.locked).toBe(false);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
