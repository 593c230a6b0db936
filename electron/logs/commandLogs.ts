/**
 * The output of a saved command, run in a fresh sandbox container exactly as run_command's:
 * the sandbox service's hardening, network none, the open workspace mounted read-only (none
 * when no workspace is open). Its standard output, then its standard error, are the log;
 * lines that start with timestamps decide the window, and when none do the window cannot be
 * applied and the header says so.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '../log';
import type { SandboxService } from '../sandbox/sandbox';
import { ForwardScan, LogQueryError, logReadLimits, windowSet, type LogQuery, type LogReadResult } from './logQuery';

const log = createLogger('commandLogs');

export async function readCommandSource(sandbox: SandboxService, command: string, workspace: string, query: LogQuery): Promise<LogReadResult> {
  const taskId = `logs-${randomBytes(6).toString('hex')}`;
  let box;
  try {
    box = await sandbox.acquire(taskId, workspace ? { workspace, access: 'read-only' } : {});
  } catch (error) {
    throw new LogQueryError(`The sandbox could not run the command: ${error instanceof Error ? error.message : String(error)}`);
  }
  const onAbort = (): void => void box.destroy().catch((error: unknown) => log.warn('could not remove a sandbox after cancel', { error }));
  query.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await box.exec(['/bin/sh', '-c', workspace ? `cd /workspace && ${command}` : command], { timeoutMs: logReadLimits.commandTimeoutMs });
    if (result.stopped || query.signal.aborted) throw new LogQueryError('Stopped.');
    const split = (text: string): string[] => {
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      return lines;
    };
    const scanWith = (applyWindow: boolean): ForwardScan => {
      const scan = new ForwardScan(query, applyWindow);
      for (const line of split(result.stdout)) scan.push(line);
      for (const line of split(result.stderr)) scan.push(`[stderr] ${line}`);
      return scan;
    };
    let scan = scanWith(true);
    // Output without a single timestamp cannot be windowed: it is read whole, and the header says so.
    const unwindowed = windowSet(query.window) && !scan.stamped;
    if (unwindowed) scan = scanWith(false);
    const notes: string[] = [];
    if (result.timedOut) notes.push(`the command was killed after ${logReadLimits.commandTimeoutMs / 1000} s; its output so far is read`);
    else if (result.exitCode !== 0) notes.push(`the command exited with code ${result.exitCode ?? 'unknown'}`);
    if (result.truncated) notes.push('the output was longer than the sandbox keeps; only its start was read');
    if (unwindowed) notes.push('the output has no timestamped lines, so the window was not applied: all of it was read');
    return {
      lines: scan.keeper.lines(),
      matched: scan.keeper.matched,
      matchedAll: true,
      windowBasis: unwindowed ? 'nothing (no timestamps in the output)' : 'line timestamps',
      detail: `$ ${command.length > 200 ? `${command.slice(0, 200)}…` : command} (in a sandbox container, workspace read-only, no network)`,
      notes,
    };
  } finally {
    query.signal.removeEventListener('abort', onAbort);
    await box.destroy().catch((error: unknown) => log.warn('could not remove a sandbox', { error }));
  }
}
