/**
 * Workspace hooks on the real Docker engine: a repository's `.claude/settings.json` hook runs
 * in a hardened sandbox container (network none, workspace read-only), never on the host; its
 * deny counts, its time limit kills it, the emergency stop removes its container, and every
 * container it used is gone afterwards.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HooksConfig } from '../../../shared/hooks';
import { ToolRegistry } from '../../../electron/agent/tools';
import { EventHub } from '../../../electron/core/eventHub';
import { StopController } from '../../../electron/core/stopController';
import { preToolUseCheck } from '../../../electron/hooks/hookAdapters';
import { HookService } from '../../../electron/hooks/hookService';
import { ApprovalGate } from '../../../electron/safety/approvalGate';
import { defaultPolicy } from '../../../electron/safety/policy';
import { context, RecordingAudit, tools } from '../safety/safetyFixtures';
import { containersOf, makeWorkspace, newService, waitFor, type TestService } from './support';

let sandbox: TestService;
let workspace: { dir: string; remove: () => Promise<void> };

beforeAll(async () => {
  sandbox = newService();
  expect((await sandbox.service.start()).state).toBe('ready');
  workspace = await makeWorkspace();
});
afterAll(async () => {
  await sandbox.service.close();
  await workspace.remove();
});

function setup(hooks: HooksConfig) {
  mkdirSync(path.join(workspace.dir, '.claude'), { recursive: true });
  writeFileSync(path.join(workspace.dir, '.claude', 'settings.json'), JSON.stringify({ hooks }));
  const audit = new RecordingAudit();
  const stop = new StopController(new EventHub());
  stop.register('sandbox', () => sandbox.service.killAll());
  const service = new HookService({ audit, stop, sandbox: sandbox.service, workspace: () => workspace.dir, user: { get: () => ({}), set: (next) => next } });
  const gate = new ApprovalGate({ policy: () => ({ ...defaultPolicy, approvalThreshold: 'critical' }), stop, audit, preToolUse: preToolUseCheck(service) });
  const registry = new ToolRegistry(gate);
  const ran: string[] = [];
  registry.register(tools.runCommand, async () => {
    ran.push('run_command');
    return { ok: true, output: 'ran' };
  });
  return { audit, stop, registry, ran, service };
}

describe('workspace hooks in the sandbox', () => {
  it('run in a container with the workspace read-only and no network: the deny counts, the host is untouched', async () => {
    const marker = path.join(tmpdir(), `sophia-hook-marker-${process.pid}`);
    const probe = [
      `touch '${marker}'`,
      'tool=$(cat | grep -o \'"tool_name":"[a-z_]*"\')',
      'touch /workspace/probe 2>/dev/null && w=writable || w=read-only',
      'echo "in the sandbox as uid $(id -u), workspace $w, $tool, interfaces: $(ls /sys/class/net | tr "\\n" " ")end" >&2',
      'test -f /workspace/README.txt || exit 3',
      'exit 2',
    ].join('; ');
    const { registry, ran, audit } = setup({ PreToolUse: [{ matcher: 'run_command', hooks: [{ type: 'command', command: probe }] }] });
    const outcome = await registry.invoke('run_command', { command: 'ls' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'hook' } });
    const reason = outcome.kind === 'denied' ? outcome.decision.reasons.join(' ') : '';
    expect(reason).toContain('workspace read-only');
    expect(reason).toContain('"tool_name":"run_command"');
    expect(reason).toContain('interfaces: lo end');
    expect(reason).not.toMatch(/uid 0\b/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(workspace.dir, 'probe'))).toBe(false);
    expect(ran).toEqual([]);
    expect(audit.entries.find((entry) => entry.kind === 'hook.run')).toMatchObject({ actor: 'hook:workspace', data: { sandboxed: true, outcome: 'deny', exitCode: 2 } });
    expect(await containersOf(sandbox.service.ownerId)).toEqual([]);
  });

  it('a workspace hook that sleeps past its limit denies, and its container is gone', async () => {
    const { registry, ran, audit } = setup({ PreToolUse: [{ hooks: [{ type: 'command', command: 'sleep 60', timeout: 2 }] }] });
    const outcome = await registry.invoke('run_command', { command: 'ls' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'hook' } });
    expect(outcome.kind === 'denied' && outcome.decision.reasons.join(' ')).toContain('time limit');
    expect(ran).toEqual([]);
    expect(audit.entries.find((entry) => entry.kind === 'hook.run')).toMatchObject({ data: { outcome: 'failed', timedOut: true } });
    expect(await containersOf(sandbox.service.ownerId)).toEqual([]);
  });

  it('the emergency stop ends a running workspace hook: the call is refused and the container removed', async () => {
    const { registry, ran, stop, service } = setup({ PreToolUse: [{ hooks: [{ type: 'command', command: 'sleep 60', timeout: 100 }] }] });
    const pending = registry.invoke('run_command', { command: 'ls' }, context());
    for (let i = 0; i < 400 && (await containersOf(sandbox.service.ownerId)).length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(service.runningCount).toBe(1);
    await stop.stopAll();
    expect(await pending).toMatchObject({ kind: 'denied', decision: { allowed: false } });
    expect(ran).toEqual([]);
    // Docker's removal may outlast the stop's wait on a busy machine: the container goes, however long it takes.
    await waitFor(async () => (await containersOf(sandbox.service.ownerId)).length === 0, 60_000, 'the hook container to be removed');
    stop.resume();
    sandbox.service.resume();
  });
});
