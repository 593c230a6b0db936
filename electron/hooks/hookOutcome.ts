/**
 * What one hook run says, read as Claude Code reads it: exit 2 blocks (stderr is the reason);
 * exit 0 with JSON on stdout may decide (`hookSpecificOutput.permissionDecision` for PreToolUse,
 * `decision: "block"` elsewhere, `continue: false` anywhere); exit 0 with plain text or nothing
 * has no opinion. Unlike Claude Code, everything else fails closed: another exit code, a crash,
 * a time-out, output that looks like JSON but is not, or a decision it does not know.
 */
import { z } from 'zod';
import type { HookEvent } from '../../shared/hooks';
import type { HookRun } from './hookProcess';

export type HookOutcome =
  /** Deny the call, block the prompt or the result; for Stop, keep the agent working. */
  | { readonly kind: 'deny'; readonly reason: string }
  /** PreToolUse: the person must approve this call. */
  | { readonly kind: 'ask'; readonly reason: string }
  /** PreToolUse "allow": no opinion here; the gate decides as usual. */
  | { readonly kind: 'allow'; readonly reason: string }
  | { readonly kind: 'none'; readonly context?: string }
  /** Failed, timed out or stopped: counts as a deny. */
  | { readonly kind: 'failed'; readonly reason: string };

const hookJson = z.object({
  continue: z.boolean().optional(),
  stopReason: z.string().optional(),
  suppressOutput: z.boolean().optional(),
  systemMessage: z.string().optional(),
  decision: z.enum(['block', 'approve']).optional(),
  reason: z.string().optional(),
  hookSpecificOutput: z
    .object({
      hookEventName: z.string().optional(),
      permissionDecision: z.enum(['allow', 'deny', 'ask']).optional(),
      permissionDecisionReason: z.string().optional(),
      additionalContext: z.string().optional(),
    })
    .optional(),
});

const short = (text: string, max = 1000): string => {
  const trimmed = text.trim();
  return trimmed.length > max ? `${trimmed.slice(0, max)} …` : trimmed;
};

export function interpretHookRun(event: HookEvent, run: HookRun): HookOutcome {
  if (run.stopped) return { kind: 'failed', reason: 'the hook was stopped (emergency stop or cancel)' };
  if (run.timedOut) return { kind: 'failed', reason: `the hook did not finish within its time limit and was killed` };
  if (run.truncated) return { kind: 'failed', reason: 'the hook wrote more output than allowed and was killed' };
  if (run.failure !== undefined) return { kind: 'failed', reason: `the hook could not run: ${short(run.failure, 300)}` };
  if (run.exitCode === 2) return { kind: 'deny', reason: short(run.stderr) || 'the hook exited with code 2 and gave no reason' };
  if (run.exitCode !== 0) {
    const said = short(run.stderr, 500);
    return { kind: 'failed', reason: `the hook failed (exit code ${run.exitCode ?? 'none'})${said ? `: ${said}` : ''}` };
  }
  const stdout = run.stdout.trim();
  if (stdout === '') return { kind: 'none' };
  if (!stdout.startsWith('{') && !stdout.startsWith('[')) return { kind: 'none' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return { kind: 'failed', reason: 'the hook printed output that starts like JSON but is not valid JSON' };
  }
  const checked = hookJson.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    return { kind: 'failed', reason: `the hook's JSON is not understood (${issue ? `${issue.path.join('.') || '(output)'}: ${issue.message}` : 'not an object'})` };
  }
  const out = checked.data;
  const specific = out.hookSpecificOutput;
  if (out.continue === false && event !== 'Stop') return { kind: 'deny', reason: short(out.stopReason ?? out.reason ?? '') || 'the hook said not to continue' };
  if (event === 'PreToolUse') {
    const why = short(specific?.permissionDecisionReason ?? out.reason ?? '');
    switch (specific?.permissionDecision) {
      case 'deny':
        return { kind: 'deny', reason: why || 'denied by a PreToolUse hook' };
      case 'ask':
        return { kind: 'ask', reason: why || 'a PreToolUse hook asks for your approval' };
      case 'allow':
        return { kind: 'allow', reason: why };
      case undefined:
        break;
    }
    // The older spelling: decision "block" / "approve".
    if (out.decision === 'block') return { kind: 'deny', reason: why || 'blocked by a PreToolUse hook' };
    if (out.decision === 'approve') return { kind: 'allow', reason: why };
    return { kind: 'none' };
  }
  if (out.decision === 'block') return { kind: 'deny', reason: short(out.reason ?? '') || `blocked by a ${event} hook` };
  const context = specific?.additionalContext?.trim();
  return context ? { kind: 'none', context: short(context, 4000) } : { kind: 'none' };
}
