/**
 * Hooks with real processes: the real approval gate and registry, the real hook service and
 * host runner (`/bin/sh`, process groups, time limits), the real stop controller. The sandbox is
 * a recording stand-in here (workspace hooks must reach it and never the host); the real Docker
 * engine runs a workspace hook in test/electron/sandbox/hooksSandbox.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HooksConfig } from '../../../shared/hooks';
import { ToolRegistry, type ToolDefinition } from '../../../electron/agent/tools';
import { EventHub } from '../../../electron/core/eventHub';
import { StopController } from '../../../electron/core/stopController';
import { hookTurn, preToolUseCheck } from '../../../electron/hooks/hookAdapters';
import { HookService } from '../../../electron/hooks/hookService';
import type { ExecOptions, SandboxService } from '../../../electron/sandbox/sandbox';
import { ApprovalGate } from '../../../electron/safety/approvalGate';
import type { ApprovalEnding } from '../../../electron/safety/approvals';
import { defaultPolicy, type Policy } from '../../../electron/safety/policy';
import { context, RecordingAudit, ScriptedApprover, tools } from '../safety/safetyFixtures';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A sandbox stand-in: records what a workspace hook asked it to run, answers with the scripted exit. */
function recordingSandbox(answer: { exitCode: number; stdout?: string; stderr?: string }) {
  const runs: { command: string; stdin: string; access: string | undefined; workspace: string | undefined }[] = [];
  const sandbox = {
    acquire: async (_taskId: string, options: { workspace?: string; access?: string } = {}) => ({
      exec: async (command: string, exec: ExecOptions = {}) => {
        runs.push({ command, stdin: String(exec.stdin ?? ''), access: options.access, workspace: options.workspace });
        return { execId: 'e', exitCode: answer.exitCode, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '', durationMs: 1, timedOut: false, stopped: false, truncated: false };
      },
      destroy: async () => {},
    }),
  } as unknown as SandboxService;
  return { sandbox, runs };
}

function setup(options: { user?: HooksConfig; workspaceSettings?: Record<string, unknown>; policy?: Partial<Policy>; answers?: (ApprovalEnding | 'hang')[]; sandboxAnswer?: { exitCode: number; stdout?: string; stderr?: string } } = {}) {
  const workspace = mkdtempSync(path.join(tmpdir(), 'sophia-hooks-ws-'));
  const scratch = mkdtempSync(path.join(tmpdir(), 'sophia-hooks-'));
  if (options.workspaceSettings) {
    mkdirSync(path.join(workspace, '.claude'));
    writeFileSync(path.join(workspace, '.claude', 'settings.json'), JSON.stringify(options.workspaceSettings));
  }
  const audit = new RecordingAudit();
  const stop = new StopController(new EventHub());
  let userHooks: HooksConfig = options.user ?? {};
  const { sandbox, runs } = recordingSandbox(options.sandboxAnswer ?? { exitCode: 0 });
  const hooks = new HookService({
    audit,
    stop,
    sandbox,
    workspace: () => workspace,
    user: { get: () => userHooks, set: (next) => (userHooks = next) },
    managedPolicyFile: path.join(scratch, 'policy.yaml'),
  });
  const approver = new ScriptedApprover(options.answers ?? []);
  const gate = new ApprovalGate({ policy: () => ({ ...defaultPolicy, ...options.policy }), stop, audit, approver, preToolUse: preToolUseCheck(hooks), timeoutMs: 2000 });
  const registry = new ToolRegistry(gate);
  const ran: string[] = [];
  for (const tool of Object.values(tools)) {
    registry.register(tool as ToolDefinition, async () => {
      ran.push(tool.name);
      return { ok: true, output: `${tool.name} ran` };
    });
  }
  return { workspace, scratch, audit, stop, hooks, approver, registry, ran, runs };
}

const pre = (command: string, matcher = 'run_command', timeout?: number): HooksConfig => ({
  PreToolUse: [{ matcher, hooks: [{ type: 'command', command, ...(timeout === undefined ? {} : { timeout }) }] }],
});

const scratchDir = (): string => mkdtempSync(path.join(tmpdir(), 'sophia-hooks-scratch-'));

const hookRuns = (audit: RecordingAudit) => audit.entries.filter((entry) => entry.kind === 'hook.run');

/** Whether a process with this id is alive (a zombie, killed but not yet reaped by whoever adopted it, is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
  }
}

describe('PreToolUse hooks at the gate', () => {
  it('a hook that exits 2 denies the call with its stderr as the reason, and the run is audited', async () => {
    const { registry, ran, audit } = setup({ user: pre('cat > /dev/null; echo "no shell commands on Fridays" >&2; exit 2'), policy: { approvalThreshold: 'critical' } });
    const outcome = await registry.invoke('run_command', { command: 'npm test' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { allowed: false, decidedBy: 'hook' } });
    expect(outcome.kind === 'denied' && outcome.decision.reasons.join(' ')).toContain('no shell commands on Fridays');
    expect(ran).toEqual([]);
    const [run] = hookRuns(audit);
    expect(run).toMatchObject({ actor: 'hook:user', data: { event: 'PreToolUse', source: 'user', outcome: 'deny', exitCode: 2, tool: 'run_command', sandboxed: false } });
    expect(audit.entries.some((entry) => entry.kind === 'refusal' && entry.actor === 'hook')).toBe(true);
    // The matcher is honoured: another tool is not shown to the hook and runs (threshold at critical).
    expect(await registry.invoke('git_commit', { message: 'm' }, context('c2'))).toMatchObject({ kind: 'executed' });
    expect(hookRuns(audit)).toHaveLength(1);
  });

  it('the hook reads Claude Code’s stdin: session, cwd, event, tool name and input, call id', async () => {
    const file = path.join(scratchDir(), 'stdin.json');
    const again = setup({ user: pre(`cat > '${file}'; echo "$CLAUDE_PROJECT_DIR" > '${file}.dir'`, 'Bash'), policy: { approvalThreshold: 'critical' } });
    expect(await again.registry.invoke('run_command', { command: 'ls' }, context('call-7'))).toMatchObject({ kind: 'executed' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      session_id: 'conv-1',
      cwd: again.workspace,
      permission_mode: 'default',
      hook_event_name: 'PreToolUse',
      tool_name: 'run_command',
      tool_input: { command: 'ls' },
      tool_use_id: 'call-7',
    });
    // A Claude Code "Bash" matcher covers run_command, and CLAUDE_PROJECT_DIR is the workspace.
    expect(readFileSync(`${file}.dir`, 'utf8').trim()).toBe(again.workspace);
  });

  it('a hook that sleeps past its time limit denies, is killed with its children, and is audited', async () => {
    const pids = path.join(scratchDir(), 'pids');
    const s = setup({ user: pre(`echo $$ > '${pids}'; sleep 30 & echo $! >> '${pids}'; wait`, 'run_command', 1), policy: { approvalThreshold: 'critical' } });
    const outcome = await s.registry.invoke('run_command', { command: 'npm test' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'hook' } });
    expect(outcome.kind === 'denied' && outcome.decision.reasons.join(' ')).toContain('time limit');
    expect(s.ran).toEqual([]);
    const [shell, sleeper] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    // The group is killed before the hook is reported; the kernel may take a moment to end each process.
    await expect.poll(() => alive(shell!), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => alive(sleeper!), { timeout: 10_000 }).toBe(false);
    expect(hookRuns(s.audit)[0]).toMatchObject({ data: { outcome: 'failed', timedOut: true, exitCode: null } });
    expect(s.hooks.runningCount).toBe(0);
  });

  it.each([
    ['a non-zero exit other than 2', 'exit 1', 'exit code 1'],
    ['a command that does not exist', 'no-such-hook-command-here', 'exit code 127'],
    ['JSON that does not parse', 'echo "{ not json"', 'not valid JSON'],
    ['a decision it does not know', `echo '{"hookSpecificOutput":{"permissionDecision":"maybe"}}'`, 'not understood'],
  ])('%s denies (fail closed)', async (_what, command, reason) => {
    const { registry, ran, audit } = setup({ user: pre(command), policy: { approvalThreshold: 'critical' } });
    const outcome = await registry.invoke('run_command', { command: 'ls' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'hook' } });
    expect(outcome.kind === 'denied' && outcome.decision.reasons.join(' ')).toContain(reason);
    expect(ran).toEqual([]);
    expect(hookRuns(audit)[0]).toMatchObject({ data: { outcome: 'failed' } });
  });

  it('"deny" as JSON denies with permissionDecisionReason', async () => {
    const json = JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: 'tests must not run here' } });
    const { registry, ran } = setup({ user: pre(`echo '${json}'`), policy: { approvalThreshold: 'critical' } });
    const outcome = await registry.invoke('run_command', { command: 'ls' }, context());
    expect(outcome.kind === 'denied' && outcome.decision.reasons[0]).toContain('tests must not run here');
    expect(ran).toEqual([]);
  });

  it('"ask" brings a card for a call the threshold would have allowed; the person’s answer decides', async () => {
    const json = JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'ask', permissionDecisionReason: 'a person should see this one' } });
    const s = setup({ user: pre(`echo '${json}'`), policy: { approvalThreshold: 'critical', autoApprove: ['run_command'] }, answers: [{ decision: 'approve' }, { decision: 'cancel' }] });
    expect(await s.registry.invoke('run_command', { command: 'ls' }, context('a1'))).toMatchObject({ kind: 'executed', decision: { decidedBy: 'user' } });
    expect(s.approver.questions).toHaveLength(1);
    expect(s.approver.questions[0]!.reasons[0]).toContain('a person should see this one');
    expect(s.approver.questions[0]!.sessionApproval).toBe(false);
    expect(await s.registry.invoke('run_command', { command: 'ls' }, context('a2'))).toMatchObject({ kind: 'denied', decision: { decidedBy: 'user' } });
    expect(s.ran).toEqual(['run_command']);
    // Without the hook the same call runs unasked (the test can fail).
    const plain = setup({ policy: { approvalThreshold: 'critical', autoApprove: ['run_command'] } });
    expect(await plain.registry.invoke('run_command', { command: 'ls' }, context())).toMatchObject({ kind: 'executed', decision: { decidedBy: 'policy' } });
    expect(plain.approver.questions).toHaveLength(0);
  });

  it('"allow" does not bypass a refusal or a card', async () => {
    const json = JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'allow' } });
    const s = setup({ user: pre(`echo '${json}'`, '*'), policy: { role: 'viewer' } });
    expect(await s.registry.invoke('run_command', { command: 'ls' }, context())).toMatchObject({ kind: 'denied', decision: { decidedBy: 'role' } });
    const never = setup({ user: pre(`echo '${json}'`, '*') });
    expect(await never.registry.invoke('run_command', { command: 'rm -rf /' }, context())).toMatchObject({ kind: 'denied', decision: { decidedBy: 'policy' } });
    // High risk still waits for a person, and no answer is a denial.
    const high = setup({ user: pre(`echo '${json}'`, '*'), answers: ['hang'] });
    const pending = high.registry.invoke('pulumi_up', { stack: 'dev' }, context());
    expect(await pending).toMatchObject({ kind: 'denied', decision: { decidedBy: 'timeout' } });
    expect(high.approver.questions).toHaveLength(1);
    expect([...s.ran, ...never.ran, ...high.ran]).toEqual([]);
  });

  it('a workspace hook runs in the sandbox, never on the host: its deny counts', async () => {
    const marker = path.join(tmpdir(), `sophia-hook-host-marker-${process.pid}-${Date.now()}`);
    cleanups.push(() => rmSync(marker, { force: true }));
    const s = setup({ workspaceSettings: { hooks: pre(`touch '${marker}'; echo nope >&2; exit 2`) }, sandboxAnswer: { exitCode: 2, stderr: 'the repository says no' }, policy: { approvalThreshold: 'critical' } });
    const outcome = await s.registry.invoke('run_command', { command: 'ls' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'hook' } });
    expect(outcome.kind === 'denied' && outcome.decision.reasons.join(' ')).toContain('the repository says no');
    expect(existsSync(marker)).toBe(false);
    expect(s.runs).toHaveLength(1);
    expect(s.runs[0]).toMatchObject({ access: 'read-only', workspace: s.workspace });
    expect(s.runs[0]!.command).toContain(`touch '${marker}'`);
    expect(JSON.parse(s.runs[0]!.stdin)).toMatchObject({ cwd: '/workspace', tool_name: 'run_command', hook_event_name: 'PreToolUse' });
    expect(hookRuns(s.audit)[0]).toMatchObject({ actor: 'hook:workspace', data: { source: 'workspace', sandboxed: true, outcome: 'deny', counted: true } });
  });

  it('a workspace hook’s "ask" and "allow" are ignored (and audited as ignored)', async () => {
    for (const decision of ['ask', 'allow']) {
      const json = JSON.stringify({ hookSpecificOutput: { permissionDecision: decision } });
      const s = setup({ workspaceSettings: { hooks: pre('true') }, sandboxAnswer: { exitCode: 0, stdout: json }, policy: { approvalThreshold: 'critical' } });
      expect(await s.registry.invoke('run_command', { command: 'ls' }, context()), decision).toMatchObject({ kind: 'executed', decision: { decidedBy: 'policy' } });
      expect(s.approver.questions).toHaveLength(0);
      expect(hookRuns(s.audit)[0]).toMatchObject({ data: { outcome: decision, counted: false } });
    }
    // "allow" from a workspace does not spare a card either.
    const json = JSON.stringify({ hookSpecificOutput: { permissionDecision: 'allow' } });
    const s = setup({ workspaceSettings: { hooks: pre('true') }, sandboxAnswer: { exitCode: 0, stdout: json }, answers: [{ decision: 'cancel' }] });
    expect(await s.registry.invoke('run_command', { command: 'ls' }, context())).toMatchObject({ kind: 'denied', decision: { decidedBy: 'user' } });
  });

  it('a workspace hooks file that is not valid JSON denies (fail closed), and one linked out of the workspace is not read', async () => {
    const s = setup({ policy: { approvalThreshold: 'critical' } });
    mkdirSync(path.join(s.workspace, '.sophia'));
    writeFileSync(path.join(s.workspace, '.sophia', 'settings.json'), '{ "hooks": ');
    const outcome = await s.registry.invoke('run_command', { command: 'ls' }, context());
    expect(outcome.kind === 'denied' && outcome.decision.reasons.join(' ')).toContain('.sophia/settings.json could not be read');
    // A link planted in the repository to a file elsewhere is not read (its text would show in the notice).
    const t = setup({ policy: { approvalThreshold: 'critical' } });
    const outside = path.join(scratchDir(), 'elsewhere.json');
    writeFileSync(outside, JSON.stringify({ hooks: pre('exit 0') }));
    mkdirSync(path.join(t.workspace, '.claude'));
    symlinkSync(outside, path.join(t.workspace, '.claude', 'settings.json'));
    const linked = await t.registry.invoke('run_command', { command: 'ls' }, context());
    expect(linked.kind === 'denied' && linked.decision.reasons.join(' ')).toContain('leads out of the workspace');
    expect(t.runs).toEqual([]);
  });

  it('managed hooks are read from managed-settings.json beside the managed policy', async () => {
    const s = setup({ policy: { approvalThreshold: 'critical' } });
    writeFileSync(path.join(s.scratch, 'managed-settings.json'), JSON.stringify({ permissions: {}, hooks: { ...pre('echo "the administrator forbids it" >&2; exit 2', 'run_.*'), SessionStart: [] } }));
    const outcome = await s.registry.invoke('run_command', { command: 'ls' }, context());
    expect(outcome.kind === 'denied' && outcome.decision.reasons.join(' ')).toContain('the administrator forbids it');
    expect(hookRuns(s.audit)[0]).toMatchObject({ actor: 'hook:managed' });
    const listing = s.hooks.list();
    expect(listing.sources.find((source) => source.source === 'managed')).toMatchObject({ editable: false, notices: [expect.stringContaining('SessionStart')] });
  });

  it('the emergency stop ends a running hook: its process group is gone and the call is refused', async () => {
    const pids = path.join(scratchDir(), 'pids');
    const t = setup({ user: pre(`echo $$ > '${pids}'; sleep 60 & echo $! >> '${pids}'; wait`, 'run_command', 100), policy: { approvalThreshold: 'critical' } });
    const pending = t.registry.invoke('run_command', { command: 'ls' }, context());
    for (let i = 0; i < 400 && !(existsSync(pids) && readFileSync(pids, 'utf8').trim().split('\n').length === 2); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    const [shell, sleeper] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(alive(sleeper!)).toBe(true);
    const report = await t.stop.stopAll();
    expect(report.stopped.some((item) => item.label.includes('PreToolUse hook (user)') && item.outcome === 'stopped')).toBe(true);
    expect(await pending).toMatchObject({ kind: 'denied', decision: { allowed: false } });
    expect(alive(shell!)).toBe(false);
    expect(alive(sleeper!)).toBe(false);
    expect(t.ran).toEqual([]);
    expect(hookRuns(t.audit)[0]).toMatchObject({ data: { outcome: 'failed', stopped: true } });
  });
});

describe('UserPromptSubmit, PostToolUse and Stop hooks', () => {
  it('UserPromptSubmit: exit 2 blocks with the reason; JSON additionalContext is passed on; stdin has the prompt', async () => {
    const file = path.join(scratchDir(), 'prompt.json');
    const blocker = setup({ user: { UserPromptSubmit: [{ hooks: [{ type: 'command', command: `cat > '${file}'; echo "no secrets in prompts" >&2; exit 2` }] }] } });
    const turn = hookTurn(blocker.hooks);
    expect(await turn.userPromptSubmit('conv-1', 'my password is hunter2', new AbortController().signal)).toMatchObject({ block: expect.stringContaining('no secrets in prompts') });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ hook_event_name: 'UserPromptSubmit', prompt: 'my password is hunter2', session_id: 'conv-1' });
    const json = JSON.stringify({ hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: 'the on-call team is payments' } });
    const adder = setup({ user: { UserPromptSubmit: [{ hooks: [{ type: 'command', command: `echo '${json}'` }] }] } });
    expect(await hookTurn(adder.hooks).userPromptSubmit('conv-1', 'hi', new AbortController().signal)).toEqual({ context: ['the on-call team is payments'] });
  });

  it('PostToolUse: stdin carries tool_response; "block" goes back as the reason', async () => {
    const file = path.join(scratchDir(), 'post.json');
    const t = setup({ user: { PostToolUse: [{ matcher: 'run_command', hooks: [{ type: 'command', command: `cat > '${file}'; echo '{"decision":"block","reason":"3 tests failed: fix them first"}'` }] }] } });
    const verdict = await hookTurn(t.hooks).postToolUse('conv-1', { callId: 'call-3', tool: 'run_command', input: { command: 'npm test' } }, { ok: true, output: 'FAIL x3' }, new AbortController().signal);
    expect(verdict.block).toContain('3 tests failed: fix them first');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      hook_event_name: 'PostToolUse',
      tool_name: 'run_command',
      tool_input: { command: 'npm test' },
      tool_use_id: 'call-3',
      tool_response: { success: true, output: 'FAIL x3' },
    });
  });

  it('Stop: a user hook’s block keeps the agent going with its reason; stop_hook_active is passed; a failure is only shown', async () => {
    const file = path.join(scratchDir(), 'stop.json');
    const t = setup({ user: { Stop: [{ hooks: [{ type: 'command', command: `cat > '${file}'; echo '{"decision":"block","reason":"run the tests before you stop"}'` }] }] } });
    expect(await hookTurn(t.hooks).stop('conv-1', true, new AbortController().signal)).toEqual({ continueWith: expect.stringContaining('run the tests before you stop') });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ hook_event_name: 'Stop', stop_hook_active: true });
    const failing = setup({ user: { Stop: [{ hooks: [{ type: 'command', command: 'exit 3' }] }] } });
    expect(await hookTurn(failing.hooks).stop('conv-1', false, new AbortController().signal)).toEqual({ problem: expect.stringContaining('exit code 3') });
    // From a workspace, a Stop "block" would keep the agent working: it does not count.
    const workspace = setup({ workspaceSettings: { hooks: { Stop: [{ hooks: [{ type: 'command', command: 'exit 2' }] }] } }, sandboxAnswer: { exitCode: 2, stderr: 'keep going' } });
    expect(await hookTurn(workspace.hooks).stop('conv-1', false, new AbortController().signal)).toEqual({});
  });
});
