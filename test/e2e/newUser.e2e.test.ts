/**
 * What a new user met, in the built app in Chromium (issue 18): a notice without a key offers
 * Credentials & role and Retry; "Thinking…" goes once the answer streams; a code block copies
 * to the clipboard; conversations get unique titles, are renamed and deleted (confirmed,
 * audited); the Git tab says "no remote" and what to do; opening and leaving Monaco diffs
 * raises no "TextModel got disposed" error; the Stop banner counts what it stopped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace } from '../support/agentFixture';
import { rendererDir } from '../support/hostFixture';
import type { ServedApp } from '../support/servedApp';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

let session: BrowserSession;
let app: ServedApp;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let workspace: string;

const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: workspace, stdio: 'pipe' });

beforeAll(async () => {
  if (!existsSync(`${rendererDir}/index.html`)) throw new Error('out/renderer is missing: run `npm run build` first (npm test does).');
  // A repository with one commit and no remote, and a change to diff.
  workspace = await makeWorkspace();
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'first');
  await writeFile(path.join(workspace, 'sql', 'employees.sql'), '-- changed\nCREATE TABLE employees (id INT);\n');
  // No Anthropic key yet: the first message gets the credentials notice. Two warm sandboxes for Stop to end.
  session = await openBrowserSession({ secrets: { 'anthropic-api-key': undefined }, settings: { workspace }, env: { SOPHIA_SANDBOX_POOL_SIZE: '2' }, viewport: { width: 1500, height: 900 } });
  ({ app, model, page, watched } = session);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(app.url).origin });
}, 120_000);

afterAll(async () => {
  await session?.close();
});

async function send(text: string): Promise<void> {
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
}

describe('a new user in the built app', () => {
  it('a missing key is a notice with "Open Credentials & role" and Retry, and Retry answers once the key is set', async () => {
    await send('Fix tests');
    const notice = page.getByTestId('message-system');
    await notice.getByTestId('notice-actions').waitFor();
    expect(await notice.getByTestId('notice-actions').getAttribute('data-kind')).toBe('credentials');
    await notice.getByRole('button', { name: 'Open Credentials & role' }).click();
    await page.getByRole('complementary', { name: 'Credentials and role' }).waitFor();
    await screenshot(page, 'newuser-notice-actions');
    await page.getByRole('button', { name: 'Close' }).click();

    await app.request('secrets.set', { name: 'anthropic-api-key', value: 'sk-ant-e2e' });
    const code = 'npm test -- --run';
    const chunks = ['Run the tests ', 'like this:\n\n', '```sh\n', `${code}\n`, '```\n\n', ...Array.from({ length: 30 }, (_, i) => `Step ${i + 1} of the explanation. `)];
    model.script({ kind: 'stream', events: anthropicTurn({ thinking: ['Reading the request.'], text: chunks }), intervalMs: 120 });
    await notice.getByRole('button', { name: 'Retry' }).click();

    // While the answer streams, the status line no longer says "Thinking…" (Cancel stays).
    const answer = page.getByTestId('message-assistant');
    await answer.getByText('Step 3 of the explanation.').waitFor();
    const status = page.getByTestId('agent-status');
    expect(await status.count()).toBe(1);
    expect(await status.innerText()).not.toContain('Thinking');
    expect(await status.getByRole('button', { name: 'Cancel' }).count()).toBe(1);
    await screenshot(page, 'newuser-streaming-without-thinking');
    await status.waitFor({ state: 'detached' });
    // Retry asked again from the stored message: the user's message is there once.
    expect(await page.getByTestId('message-user').count()).toBe(1);
    expect(model.requests.at(-1)!.body.messages.filter((message) => message.role === 'user')).toHaveLength(1);

    // The code block's Copy button writes its text to the clipboard and says so.
    const copy = answer.getByTestId('code-copy');
    await copy.click();
    await expect.poll(() => copy.getAttribute('data-state')).toBe('copied');
    expect(await copy.innerText()).toBe('Copied');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(code);
    await screenshot(page, 'newuser-code-copied');
  });

  it('gives conversations unique titles, renames one and deletes one after a confirmation (audited)', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ text: ['Again.'] }) });
    await page.getByRole('button', { name: '+ New chat' }).click();
    await send('Fix tests');
    const list = page.getByTestId('conversation-list');
    await list.getByText('Fix tests (2)', { exact: true }).waitFor();
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);

    await list.getByRole('button', { name: 'Rename “Fix tests (2)”' }).click();
    const input = list.getByTestId('conversation-title-input');
    await input.fill('Flaky payroll test');
    await input.press('Enter');
    await list.getByText('Flaky payroll test', { exact: true }).waitFor();
    expect((await app.request('conversation.list', {})).conversations.map((c) => c.title).sort()).toEqual(['Fix tests', 'Flaky payroll test']);

    await list.getByRole('button', { name: 'Delete “Flaky payroll test”' }).click();
    const confirm = list.getByTestId('conversation-confirm');
    await confirm.waitFor();
    await screenshot(page, 'newuser-delete-confirmation');
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await list.getByText('Flaky payroll test', { exact: true }).waitFor({ state: 'detached' });
    expect((await app.request('conversation.list', {})).conversations.map((c) => c.title)).toEqual(['Fix tests']);
    // The chat that showed it is cleared, and the audit log records the deletion.
    expect(await page.getByTestId('message-assistant').count()).toBe(0);
    const audited = (await app.request('audit.query', { kind: 'conversation' })).entries;
    expect(audited).toHaveLength(1);
    expect(audited[0]!.summary).toContain('"Flaky payroll test" deleted');
  });

  it('the Git tab says "no remote" and what to do, and opening and leaving a diff raises no Monaco dispose error', async () => {
    await page.getByTestId('tab-git').click();
    await expect.poll(() => page.getByTestId('git-tracking').innerText()).toBe('no remote');
    expect(await page.getByTestId('git-no-remote').innerText()).toContain('git remote add origin');
    for (let round = 0; round < 3; round += 1) {
      await page.getByTestId('git-files').getByRole('button', { name: /employees\.sql/ }).click();
      await page.getByTestId('git-diff').locator('.monaco-diff-editor').waitFor({ timeout: 30_000 });
      await page.locator('.monaco-diff-editor .view-line').first().waitFor();
      if (round === 0) await screenshot(page, 'newuser-git-no-remote');
      // Leave the diff: another tab unmounts the panel and its editor.
      await page.getByTestId('tab-log').click();
      await page.getByTestId('git-panel').waitFor({ state: 'detached' });
      await page.getByTestId('tab-git').click();
    }
    expect(watched.problems.filter((problem) => problem.includes('disposed'))).toEqual([]);

    // With a push address in Settings the repository has somewhere to go: not "no remote".
    await app.request('settings.set', { gitRemoteUrl: 'https://git.example.test/team/payroll.git' });
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.getByTestId('git-tracking').innerText()).toBe('not pushed (to the address in Settings)');
    expect(await page.getByTestId('git-no-remote').count()).toBe(0);
    await app.request('settings.set', { gitRemoteUrl: '' });
  });

  it('the Stop banner says what was stopped, grouped and counted', async () => {
    // The warm pool fills once the app has answered a tab.
    await expect.poll(async () => (await app.request('sandbox.status', {})).pool.warm, { timeout: 90_000, interval: 500 }).toBe(2);
    await page.getByTestId('stop-button').click();
    const summary = page.getByTestId('stop-summary');
    await summary.waitFor();
    expect(await summary.innerText()).toContain('Stopped: 2 warm sandboxes');
    expect(await summary.innerText()).not.toMatch(/container warm sandbox/);
    await screenshot(page, 'newuser-stop-banner');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByTestId('stop-banner').waitFor({ state: 'detached' });
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
