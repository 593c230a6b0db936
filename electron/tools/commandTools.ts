/**
 * `run_command`: the project's tests, linters and static checks, run inside a fresh
 * sandbox container for the task (never on the host), with the workspace mounted
 * read-only. Its output streams to the execution log (the sandbox publishes it) and the
 * result goes back to the model; a failing run says so, so the agent can propose a fix.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { limits } from '../../shared/contract';
import type { ToolDefinition, ToolExecutor, ToolOutput, ToolRegistry } from '../agent/tools';
import { createLogger } from '../log';
import type { SandboxService } from '../sandbox/sandbox';

const log = createLogger('commandTools');

export const runCommandInput = z
  .object({
    command: z.string().trim().min(1).max(limits.command).describe('A shell command run with /bin/sh -c in /workspace, e.g. "npm test" or "pytest -q" or "ruff check ."'),
    timeoutSeconds: z.number().int().min(1).max(900).optional().describe('Wall-clock limit; 120 by default.'),
  })
  .strict();

export const runCommandTool = {
  name: 'run_command',
  description:
    "Run a command (the project's tests, a linter, a type checker) in an isolated sandbox container with the workspace mounted read-only at /workspace and no network. Returns the exit code and the output. Use it after an approved change to check it.",
  input: runCommandInput,
  // Runs code from the workspace, though in a hardened container: the person is asked.
  risk: 'medium',
  describe: (input) => `run in the sandbox: ${input.command}`.slice(0, 200),
  preview: (input) => `$ ${input.command}\n(in a sandbox container, workspace read-only, no network, ${input.timeoutSeconds ?? 120} s limit)`,
} as const satisfies ToolDefinition<typeof runCommandInput>;

/** What the model gets back: the end of the output matters most for a failing test run. */
const maxOutputForModel = 20_000;

function tail(text: string, max: number): string {
  return text.length <= max ? text : `[… ${text.length - max} earlier characters]\n${text.slice(-max)}`;
}

export function runCommandExecutor(sandbox: SandboxService, workspace: () => string): ToolExecutor<typeof runCommandInput> {
  return async (input, context): Promise<ToolOutput> => {
    const root = workspace();
    if (!root) return { ok: false, output: 'No workspace is open. Choose a workspace folder in Settings.' };
    const taskId = `run-${randomBytes(6).toString('hex')}`;
    const box = await sandbox.acquire(taskId, { workspace: root, access: 'read-only' });
    const onAbort = (): void => void box.destroy().catch((error: unknown) => log.warn('could not remove a sandbox after cancel', { error }));
    context.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await box.exec(['/bin/sh', '-c', `cd /workspace && ${input.command}`], {
        timeoutMs: (input.timeoutSeconds ?? 120) * 1000,
        ...(context.onOutput ? { onOutput: (_stream: string, chunk: string) => context.onOutput?.(chunk) } : {}),
      });
      const output = tail(`${result.stdout}${result.stderr ? `\n[stderr]\n${result.stderr}` : ''}`, maxOutputForModel);
      const seconds = (result.durationMs / 1000).toFixed(1);
      if (result.stopped) return { ok: false, output: `Stopped after ${seconds} s.\n${output}` };
      if (result.timedOut) return { ok: false, output: `Timed out after ${seconds} s and was killed.\n${output}\nFind out why it hangs, or run a narrower command.` };
      if (result.exitCode === 0) return { ok: true, output: `Exit code 0 (${seconds} s).\n${output}` };
      return {
        ok: false,
        output: `The command failed with exit code ${result.exitCode ?? 'unknown'} (${seconds} s).\n${output}\nRead the failure above, find its cause in the code, and propose a fix with propose_edit.`,
      };
    } finally {
      context.signal.removeEventListener('abort', onAbort);
      await box.destroy().catch((error: unknown) => log.warn('could not remove a sandbox', { error }));
    }
  };
}

export function registerCommandTools(registry: ToolRegistry, sandbox: SandboxService, workspace: () => string): void {
  registry.register(runCommandTool, runCommandExecutor(sandbox, workspace));
}
