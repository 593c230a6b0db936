/**
 * One hook command run on the host: `/bin/sh -c` in its own process group, the event's JSON on
 * stdin, stdout and stderr kept up to a bound, killed (the whole group) at its time limit or
 * when the signal aborts (the emergency stop). Only user and managed hooks run here: the person
 * or the administrator configured them.
 */
import { spawn } from 'node:child_process';
import { createLogger } from '../log';

const log = createLogger('hookProcess');

/** What a hook may write; more stdout than this is a failure (its JSON is cut), stderr is just cut. */
export const hookOutputLimit = 64 * 1024;

export interface HookRun {
  /** Null when the process was killed or never started. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  /** Ended by the signal (the emergency stop, a cancel). */
  readonly stopped: boolean;
  /** Stdout went past the limit. */
  readonly truncated: boolean;
  /** Why it could not start (or crashed), if so. */
  readonly failure?: string;
}

export interface HostHookOptions {
  readonly command: string;
  readonly stdin: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Told the process group's id once it runs (the stop's list of what to kill). */
  readonly onStart?: (pid: number) => void;
}

export function runHostHook(options: HostHookOptions): Promise<HookRun> {
  const started = Date.now();
  return new Promise<HookRun>((resolve) => {
    if (options.signal.aborted) {
      resolve({ exitCode: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, stopped: true, truncated: false });
      return;
    }
    let timedOut = false;
    let stopped = false;
    let truncated = false;
    let failure: string | undefined;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    const child = spawn('/bin/sh', ['-c', options.command], { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        // The whole group: a hook's own children (a `sleep`, a script's subshell) die with it.
        process.kill(-child.pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') log.warn('hook process group could not be killed', { pid: child.pid, error });
      }
    };
    if (child.pid !== undefined) options.onStart?.(child.pid);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = (): void => {
      stopped = true;
      killGroup();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes + chunk.length > hookOutputLimit) {
        truncated = true;
        out.push(chunk.subarray(0, Math.max(0, hookOutputLimit - outBytes)));
        outBytes = hookOutputLimit;
        killGroup();
        return;
      }
      outBytes += chunk.length;
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes >= hookOutputLimit) return;
      const kept = chunk.subarray(0, hookOutputLimit - errBytes);
      errBytes += kept.length;
      err.push(kept);
    });
    // A hook that does not read its input closes the pipe early: that is not its failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin);
    child.on('error', (error) => {
      failure = error.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      // The shell may have left children in the group that hold no pipe: they go too.
      killGroup();
      resolve({
        exitCode: timedOut || stopped || truncated ? null : code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
        timedOut,
        stopped,
        truncated,
        ...(failure === undefined ? {} : { failure }),
      });
    });
  });
}
