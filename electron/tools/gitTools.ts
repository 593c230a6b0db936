/**
 * Git and GitHub tools for the agent. Declared risks: status and diff read-only; commit
 * medium (local, undoable); open a pull request medium (visible to others, closable);
 * push and revert high (they change what others see; a push to a protected branch is
 * raised further by the inspectors and refused by the executor whatever the approval).
 */
import { z } from 'zod';
import { SophiaError } from '../../shared/errors';
import type { ToolDefinition, ToolExecutor, ToolOutput, ToolRegistry } from '../agent/tools';
import type { GitService } from '../git/gitService';
import { createLogger } from '../log';

const log = createLogger('gitTools');

const branch = z.string().trim().min(1).max(200).describe('A branch name, e.g. "feature/add-phone-number"');
const filePath = z.string().min(1).max(4096);
const maxDiffChars = 60_000;

export const gitStatusTool = {
  name: 'git_status',
  description: 'Show the workspace repository: current branch, ahead/behind its remote branch, and every changed file.',
  input: z.object({}).strict(),
  risk: 'read-only',
} as const satisfies ToolDefinition;

export const gitDiffTool = {
  name: 'git_diff',
  description: 'Show the changes of the working tree against HEAD, line by line, for the given files (all changed files when none are named).',
  input: z.object({ paths: z.array(filePath).max(200).optional() }).strict(),
  risk: 'read-only',
} as const satisfies ToolDefinition;

export const gitCommitTool = {
  name: 'git_commit',
  description:
    'Commit exactly the named files (and nothing else) to a branch, creating the branch from the current commit if it does not exist. Draft a clear message: a short subject line, a blank line, then what changed and why. The person may edit it before approving.',
  input: z.object({ branch, message: z.string().trim().min(1).max(10_000), paths: z.array(filePath).min(1).max(500) }).strict(),
  risk: 'medium',
  describe: (input) => `commit ${input.paths.length} file(s) to ${input.branch}`,
} as const satisfies ToolDefinition<z.ZodObject<{ branch: typeof branch; message: z.ZodString; paths: z.ZodArray<typeof filePath> }>>;

export const gitPushTool = {
  name: 'git_push',
  description: 'Push a local branch to the same branch on the remote (origin) over HTTPS. Never forced. Protected branches (main, release/*, ...) are refused.',
  input: z.object({ branch }).strict(),
  risk: 'high',
  describe: (input) => `push ${input.branch} to origin`,
} as const satisfies ToolDefinition<z.ZodObject<{ branch: typeof branch }>>;

const pullRequestInput = z
  .object({
    title: z.string().trim().min(1).max(200),
    body: z.string().max(60_000).describe('Markdown: a summary of the change, the review findings, and the test results.'),
    head: branch.optional().describe('The pushed branch; the current branch when left out.'),
    base: branch.optional().describe("The branch to merge into; the repository's default branch when left out."),
    draft: z.boolean().optional(),
  })
  .strict();

export const githubOpenPullRequestTool = {
  name: 'github_open_pull_request',
  description: 'Open a GitHub pull request from a pushed branch. The body summarises the change, the review findings and the test results.',
  input: pullRequestInput,
  risk: 'medium',
  describe: (input) => `open a pull request "${input.title.slice(0, 80)}"${input.head ? ` from ${input.head}` : ''}${input.base ? ` into ${input.base}` : ''}`,
  preview: (input) => `# ${input.title}\n\n${input.body}`,
} as const satisfies ToolDefinition<typeof pullRequestInput>;

export const gitRevertTool = {
  name: 'git_revert',
  description: 'Undo a commit (also one already pushed) the way `git revert` does: a new commit on the current branch that reverses it. History is not rewritten. Push afterwards to publish it.',
  input: z.object({ commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character commit id') }).strict(),
  risk: 'high',
  describe: (input) => `revert commit ${input.commit.slice(0, 12)}`,
} as const satisfies ToolDefinition<z.ZodObject<{ commit: z.ZodString }>>;

const failure = (output: string): ToolOutput => ({ ok: false, output });

/** SophiaErrors are the user-facing sentence; anything else is logged and said briefly. */
function explain(tool: string, error: unknown): ToolOutput {
  if (error instanceof SophiaError) return failure(error.message);
  log.error('git tool failed', { tool, error });
  return failure(`${tool} failed: ${error instanceof Error ? error.message.slice(0, 300) : 'unknown error'}`);
}

/** A plain line diff (common head and tail trimmed), enough for the model to see what changed. */
export function lineDiff(file: string, original: string, modified: string): string {
  const a = original === '' ? [] : original.replace(/\n$/, '').split('\n');
  const b = modified === '' ? [] : modified.replace(/\n$/, '').split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const lines = [`--- a/${file}`, `+++ b/${file}`, `@@ -${start + 1},${endA - start} +${start + 1},${endB - start} @@`];
  for (const line of a.slice(start, endA)) lines.push(`-${line}`);
  for (const line of b.slice(start, endB)) lines.push(`+${line}`);
  return lines.join('\n');
}

export function gitExecutors(git: GitService): {
  status: ToolExecutor<typeof gitStatusTool.input>;
  diff: ToolExecutor<typeof gitDiffTool.input>;
  commit: ToolExecutor<typeof gitCommitTool.input>;
  push: ToolExecutor<typeof gitPushTool.input>;
  openPullRequest: ToolExecutor<typeof githubOpenPullRequestTool.input>;
  revert: ToolExecutor<typeof gitRevertTool.input>;
} {
  const diffText = async (paths: readonly string[] | undefined): Promise<string> => {
    const targets = paths ?? (await git.status()).files.map((file) => file.path);
    const parts: string[] = [];
    let size = 0;
    for (const target of targets) {
      const texts = await git.diff(target);
      const part = texts.binary ? `Binary file ${texts.path} differs` : lineDiff(texts.path, texts.original, texts.modified);
      size += part.length;
      parts.push(part);
      if (size > maxDiffChars) {
        parts.push(`[… ${targets.length - parts.length} more file(s) not shown]`);
        break;
      }
    }
    return parts.join('\n\n') || 'No changes.';
  };
  return {
    status: async () => {
      try {
        const status = await git.status();
        if (!status.repository) return failure('The workspace is not a git repository.');
        const tracking = status.upstream ? `${status.upstream}: ${status.ahead} ahead, ${status.behind} behind` : 'no remote branch yet';
        const files = status.files.map((file) => `${file.change.padEnd(9)} ${file.staged ? '(staged) ' : ''}${file.path}`);
        return { ok: true, output: [`On branch ${status.branch ?? '(detached)'} (${tracking})`, files.length ? `Changed files:\n${files.join('\n')}` : 'Nothing changed.'].join('\n') };
      } catch (error) {
        return explain('git_status', error);
      }
    },
    diff: async ({ paths }) => {
      try {
        return { ok: true, output: await diffText(paths) };
      } catch (error) {
        return explain('git_diff', error);
      }
    },
    commit: async (input, context) => {
      try {
        const result = await git.commit(input, context.conversationId);
        return { ok: true, output: `Committed ${input.paths.length} file(s) to ${result.branch}${result.created ? ' (new branch)' : ''}: ${result.commit}` };
      } catch (error) {
        return explain('git_commit', error);
      }
    },
    push: async (input, context) => {
      try {
        const result = await git.push(input, context.conversationId, context.signal);
        return { ok: true, output: `Pushed ${result.branch} (${result.commit.slice(0, 12)}) to origin.` };
      } catch (error) {
        return explain('git_push', error);
      }
    },
    openPullRequest: async (input, context) => {
      try {
        const pr = await git.openPullRequest(input, context.conversationId);
        return { ok: true, output: `Opened pull request #${pr.number} (${pr.head} → ${pr.base}): ${pr.url}` };
      } catch (error) {
        return explain('github_open_pull_request', error);
      }
    },
    revert: async (input, context) => {
      try {
        const result = await git.revert(input, context.conversationId);
        return { ok: true, output: `Reverted ${result.reverted.slice(0, 12)} with commit ${result.commit} on ${result.branch ?? 'a detached HEAD'}. Push the branch to publish the revert.` };
      } catch (error) {
        return explain('git_revert', error);
      }
    },
  };
}

export function registerGitTools(registry: ToolRegistry, git: GitService): void {
  const executors = gitExecutors(git);
  registry.register(gitStatusTool, executors.status);
  registry.register(gitDiffTool, executors.diff);
  registry.register(
    { ...gitCommitTool, preview: async (input) => `${input.message}\n\n${await diffPreview(git, input.paths)}` },
    executors.commit,
  );
  registry.register(gitPushTool, executors.push);
  registry.register(githubOpenPullRequestTool, executors.openPullRequest);
  registry.register(gitRevertTool, executors.revert);
}

async function diffPreview(git: GitService, paths: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const file of paths.slice(0, 50)) {
    try {
      const texts = await git.diff(file);
      parts.push(texts.binary ? `Binary file ${texts.path} differs` : lineDiff(texts.path, texts.original, texts.modified));
    } catch (error) {
      parts.push(`${file}: ${error instanceof Error ? error.message : 'cannot be read'}`);
    }
  }
  return parts.join('\n\n').slice(0, maxDiffChars);
}
