/**
 * "The tests fail: fix it, then commit it on a new branch and open a pull request", as one
 * conversation in Chromium, whatever model serves it: the workspace (a clone of a repository on
 * a real `git http-backend`, whose test fails), the GitHub stand-in, the scripted model's tool
 * calls in order, the person's side in the page, and what must hold afterwards. The model-
 * specific suites (wholeTask.e2e.test.ts for Anthropic, wholeTaskOpenAi.e2e.test.ts for the
 * OpenAI-compatible provider) script their own wire format over these steps.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { RequestInput } from '../../../shared/contract';
import { gitCli, gitCliAsync, startGitHttpServer, type GitHttpServer } from '../../support/standIns/gitHttpServer';
import { startGithubStandIn, type GithubStandIn } from '../../support/standIns/githubStandIn';

export const wholeTaskRequest = 'the tests fail: fix it, then commit it on a new branch and open a pull request';
const buggy = 'module.exports = (a, b) => a - b;\n';
const fixed = 'module.exports = (a, b) => a + b;\n';
const testJs = "const assert = require('node:assert');\nconst sum = require('./sum.js');\nassert.strictEqual(sum(2, 3), 5);\nconsole.log('1 passed');\n";

export interface WholeTaskFixture {
  readonly token: string;
  readonly gitServer: GitHttpServer;
  readonly github: GithubStandIn;
  readonly workspace: string;
  /** Settings a person would save for this workspace: author, remote, GitHub repository and API. */
  readonly settings: RequestInput<'settings.set'>;
  close(): Promise<void>;
}

export async function prepareWholeTask(): Promise<WholeTaskFixture> {
  const token = 'ghp_e2eWholeTask0123456789abcdefghijklm';
  const gitServer = await startGitHttpServer({ password: token });
  gitServer.createRepository('acme', 'calc');
  const github = await startGithubStandIn({ token });
  const workspace = mkdtempSync(path.join(tmpdir(), 'sophia-e2e-task-'));
  // The sandbox runs commands as an unprivileged user, with the workspace mounted read-only.
  chmodSync(workspace, 0o755);
  const basic = Buffer.from(`x:${token}`).toString('base64');
  await gitCliAsync(workspace, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'clone', '--quiet', gitServer.urlOf('acme', 'calc'), '.');
  writeFileSync(path.join(workspace, 'sum.js'), buggy);
  writeFileSync(path.join(workspace, 'test.js'), testJs);
  gitCli(workspace, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'add', 'sum.js', 'test.js');
  gitCli(workspace, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'commit', '--quiet', '-m', 'Add sum with its test');
  return {
    token,
    gitServer,
    github,
    workspace,
    settings: {
      workspace,
      gitAuthorName: 'Ada Lovelace',
      gitAuthorEmail: 'ada@example.com',
      gitRemoteUrl: gitServer.urlOf('acme', 'calc'),
      githubRepository: 'acme/calc',
      githubApiUrl: github.baseURL,
    },
    close: async () => {
      await gitServer.close();
      await github.close();
    },
  };
}

type Status = 'pending' | 'done' | 'failed';
const plan = (statuses: readonly Status[]) => ({
  steps: ['Run the failing tests', 'Fix the bug', 'Run the tests again', 'Commit on a new branch and open a pull request'].map((text, i) => ({ text, status: statuses[i] ?? 'pending' })),
});

/** One model turn: what the model says (its note) and the tools it calls, in order. */
export interface WholeTaskTurn {
  readonly note?: string;
  readonly text?: string;
  readonly tools: readonly { readonly name: string; readonly input: unknown }[];
}

/** The model's side, turn by turn; the last turn is the answer with no tool call. */
export const wholeTaskTurns: readonly WholeTaskTurn[] = [
  { note: 'The tests fail; I will run them first to see why.', tools: [{ name: 'update_plan', input: plan([]) }] },
  { tools: [{ name: 'run_command', input: { command: 'node test.js' } }] },
  { note: 'sum subtracts instead of adding: reading it.', tools: [{ name: 'read_file', input: { path: 'sum.js' } }] },
  { text: '`sum` subtracts; here is the fix.', tools: [{ name: 'update_plan', input: plan(['done']) }, { name: 'propose_edit', input: { summary: 'Make sum add', files: [{ path: 'sum.js', content: fixed }] } }] },
  { note: 'The fix is applied; running the tests again.', tools: [{ name: 'run_command', input: { command: 'node test.js' } }] },
  { tools: [{ name: 'update_plan', input: plan(['done', 'done', 'done']) }, { name: 'git_commit', input: { branch: 'fix/sum-adds', message: 'Make sum add', paths: ['sum.js'] } }] },
  { tools: [{ name: 'git_push', input: { branch: 'fix/sum-adds' } }] },
  { tools: [{ name: 'github_open_pull_request', input: { title: 'Make sum add', body: 'The test failed: sum subtracted.\n\n1 passed.', head: 'fix/sum-adds', base: 'main' } }] },
  { tools: [{ name: 'update_plan', input: plan(['done', 'done', 'done', 'done']) }] },
  { text: 'Fixed, committed on fix/sum-adds, and the pull request is open.', tools: [] },
];

async function approveCard(page: Page, expected: RegExp): Promise<string> {
  const card = page.getByTestId('approval-card');
  await card.waitFor({ timeout: 90_000 });
  const text = await card.innerText();
  expect(text).toMatch(expected);
  // Every card says who asked: here the agent, in this conversation.
  expect(await card.getByTestId('approval-requester').innerText()).toMatch(/^Asked by the agent in “.+”$/);
  // This card, by its approval id: the next card may take its place before the old one is seen to go.
  const approvalId = await card.getAttribute('data-approval-id');
  expect(approvalId).toMatch(/^[0-9a-f-]{36}$/);
  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  await page.locator(`[data-testid="approval-card"][data-approval-id="${approvalId}"]`).waitFor({ state: 'detached' });
  return text;
}

/** The person's side in the page: asks, watches the plan and the failing run, approves the fix, the run, the commit, the push and the PR. */
export async function carryOutWholeTask(page: Page): Promise<void> {
  const input = page.getByTestId('composer-input');
  await input.fill(wholeTaskRequest);
  await input.press('Enter');

  // The model's own plan, as a checklist.
  await expect.poll(() => page.getByTestId('plan-step').count(), { timeout: 30_000 }).toBe(4);

  // The failing run, in a real sandbox.
  await approveCard(page, /node test\.js/);
  const failed = page.getByTestId('tool-call').filter({ hasText: 'run_command' }).first();
  await expect.poll(() => failed.getAttribute('class'), { timeout: 90_000 }).toMatch(/tool-failed/);
  expect(await failed.getByTestId('tool-output').innerText()).toMatch(/AssertionError|Expected values to be strictly equal/);

  // The fix, approved by the person in the diff view; its card only summarises it and points there.
  const editCard = page.getByTestId('approval-card').filter({ has: page.getByTestId('approval-open-diff') });
  await editCard.waitFor({ timeout: 30_000 });
  expect(await editCard.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
  expect(await editCard.getByTestId('approval-preview').count()).toBe(0);
  expect(await editCard.getByTestId('approval-requester').innerText()).toMatch(/^Asked by the agent/);
  expect(await editCard.getByTestId('approval-edit-file').allInnerTexts()).toEqual([expect.stringMatching(/^sum\.js \+\d+ −\d+$/)]);
  await editCard.getByTestId('approval-open-diff').click();
  const proposal = page.getByTestId('proposal');
  await expect.poll(() => proposal.getByTestId('proposal-summary').innerText().catch(() => ''), { timeout: 30_000 }).toBe('Make sum add');
  await proposal.locator('.monaco-diff-editor :is(.line-insert, .char-insert, .line-delete, .char-delete)').first().waitFor({ timeout: 30_000 });
  await proposal.getByTestId('proposal-approve').click();
  await expect.poll(() => proposal.getByTestId('proposal-status').innerText(), { timeout: 30_000 }).toBe('Applied');
  await editCard.waitFor({ state: 'detached' });

  // The tests pass, then the commit, the push and the pull request, each approved.
  await approveCard(page, /node test\.js/);
  const passed = page.getByTestId('tool-call').filter({ hasText: 'run_command' }).nth(1);
  await expect.poll(() => passed.getAttribute('class'), { timeout: 90_000 }).toMatch(/tool-ok/);
  expect(await passed.innerText()).not.toMatch(/failed/);
  await approveCard(page, /commit/i);
  await approveCard(page, /push/i);
  await approveCard(page, /pull request/i);

  const link = page.getByTestId('pull-request-link');
  await link.waitFor({ timeout: 30_000 });
  expect(await link.getAttribute('href')).toBe('https://github.test/acme/calc/pull/1');
  await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
  await expect.poll(() => page.locator('[data-testid="plan-step"][data-status="done"]').count()).toBe(4);
}

/** What the systems outside hold afterwards: the branch with the fix on the real git server, the PR on GitHub. */
export function expectWholeTaskLanded(fixture: WholeTaskFixture): void {
  const { gitServer, github } = fixture;
  const commit = gitServer.git('acme', 'calc', 'rev-parse', 'refs/heads/fix/sum-adds');
  expect(gitServer.git('acme', 'calc', 'log', '-1', '--format=%an|%s', commit)).toBe('Ada Lovelace|Make sum add');
  expect(gitServer.git('acme', 'calc', 'show', `${commit}:sum.js`)).toBe(fixed.trimEnd());
  expect(github.pulls).toEqual([expect.objectContaining({ number: 1, owner: 'acme', repo: 'calc', head: 'fix/sum-adds', base: 'main', title: 'Make sum add' })]);
}
