/**
 * run_command's executor against a recording SandboxService (the interface the Docker
 * service implements; the real engine is exercised by the sandbox project): the command
 * runs in a fresh task container with the workspace read-only, never on the host; output
 * streams; a failing run goes back to the model as a failure with its output and the
 * instruction to propose a fix; the container is removed whatever happens.
 */
import { describe, expect, it } from 'vitest';
import type { SandboxStatus } from '../../../shared/contract';
import type { AcquireOptions, ExecOptions, ExecResult, Sandbox, SandboxService } from '../../../electron/sandbox/sandbox';
import { runCommandExecutor, runCommandInput } from '../../../electron/tools/commandTools';

class RecordingSandbox implements SandboxService {
  readonly acquired: { taskId: string; options: AcquireOptions | undefined }[] = [];
  readonly commands: (string | readonly string[])[] = [];
  destroyed = 0;
  constructor(private readonly result: Partial<ExecResult> & { chunks?: string[] }) {}
  status(): SandboxStatus {
    return { state: 'ready', message: '', image: 'test', pool: { size: 0, warm: 0 }, containers: 0 };
  }
  start = async () => this.status();
  prepare = async () => this.status();
  async acquire(taskId: string, options?: AcquireOptions): Promise<Sandbox> {
    this.acquired.push({ taskId, options });
    return {
      taskId,
      containerId: 'c1',
      access: options?.access ?? 'read-only',
      exec: async (command: string | readonly string[], exec?: ExecOptions) => {
        this.commands.push(command);
        for (const chunk of this.result.chunks ?? []) exec?.onOutput?.('stdout', chunk);
        return { execId: 'e1', exitCode: 0, stdout: '', stderr: '', durationMs: 1200, timedOut: false, stopped: false, truncated: false, ...this.result };
      },
      copyIn: async () => undefined,
      copyOut: async () => [],
      syncBack: async () => ({ written: [], removed: [], created: [], refused: [], unchanged: 0, ignored: 0 }),
      destroy: async () => {
        this.destroyed += 1;
      },
    };
  }
  killAll = async () => [];
  resume(): void {}
  close = async () => undefined;
}

const context = (onOutput?: (chunk: string) => void) => ({ conversationId: 'c', callId: 't', signal: new AbortController().signal, ...(onOutput ? { onOutput } : {}) });

describe('run_command', () => {
  it('runs in a fresh task container with the workspace read-only, streams output, and reports success', async () => {
    const sandbox = new RecordingSandbox({ stdout: '3 passed\n', chunks: ['3 pass', 'ed\n'] });
    const streamed: string[] = [];
    const result = await runCommandExecutor(sandbox, () => '/home/me/payroll')(runCommandInput.parse({ command: 'npm test' }), context((chunk) => streamed.push(chunk)));
    expect(result).toEqual({ ok: true, output: 'Exit code 0 (1.2 s).\n3 passed\n' });
    expect(sandbox.acquired).toEqual([{ taskId: expect.stringMatching(/^run-[0-9a-f]{12}$/), options: { workspace: '/home/me/payroll', access: 'read-only' } }]);
    expect(sandbox.commands).toEqual([['/bin/sh', '-c', 'cd /workspace && npm test']]);
    expect(streamed.join('')).toBe('3 passed\n');
    expect(sandbox.destroyed).toBe(1);
  });

  it('feeds a failing run back with its output and asks for a fix', async () => {
    const sandbox = new RecordingSandbox({ exitCode: 1, stdout: 'FAIL test_salary\nassert -5 >= 0\n', stderr: 'Error: 1 failed' });
    const result = await runCommandExecutor(sandbox, () => '/w')(runCommandInput.parse({ command: 'pytest -q' }), context());
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/^The command failed with exit code 1 \(1\.2 s\)\.\nFAIL test_salary\nassert -5 >= 0\n\n\[stderr\]\nError: 1 failed\nRead the failure above, find its cause in the code, and propose a fix with propose_edit\.$/);
    expect(sandbox.destroyed).toBe(1);
  });

  it('says so on a timeout, keeps the end of a long output, and refuses without a workspace', async () => {
    const long = `${'x'.repeat(30_000)}THE END`;
    const timedOut = await runCommandExecutor(new RecordingSandbox({ exitCode: null, timedOut: true, stdout: long }), () => '/w')(runCommandInput.parse({ command: 'sleep 999', timeoutSeconds: 1 }), context());
    expect(timedOut.output).toMatch(/^Timed out after 1\.2 s/);
    expect(timedOut.output).toContain('THE END');
    expect(timedOut.output.length).toBeLessThan(21_000);
    const none = new RecordingSandbox({});
    expect(await runCommandExecutor(none, () => '')(runCommandInput.parse({ command: 'ls' }), context())).toEqual({ ok: false, output: expect.stringContaining('No workspace is open') });
    expect(none.acquired).toEqual([]);
  });
});
