/**
 * The whole flow through the real core: a scripted model (the real Anthropic SDK against its
 * loopback stand-in) commits an approved change to feature/add-phone-number, pushes it to a
 * real git server (git http-backend, basic auth) with the token from the real keychain, and
 * opens a pull request through @octokit/rest against the GitHub stand-in. Every step waits
 * for approval and is audited; a push to a protected branch is refused whoever approves.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../shared/handlers';
import { harness, ofType, type AgentHarness } from '../../support/agentFixture';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { gitCli, gitCliAsync, startGitHttpServer, type GitHttpServer } from '../../support/standIns/gitHttpServer';
import { startGithubStandIn, type GithubStandIn } from '../../support/standIns/githubStandIn';
import { testKeychain } from '../keychain/keychainSupport';

const token = 'ghp_flowtoken_9f8e7d6c5b4a39281706';
const context = { transport: 'test' } as CallContext;
let model: AnthropicStandIn;
let gitServer: GitHttpServer;
let github: GithubStandIn;
let h: AgentHarness;
let workspace: string;

beforeAll(async () => {
  model = await startAnthropicStandIn();
  gitServer = await startGitHttpServer({ password: token });
  gitServer.createRepository('acme', 'payroll');
  github = await startGithubStandIn({
    token,
    branchExists: (owner, repo, branch) => {
      try {
        gitServer.git(owner, repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`);
        return true;
      } catch {
        return false;
      }
    },
  });
  workspace = mkdtempSync(path.join(os.tmpdir(), 'sophia-flow-ws-'));
  const basic = Buffer.from(`x:${token}`).toString('base64');
  await gitCliAsync(workspace, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'clone', '--quiet', gitServer.urlOf('acme', 'payroll'), '.');
  h = harness({ keychain: testKeychain(), secrets: undefined, endpoints: { anthropicBaseURL: model.baseURL }, approvalTimeoutMs: 20_000 });
  // Credentials go where the user puts them: the keychain, through the contract.
  await h.core.handlers['secrets.set']({ name: 'anthropic-api-key', value: 'sk-ant-flow-test' }, context);
  await h.core.handlers['secrets.set']({ name: 'github-token', value: token }, context);
  h.core.settings.update({
    provider: 'anthropic',
    workspace,
    gitAuthorName: 'Ada Lovelace',
    gitAuthorEmail: 'ada@example.com',
    githubApiUrl: github.baseURL,
  });
});

afterAll(async () => {
  for (const name of ['anthropic-api-key', 'github-token'] as const) await Promise.resolve().then(() => h?.core.handlers['secrets.remove']({ name }, context)).catch(() => undefined);
  await h?.core.close();
  await model?.close();
  await gitServer?.close();
  await github?.close();
});

/** The human: approves every card, editing the commit message on the way. */
function approveAll(edit?: (tool: string, args: Record<string, unknown>) => Record<string, unknown> | undefined): { tools: string[]; stop(): void } {
  const tools: string[] = [];
  const stop = h.core.events.subscribe((event) => {
    if (event.type !== 'approval.request') return;
    tools.push(event.tool);
    const changed = edit?.(event.tool, JSON.parse(event.args) as Record<string, unknown>);
    queueMicrotask(() => {
      void h.core.handlers['approval.answer'](
        changed ? { approvalId: event.approvalId, decision: 'modify', args: JSON.stringify(changed) } : { approvalId: event.approvalId, decision: 'approve' },
        context,
      );
    });
  });
  return { tools, stop };
}

const prBody = '## Summary\nAdds `phone` to employees.\n\n## Review findings\nNone blocking.\n\n## Tests\n`sql/employees.sql` parses; 12 passed.';

describe('commit to feature/add-phone-number and open a PR', () => {
  it('commits the approved change, pushes it, opens the pull request, shows its link, and audits each step', async () => {
    // The approved edit, as code management applies it.
    writeFileSync(path.join(workspace, 'phone.sql'), 'ALTER TABLE employees ADD phone VARCHAR(20);\n');
    writeFileSync(path.join(workspace, 'scratch.txt'), 'not approved, not committed\n');
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Let me look at the changes.'], tools: [{ name: 'git_status', input: {} }] }) },
      {
        kind: 'stream',
        events: anthropicTurn({
          tools: [{ name: 'git_commit', input: { branch: 'feature/add-phone-number', message: 'Add phone number', paths: ['phone.sql'] } }],
        }),
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
    const human = approveAll((tool, args) => (tool === 'git_commit' ? { ...args, message: 'Add phone number to employees\n\nEdited by the reviewer.' } : undefined));
    const { conversationId, events } = await h.turn('commit to feature/add-phone-number and open a PR');
    human.stop();

    const results = ofType(events, 'tool.result');
    expect(results.map((result) => result.ok)).toEqual([true, true, true, true]);
    expect(human.tools).toEqual(['git_commit', 'git_push', 'github_open_pull_request']);

    // The server's repository, read with the git CLI: branch, author, the edited message, the tree.
    const commit = gitServer.git('acme', 'payroll', 'rev-parse', 'refs/heads/feature/add-phone-number');
    expect(gitServer.git('acme', 'payroll', 'log', '-1', '--format=%an <%ae>%n%B', commit)).toBe('Ada Lovelace <ada@example.com>\nAdd phone number to employees\n\nEdited by the reviewer.');
    expect(gitServer.git('acme', 'payroll', 'ls-tree', '--name-only', commit)).toBe('README.md\nphone.sql');
    expect(gitServer.git('acme', 'payroll', 'rev-parse', 'main')).toBe(gitServer.git('acme', 'payroll', 'rev-parse', `${commit}^`));
    // Only the approved file went in.
    expect(gitCli(workspace, 'status', '--porcelain')).toBe('?? scratch.txt');

    // The pull request stand-in got the right head, base, title and body, with the keychain's token.
    expect(github.pulls).toEqual([
      { number: 1, owner: 'acme', repo: 'payroll', head: 'feature/add-phone-number', base: 'main', title: 'Add phone number to employees', body: prBody, draft: false },
    ]);
    expect(github.requests.at(-1)?.authorization).toBe(`token ${token}`);

    // The chat shows the link.
    const [pr] = ofType(events, 'git.pullRequest');
    expect(pr).toMatchObject({ conversationId, pullRequest: { number: 1, url: 'https://github.test/acme/payroll/pull/1', state: 'open', head: 'feature/add-phone-number', base: 'main' } });
    expect(results[3]?.output).toContain('https://github.test/acme/payroll/pull/1');

    // Every step audited: approvals, the git operations, the tool calls; the token never.
    const audit = h.core.safety.audit.query({ conversationId, limit: 500 });
    const git = audit.filter((entry) => entry.kind === 'git').map((entry) => entry.summary);
    expect(git.some((summary) => summary.startsWith('Committed 1 file(s) to feature/add-phone-number'))).toBe(true);
    expect(git.some((summary) => summary.startsWith('Pushed feature/add-phone-number'))).toBe(true);
    expect(git.some((summary) => summary.startsWith('Opened pull request #1'))).toBe(true);
    expect(audit.filter((entry) => entry.kind === 'approval').length).toBeGreaterThanOrEqual(3);
    expect(audit.filter((entry) => entry.kind === 'tool.call').map((entry) => entry.summary)).toEqual(
      expect.arrayContaining(['git_status ran: ok', 'git_commit ran: ok', 'git_push ran: ok', 'github_open_pull_request ran: ok']),
    );
    expect(JSON.stringify(audit)).not.toContain(token);

    // A checkpoint was taken before each approved step.
    const checkpoints = await h.core.handlers['checkpoint.list']({ conversationId }, context);
    expect(checkpoints.checkpoints.map((checkpoint) => checkpoint.label)).toEqual([
      'before commit 1 file(s) to feature/add-phone-number',
      'before push feature/add-phone-number to origin',
      'before open a pull request "Add phone number to employees" from feature/add-phone-number into main',
    ]);
  });

  it('refuses to push to a protected branch even when approved', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'git_push', input: { branch: 'main' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Understood.'] }) },
    );
    const mainBefore = gitServer.git('acme', 'payroll', 'rev-parse', 'main');
    const human = approveAll();
    const { events } = await h.turn('push main');
    human.stop();
    const [call] = ofType(events, 'tool.call');
    const [result] = ofType(events, 'tool.result');
    expect(call?.tool).toBe('git_push');
    expect(result?.ok).toBe(false);
    expect(result?.output).toMatch(/protected branch/);
    expect(gitServer.git('acme', 'payroll', 'rev-parse', 'main')).toBe(mainBefore);
    expect(h.core.safety.audit.query({ kind: 'refusal', limit: 10 }).some((entry) => entry.summary === 'Push to the protected branch main refused')).toBe(true);
  });

  it('says plainly when a pull request for the branch already exists', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'github_open_pull_request', input: { title: 'Again', body: 'x', head: 'feature/add-phone-number', base: 'main' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['It exists already.'] }) },
    );
    const human = approveAll();
    const { events } = await h.turn('open a PR again');
    human.stop();
    const [result] = ofType(events, 'tool.result');
    expect(result).toMatchObject({ ok: false });
    expect(result?.output).toBe('A pull request already exists for acme:feature/add-phone-number. Open that pull request instead, or push to a new branch.');
    expect(github.pulls).toHaveLength(1);
  });
});
