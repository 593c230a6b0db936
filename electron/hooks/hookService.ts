/**
 * Hooks, run: at UserPromptSubmit, PreToolUse, PostToolUse and Stop, every matching hook of
 * every source runs at once, each with its time limit, and each run is audited ('hook.run').
 *
 * Sources: the managed file (`managed-settings.json` beside the managed policy), the user's
 * hooks (the app's settings), and the workspace's `.sophia/settings.json` and
 * `.claude/settings.json`. Managed and user hooks are the person's or the administrator's and
 * run on the host; the workspace is written by whoever wrote the repository, so its hooks run
 * in the sandbox (network none, workspace read-only) and only a deny counts from them.
 *
 * Fail closed: a hook that fails, crashes, times out, is stopped, or answers what cannot be
 * read denies; so does a hook file that cannot be read. "allow" is no opinion: the gate decides.
 * The emergency stop kills every hook process group and every hook container.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { StoppedItem } from '../../shared/contract';
import { eachHook, hookLimits, matcherCovers, type HookCommand, type HookEvent, type HookSource, type HooksConfig, type HooksListing } from '../../shared/hooks';
import type { AuditSink } from '../audit/auditLog';
import type { StopController } from '../core/stopController';
import { createLogger } from '../log';
import type { SandboxService } from '../sandbox/sandbox';
import { managedHookFile, readHookFile, workspaceHookFiles, type ReadHooks } from './hookConfig';
import { interpretHookRun, type HookOutcome } from './hookOutcome';
import { hookOutputLimit, runHostHook, type HookRun } from './hookProcess';

const log = createLogger('hookService');

/** What one event tells its hooks (Claude Code's stdin fields, by their Claude Code names in `payload`). */
export interface HookCall {
  readonly conversationId: string;
  readonly toolName?: string;
  readonly toolInput?: unknown;
  readonly toolUseId?: string;
  readonly toolResponse?: unknown;
  readonly prompt?: string;
  readonly stopHookActive?: boolean;
}

/** What the hooks of one event said, all sources together. */
export interface HookVerdict {
  /** deny when any hook denied or failed; ask when any (user or managed) PreToolUse hook asked. */
  readonly decision: 'deny' | 'ask' | 'none';
  /** Explicit denials and blocks (exit 2, "deny", "block"), each with its source. */
  readonly blocks: readonly string[];
  /** Hooks that failed, timed out or were stopped (they deny too). */
  readonly failures: readonly string[];
  readonly asks: readonly string[];
  /** additionalContext from user and managed hooks. */
  readonly context: readonly string[];
  /** Hooks that ran. */
  readonly ran: number;
}

export const noHookVerdict: HookVerdict = { decision: 'none', blocks: [], failures: [], asks: [], context: [], ran: 0 };

export interface UserHooks {
  get(): HooksConfig;
  set(hooks: HooksConfig): HooksConfig;
}

export interface HookServiceOptions {
  readonly audit: AuditSink;
  readonly stop: StopController;
  readonly sandbox: SandboxService;
  readonly workspace: () => string;
  readonly user: UserHooks;
  /** The administrator's policy file: managed hooks are in `managed-settings.json` beside it. */
  readonly managedPolicyFile?: string | undefined;
  /** Claude Code's `permission_mode` for the stdin: 'plan' while plan mode is on. */
  readonly permissionMode?: () => string;
  /** The environment host hooks run with; the app's own by default. */
  readonly env?: NodeJS.ProcessEnv;
}

interface Planned {
  readonly source: HookSource;
  readonly event: HookEvent;
  readonly matcher: string | undefined;
  readonly hook: HookCommand;
}

interface Running {
  readonly controller: AbortController;
  readonly label: string;
  done: Promise<unknown>;
}

export class HookService {
  readonly #running = new Map<string, Running>();

  constructor(private readonly options: HookServiceOptions) {
    options.stop.register('hooks', () => this.stopAll(), { kind: 'task', label: 'running hooks' });
  }

  /** The hooks in force, by source, for Settings. */
  list(): HooksListing {
    const sources: HooksListing['sources'] = [];
    const managed = this.#managed();
    if (managed) sources.push({ source: 'managed', file: managed.file, hooks: managed.read.hooks, notices: managed.read.notices, editable: false });
    let user: HooksConfig = {};
    const notices: string[] = [];
    try {
      user = this.options.user.get();
    } catch (error) {
      notices.push((error as Error).message);
    }
    sources.push({ source: 'user', hooks: user, notices, editable: true });
    for (const { file, read } of this.#workspaceFiles()) {
      if (Object.keys(read.hooks).length === 0 && read.notices.length === 0) continue;
      sources.push({ source: 'workspace', file, hooks: read.hooks, notices: read.notices, editable: false });
    }
    return { sources };
  }

  saveUser(hooks: HooksConfig): HooksListing {
    const saved = this.options.user.set(hooks);
    this.options.audit.record({ kind: 'policy', actor: 'user', summary: `Hooks saved: ${eachHook(saved).length} command(s)`, data: { hooks: saved } });
    return this.list();
  }

  /** Runs the event's matching hooks; never throws (a failure is a deny). */
  async run(event: HookEvent, call: HookCall, signal: AbortSignal): Promise<HookVerdict> {
    if (this.options.stop.locked) {
      return { ...noHookVerdict, decision: event === 'Stop' ? 'none' : 'deny', failures: event === 'Stop' ? [] : ['Sophia was stopped: hooks do not run until you resume.'] };
    }
    const planned: Planned[] = [];
    const unreadable: string[] = [];
    const add = (source: HookSource, config: HooksConfig): void => {
      for (const entry of eachHook(config)) if (entry.event === event) planned.push({ source, ...entry });
    };
    const managed = this.#managed();
    if (managed) {
      if (managed.read.unreadable) unreadable.push(`the managed hooks file ${managed.file} could not be read (${managed.read.notices[0] ?? 'invalid'})`);
      add('managed', managed.read.hooks);
    }
    try {
      add('user', this.options.user.get());
    } catch (error) {
      unreadable.push((error as Error).message);
    }
    for (const { file, read } of this.#workspaceFiles()) {
      if (read.unreadable) unreadable.push(`the workspace's ${path.relative(this.options.workspace(), file)} could not be read (${read.notices[0] ?? 'invalid'}); fix or remove it`);
      add('workspace', read.hooks);
    }
    const results = await Promise.all(
      planned.map(async (entry): Promise<{ entry: Planned; outcome: HookOutcome; ran: boolean }> => {
        let covers: boolean;
        try {
          covers = call.toolName === undefined || event === 'UserPromptSubmit' || event === 'Stop' || matcherCovers(entry.matcher, call.toolName);
        } catch {
          const outcome: HookOutcome = { kind: 'failed', reason: `its matcher ${JSON.stringify(entry.matcher)} is not a valid pattern` };
          return { entry, outcome: this.#audit(entry, call, outcome, undefined, false), ran: false };
        }
        if (!covers) return { entry, outcome: { kind: 'none' }, ran: false };
        return { entry, outcome: await this.#runOne(entry, call, signal), ran: true };
      }),
    );
    const blocks: string[] = [];
    const failures: string[] = unreadable.map((text) => `Hooks: ${text}.`);
    const asks: string[] = [];
    const context: string[] = [];
    let ran = 0;
    for (const { entry, outcome, ran: didRun } of results) {
      if (didRun) ran += 1;
      const who = `${entry.source} hook \`${entry.hook.command.slice(0, 80)}\``;
      switch (outcome.kind) {
        case 'deny':
          // From a workspace a Stop "block" would keep the agent working: only a deny counts there.
          if (!(entry.source === 'workspace' && event === 'Stop')) blocks.push(`${who}: ${outcome.reason}`);
          break;
        case 'failed':
          failures.push(`${who}: ${outcome.reason}`);
          break;
        case 'ask':
          if (entry.source !== 'workspace') asks.push(`${who}: ${outcome.reason}`);
          break;
        case 'allow':
          break;
        case 'none':
          if (outcome.context && entry.source !== 'workspace') context.push(outcome.context);
          break;
      }
    }
    const decision = blocks.length > 0 || failures.length > 0 ? 'deny' : asks.length > 0 ? 'ask' : 'none';
    return { decision, blocks, failures, asks, context, ran };
  }

  /** The emergency stop: every hook process group and hook container goes. */
  async stopAll(): Promise<StoppedItem[]> {
    const running = [...this.#running.entries()];
    for (const [, run] of running) run.controller.abort();
    await Promise.allSettled(running.map(([, run]) => run.done));
    return running.map(([id, run]) => ({ kind: 'task' as const, id: id.slice(0, 200), label: run.label.slice(0, 200), outcome: 'stopped' as const }));
  }

  /** How many hooks run now (tests). */
  get runningCount(): number {
    return this.#running.size;
  }

  async #runOne(entry: Planned, call: HookCall, signal: AbortSignal): Promise<HookOutcome> {
    const id = `hook-${randomUUID()}`;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) controller.abort();
    const timeoutMs = Math.min(entry.hook.timeout ?? hookLimits.defaultTimeoutSeconds, hookLimits.maxTimeoutSeconds) * 1000;
    const sandboxed = entry.source === 'workspace';
    const running: Running = { controller, label: `${entry.event} hook (${entry.source}): ${entry.hook.command.slice(0, 80)}`, done: Promise.resolve() };
    this.#running.set(id, running);
    const work = (async (): Promise<HookRun> => {
      const workspace = this.options.workspace();
      const stdin = JSON.stringify(this.#payload(entry.event, call, sandboxed ? '/workspace' : workspace || os.homedir()));
      if (!sandboxed) {
        return runHostHook({
          command: entry.hook.command,
          stdin,
          cwd: workspace || os.homedir(),
          env: { ...(this.options.env ?? process.env), CLAUDE_PROJECT_DIR: workspace, SOPHIA_PROJECT_DIR: workspace, SOPHIA_HOOK_EVENT: entry.event },
          timeoutMs,
          signal: controller.signal,
        });
      }
      return this.#runInSandbox(id, entry.hook.command, stdin, timeoutMs, controller.signal);
    })();
    running.done = work.catch(() => undefined);
    let result: HookRun;
    try {
      result = await work;
    } catch (error) {
      log.warn('hook did not run', { event: entry.event, source: entry.source, error });
      result = { exitCode: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, stopped: controller.signal.aborted, truncated: false, failure: sandboxed ? `workspace hooks run in the sandbox, which could not run it: ${(error as Error).message}` : (error as Error).message };
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#running.delete(id);
    }
    return this.#audit(entry, call, interpretHookRun(entry.event, result), result, sandboxed);
  }

  async #runInSandbox(id: string, command: string, stdin: string, timeoutMs: number, signal: AbortSignal): Promise<HookRun> {
    const workspace = this.options.workspace();
    if (signal.aborted) return { exitCode: null, stdout: '', stderr: '', durationMs: 0, timedOut: false, stopped: true, truncated: false };
    // Read-only workspace, network none: the repository's hook sees the code and nothing else.
    const box = await this.options.sandbox.acquire(id, { ...(workspace ? { workspace } : {}), access: 'read-only' });
    const onAbort = (): void => void box.destroy().catch((error: unknown) => log.warn('hook container could not be removed', { error }));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const script = `CLAUDE_PROJECT_DIR=/workspace SOPHIA_PROJECT_DIR=/workspace; export CLAUDE_PROJECT_DIR SOPHIA_PROJECT_DIR; cd /workspace 2>/dev/null || cd /tmp; ${command}`;
      const result = await box.exec(script, { timeoutMs, stdin });
      const stopped = result.stopped || signal.aborted;
      return {
        exitCode: stopped || result.timedOut ? null : result.exitCode,
        stdout: result.stdout.slice(0, hookOutputLimit),
        stderr: result.stderr.slice(0, hookOutputLimit),
        durationMs: result.durationMs,
        timedOut: result.timedOut,
        stopped,
        truncated: result.truncated || result.stdout.length > hookOutputLimit,
      };
    } finally {
      signal.removeEventListener('abort', onAbort);
      await box.destroy().catch((error: unknown) => log.warn('hook container could not be removed', { error }));
    }
  }

  /** Claude Code's stdin, field for field. There is no transcript file, so transcript_path is left out. */
  #payload(event: HookEvent, call: HookCall, cwd: string): Record<string, unknown> {
    const base: Record<string, unknown> = {
      session_id: call.conversationId,
      cwd,
      permission_mode: this.options.permissionMode?.() ?? 'default',
      hook_event_name: event,
    };
    switch (event) {
      case 'UserPromptSubmit':
        return { ...base, prompt: call.prompt ?? '' };
      case 'PreToolUse':
        return { ...base, tool_name: call.toolName, tool_input: call.toolInput ?? {}, tool_use_id: call.toolUseId };
      case 'PostToolUse':
        return { ...base, tool_name: call.toolName, tool_input: call.toolInput ?? {}, tool_use_id: call.toolUseId, tool_response: call.toolResponse ?? null };
      case 'Stop':
        return { ...base, stop_hook_active: call.stopHookActive === true };
    }
  }

  /** Records the run; a run that cannot be audited counts as failed (fail closed). */
  #audit(entry: Planned, call: HookCall, outcome: HookOutcome, run: HookRun | undefined, sandboxed: boolean): HookOutcome {
    const counted =
      entry.source !== 'workspace' || outcome.kind === 'failed' || (outcome.kind === 'deny' && entry.event !== 'Stop') ? outcome.kind : `${outcome.kind} (ignored: only a deny counts from a workspace)`;
    const reason = 'reason' in outcome ? outcome.reason.slice(0, 1000) : undefined;
    try {
      this.options.audit.record({
        kind: 'hook.run',
        conversationId: call.conversationId,
        actor: `hook:${entry.source}`,
        summary: `${entry.event} hook (${entry.source}${sandboxed ? ', in the sandbox' : ''}): ${counted}${call.toolName ? ` for ${call.toolName.slice(0, 80)}` : ''}`,
        data: {
          event: entry.event,
          source: entry.source,
          command: entry.hook.command.slice(0, 500),
          matcher: entry.matcher ?? null,
          tool: call.toolName ?? null,
          callId: call.toolUseId ?? null,
          outcome: outcome.kind,
          counted: counted === outcome.kind,
          ...(reason === undefined ? {} : { reason }),
          exitCode: run?.exitCode ?? null,
          durationMs: run?.durationMs ?? 0,
          timedOut: run?.timedOut ?? false,
          stopped: run?.stopped ?? false,
          sandboxed,
        },
      });
      return outcome;
    } catch (error) {
      log.error('a hook run could not be audited', { event: entry.event, error });
      return { kind: 'failed', reason: 'the audit log could not record this hook run' };
    }
  }

  #managed(): { file: string; read: ReadHooks } | undefined {
    if (!this.options.managedPolicyFile) return undefined;
    const file = managedHookFile(this.options.managedPolicyFile);
    const read = readHookFile(file);
    return Object.keys(read.hooks).length === 0 && read.notices.length === 0 ? undefined : { file, read };
  }

  #workspaceFiles(): { file: string; read: ReadHooks }[] {
    const workspace = this.options.workspace();
    if (!workspace) return [];
    return workspaceHookFiles.map((relative) => {
      const file = path.join(workspace, relative);
      return { file, read: readHookFile(file, workspace) };
    });
  }
}
