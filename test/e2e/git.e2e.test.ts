/**
 * Git and GitHub in Chromium, against the browser host and the real core: the commit author
 * and the GitHub API address are set in the Settings panel; the user asks to "commit to
 * feature/add-phone-number and open a PR"; a scripted model (the real Anthropic SDK against its
 * loopback stand-in) calls the real git tools; the person approves each card; the commit is
 * pushed to a real git server (git http-backend, basic auth) and the pull request opened through
 * @octokit/rest against the GitHub stand-in; the chat shows the pull request's link.
 */
import { openBrowserSession, type BrowserSession } from './support/session';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServedApp } from '../support/servedApp';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { gitCli, gitCliAsync, startGitHttpServer, type GitHttpServer } from '../support/standIns/gitHttpServer';
import { startGithubStandIn, type GithubStandIn } from '../support/standIns/githubStandIn';
import { screenshot, type PageProblems } from './support/chromium';

const token = 'ghp_e2eGitToken0123456789abcdefghijklm';
let app: ServedApp;
let model: AnthropicStandIn;
let gitServer: GitHttpServer;
let github: GithubStandIn;
let page: Page;
let watched: PageProblems;
let workspace: string;

let session: BrowserSession;
beforeAll(async () => {
  gitServer = await startGitHttpServer({ password: token });
  gitServer.createRepository('acme', 'payroll');
  github = await startGithubStandIn({ token });
  workspace = mkdtempSync(path.join(tmpdir(), 'sophia-e2e-git-'));
  const basic = Buffer.from(`x:${token}`).toString('base64');
  await gitCliAsync(workspace, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'clone', '--quiet', gitServer.urlOf('acme', 'payroll'), '.');
  // The token goes into the real keychain through the Credentials channel, as the panel sends it.
  session = await openBrowserSession({ secrets: { 'github-token': token }, settings: { workspace } });
  ({ model, app, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await gitServer?.close();
  await github?.close();
});

const prBody = '## Summary\nAdds `phone` to employees.\n\n## Review findings\nNone blocking.\n\n## Tests\n12 passed.';

describe('git and GitHub in Chromium', () => {
  it('takes the commit author, the remote and the GitHub API address from the Settings panel', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const git = page.getByTestId('settings-git');
    await git.getByLabel('Commit author name').fill('Ada Lovelace');
    await git.getByLabel('Commit author email').fill('ada@example.com');
    await git.getByLabel('Push to (HTTPS remote URL)').fill(gitServer.urlOf('acme', 'payroll'));
    await git.getByLabel('GitHub repository (owner/name)').fill('acme/payroll');
    await git.getByLabel('GitHub API address').fill(github.baseURL);
    await screenshot(page, 'settings-git');
    await git.getByRole('button', { name: 'Save git' }).click();
    await page.getByText('Saved.').waitFor();
    expect(await app.request('settings.get', {})).toMatchObject({
      gitAuthorName: 'Ada Lovelace',
      gitAuthorEmail: 'ada@example.com',
      gitRemoteUrl: gitServer.urlOf('acme', 'payroll'),
      githubRepository: 'acme/payroll',
      githubApiUrl: github.baseURL,
    });
    // A bad email is stopped by the form before it is sent (the main process's schema would
    // refuse it too), and nothing changes.
    const email = page.getByTestId('settings-git').getByLabel('Commit author email');
    await email.fill('not an email');
    await git.getByRole('button', { name: 'Save git' }).click();
    expect(await email.evaluate((input) => (input as unknown as { validity: { valid: boolean } }).validity.valid)).toBe(false);
    const sent = await app.send('settings.set', { gitAuthorEmail: 'not an email' });
    expect(sent).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringMatching(/gitAuthorEmail/) } });
    expect((await app.request('settings.get', {})).gitAuthorEmail).toBe('ada@example.com');
    await page.getByRole('button', { name: 'Close' }).first().click();
  });

  it('commits to feature/add-phone-number and opens a PR after approval; the chat shows the link', async () => {
    writeFileSync(path.join(workspace, 'phone.sql'), 'ALTER TABLE employees ADD phone VARCHAR(20);\n');
    writeFileSync(path.join(workspace, 'scratch.txt'), 'not approved, not committed\n');
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Let me look at the changes.'], tools: [{ name: 'git_status', input: {} }] }) },
      {
        kind: 'stream',
        events: anthropicTurn({ tools: [{ name: 'git_commit', input: { branch: 'feature/add-phone-number', message: 'Add phone number to employees', paths: ['phone.sql'] } }] }),
      },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'git_push', input: { branch: 'feature/add-phone-number' } }] }) },
      {
        kind: 'stream',
        events: anthropicTurn({
          tools: [{ name: 'github_open_pull_request', input: { title: 'Add phone number to employees', body: prBody, head: 'feature/add-phone-number', base: 'main' } }],
        }),
      },
      { kind: 'stream', events: anthropicTurn({ text: ['Opened the pull request.'] }) },
    );
    const input = page.getByTestId('composer-input');
    await input.fill('commit to feature/add-phone-number and open a PR');
    await input.press('Enter');

    // Three cards, one at a time: the commit, the push, the pull request.
    const seen: string[] = [];
    for (const expected of [/commit/i, /push/i, /pull request/i]) {
      const card = page.getByTestId('approval-card');
      await card.waitFor();
      const text = await card.innerText();
      expect(text).toMatch(expected);
      seen.push(text);
      if (seen.length === 1) await screenshot(page, 'git-approval-commit');
      // This card, by its approval id: the next card may take its place before this one is seen to go.
      const approvalId = await card.getAttribute('data-approval-id');
      await card.getByRole('button', { name: 'Approve', exact: true }).click();
      await page.locator(`[data-approval-id="${approvalId}"]`).waitFor({ state: 'detached' });
    }
    expect(seen[0]).toContain('feature/add-phone-number');

    const link = page.getByTestId('pull-request-link');
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe('https://github.test/acme/payroll/pull/1');
    expect(await link.innerText()).toBe('#1 Add phone number to employees');
    expect(await page.getByTestId('pull-request').innerText()).toMatch(/open[\s\S]*feature\/add-phone-number → main/i);
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
    await page.getByTestId('pull-request').scrollIntoViewIfNeeded();
    await screenshot(page, 'git-pull-request');

    // The server's repository has the branch and the commit with the author from Settings.
    const commit = gitServer.git('acme', 'payroll', 'rev-parse', 'refs/heads/feature/add-phone-number');
    expect(gitServer.git('acme', 'payroll', 'log', '-1', '--format=%an <%ae>|%s', commit)).toBe('Ada Lovelace <ada@example.com>|Add phone number to employees');
    expect(gitServer.git('acme', 'payroll', 'ls-tree', '--name-only', commit)).toBe('README.md\nphone.sql');
    expect(gitCli(workspace, 'status', '--porcelain')).toBe('?? scratch.txt');
    expect(github.pulls).toEqual([
      { number: 1, owner: 'acme', repo: 'payroll', head: 'feature/add-phone-number', base: 'main', title: 'Add phone number to employees', body: prBody, draft: false },
    ]);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
