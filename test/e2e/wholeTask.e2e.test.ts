/**
 * One conversation carries a whole task in Chromium: "the tests fail: fix it, then commit it
 * on a new branch and open a pull request". The scripted model (the real Anthropic SDK against
 * the current-API stand-in, thinking on: every turn opens with a signed thinking block that must
 * come back unchanged) posts its plan, runs the failing tests with run_command in a real Docker
 * sandbox, proposes the fix, the person approves it, the tests pass, and it commits, pushes to a
 * real git http-backend and opens the pull request on the GitHub stand-in. It calls only tools it
 * was offered: the stand-in refuses anything else. It runs against the built app
 * (out/main/serve.js), with the GitHub token stored through the Credentials channel.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { gitCli, gitCliAsync, startGitHttpServer, type GitHttpServer } from '../support/standIns/gitHttpServer';
import { startGithubStandIn, type GithubStandIn } from '../support/standIns/githubStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

const token = 'ghp_e2eWholeTask0123456789abcdefghijklm';
const buggy = 'module.exports = (a, b) => a - b;\n';
const fixed = 'module.exports = (a, b) => a + b;\n';
const testJs = "const assert = require('node:assert');\nconst sum = require('./sum.js');\nassert.strictEqual(sum(2, 3), 5);\nconsole.log('1 passed');\n";

let model: AnthropicStandIn;
let gitServer: GitHttpServer;
let github: GithubStandIn;
let page: Page;
let watched: PageProblems;
let workspace: string;
let session: BrowserSession;

beforeAll(async () => {
  gitServer = await startGitHttpServer({ password: token });
  gitServer.createRepository('acme', 'calc');
  github = await startGithubStandIn({ token });
  workspace = mkdtempSync(path.join(tmpdir(), 'sophia-e2e-task-'));
  // The sandbox runs commands as an unprivileged user, with the workspace mounted read-only.
  chmodSync(workspace, 0o755);
  const basic = Buffer.from(`x:${token}`).toString('base64');
  await gitCliAsync(workspace, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'clone', '--quiet', gitServer.urlOf('acme', 'calc'), '.');
  writeFileSync(path.join(workspace, 'sum.js'), buggy);
  writeFileSync(path.join(workspace, 'test.js'), testJs);
  gitCli(workspace, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'add', 'sum.js', 'test.js');
  gitCli(workspace, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'commit', '--quiet', '-m', 'Add sum with its test');
  session = await openBrowserSession({
    // The GitHub token goes where a person puts it: Credentials, into the real keychain.
    secrets: { 'github-token': token },
    settings: {
      workspace,
      gitAuthorName: 'Ada Lovelace',
      gitAuthorEmail: 'ada@example.com',
      gitRemoteUrl: gitServer.urlOf('acme', 'calc'),
      githubRepository: 'acme/calc',
      githubApiUrl: github.baseURL,
    },
    viewport: { width: 1600, height: 1000 },
  });
  ({ model, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await gitServer?.close();
  await github?.close();
});

const plan = (statuses: readonly ('pending' | 'done' | 'failed')[]) => ({
  steps: ['Run the failing tests', 'Fix the bug', 'Run the tests again', 'Commit on a new branch and open a pull request'].map((text, i) => ({ text, status: statuses[i] ?? 'pending' })),
});

async function approveCard(expected: RegExp): Promise<string> {
  const card = page.getByTestId('approval-card');
  await card.waitFor({ timeout: 90_000 });
  const text = await card.innerText();
  expect(text).toMatch(expected);
  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  await card.waitFor({ state: 'detached' });
  return text;
}

describe('a whole task in one conversation', () => {
  it('the tests fail: fix it, then commit it on a new branch and open a pull request', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ thinking: ['The tests fail; I will run them first to see why.'], tools: [{ name: 'update_plan', input: plan([]) }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'run_command', input: { command: 'node test.js' } }] }) },
      { kind: 'stream', events: anthropicTurn({ thinking: ['sum subtracts instead of adding: reading it.'], tools: [{ name: 'read_file', input: { path: 'sum.js' } }] }) },
      {
        kind: 'stream',
        events: anthropicTurn({ text: ['`sum` subtracts; here is the fix.'], tools: [{ name: 'update_plan', input: plan(['done']) }, { name: 'propose_edit', input: { summary: 'Make sum add', files: [{ path: 'sum.js', content: fixed }] } }] }),
      },
      { kind: 'stream', events: anthropicTurn({ thinking: ['The fix is applied; running the tests again.'], tools: [{ name: 'run_command', input: { command: 'node test.js' } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'update_plan', input: plan(['done', 'done', 'done']) }, { name: 'git_commit', input: { branch: 'fix/sum-adds', message: 'Make sum add', paths: ['sum.js'] } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'git_push', input: { branch: 'fix/sum-adds' } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'github_open_pull_request', input: { title: 'Make sum add', body: 'The test failed: sum subtracted.\n\n1 passed.', head: 'fix/sum-adds', base: 'main' } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'update_plan', input: plan(['done', 'done', 'done', 'done']) }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Fixed, committed on fix/sum-adds, and the pull request is open.'] }) },
    );
    const input = page.getByTestId('composer-input');
    await input.fill('the tests fail: fix it, then commit it on a new branch and open a pull request');
    await input.press('Enter');

    // The model's own plan, as a checklist.
    await expect.poll(() => page.getByTestId('plan-step').count(), { timeout: 30_000 }).toBe(4);

    // The failing run, in a real sandbox.
    await approveCard(/node test\.js/);
    const failed = page.getByTestId('tool-call').filter({ hasText: 'run_command' }).first();
    await expect.poll(() => failed.getAttribute('class'), { timeout: 90_000 }).toMatch(/tool-failed/);
    expect(await failed.getByTestId('tool-output').innerText()).toMatch(/AssertionError|Expected values to be strictly equal/);

    // The fix, approved by the person in the diff view.
    const proposal = page.getByTestId('proposal');
    await expect.poll(() => proposal.getByTestId('proposal-summary').innerText().catch(() => ''), { timeout: 30_000 }).toBe('Make sum add');
    await proposal.locator('.monaco-diff-editor :is(.line-insert, .char-insert, .line-delete, .char-delete)').first().waitFor({ timeout: 30_000 });
    await proposal.getByTestId('proposal-approve').click();
    await expect.poll(() => proposal.getByTestId('proposal-status').innerText(), { timeout: 30_000 }).toBe('Applied');

    // The tests pass, then the commit, the push and the pull request, each approved.
    await approveCard(/node test\.js/);
    await expect.poll(() => page.getByTestId('tool-call').filter({ hasText: 'run_command' }).nth(1).getAttribute('class'), { timeout: 90_000 }).toMatch(/tool-ok/);
    expect(await page.getByTestId('tool-call').filter({ hasText: 'run_command' }).nth(1).innerText()).not.toMatch(/failed/);
    await approveCard(/commit/i);
    await approveCard(/push/i);
    await approveCard(/pull request/i);

    const link = page.getByTestId('pull-request-link');
    await link.waitFor({ timeout: 30_000 });
    expect(await link.getAttribute('href')).toBe('https://github.test/acme/calc/pull/1');
    await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => page.locator('[data-testid="plan-step"][data-status="done"]').count()).toBe(4);
    // The progress notes between tool calls are there, quiet and collapsed.
    expect(await page.getByTestId('thinking').count()).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('thinking').first().innerText()).toContain('The tests fail; I will run them first');
    await screenshot(page, 'whole-task');

    // The real git server has the branch with the fix; GitHub has the pull request.
    const commit = gitServer.git('acme', 'calc', 'rev-parse', 'refs/heads/fix/sum-adds');
    expect(gitServer.git('acme', 'calc', 'log', '-1', '--format=%an|%s', commit)).toBe('Ada Lovelace|Make sum add');
    expect(gitServer.git('acme', 'calc', 'show', `${commit}:sum.js`)).toBe(fixed.trimEnd());
    expect(github.pulls).toEqual([expect.objectContaining({ number: 1, owner: 'acme', repo: 'calc', head: 'fix/sum-adds', base: 'main', title: 'Make sum add' })]);

    // Against today's API: every scripted call was offered, no request was refused (each
    // tool-use turn went back with its signed thinking block), and the cache breakpoints were set.
    expect(model.violations).toEqual([]);
    expect(model.refusals).toEqual([]);
    expect(model.requests).toHaveLength(10);
    const last = model.requests.at(-1)!.body;
    const assistantTurns = last.messages.filter((message) => message.role === 'assistant') as { content: { type: string }[] }[];
    expect(assistantTurns.every((turn) => turn.content[0]?.type === 'thinking')).toBe(true);
    expect(last.thinking).toEqual({ type: 'adaptive', display: 'summarized' });

    // The plan is stored with the conversation and comes back on reopening.
    const [conversation] = (await session.app.request('conversation.list', {})).conversations;
    const reopened = (await session.app.request('conversation.open', { conversationId: conversation!.id })) as { events: { type: string; steps?: { status: string }[] }[] };
    expect(reopened.events.filter((event) => event.type === 'agent.plan').at(-1)?.steps?.map((step) => step.status)).toEqual(['done', 'done', 'done', 'done']);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
