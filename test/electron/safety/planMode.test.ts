/** Plan mode at the gate: while it is on, nothing above read-only runs, whoever asks and whatever is answered. */
import { describe, expect, it } from 'vitest';
import { ToolRegistry, type ToolDefinition } from '../../../electron/agent/tools';
import { ApprovalGate } from '../../../electron/safety/approvalGate';
import type { ApprovalEnding } from '../../../electron/safety/approvals';
import { defaultPolicy } from '../../../electron/safety/policy';
import { context, RecordingAudit, ScriptedApprover, tools } from './safetyFixtures';

function setup(answers: (ApprovalEnding | 'hang' | 'throw')[], planMode: () => boolean) {
  const audit = new RecordingAudit();
  const approver = new ScriptedApprover(answers);
  // Everything auto-approved and the threshold at critical: only plan mode stands in the way.
  const gate = new ApprovalGate({ policy: () => ({ ...defaultPolicy, approvalThreshold: 'critical', autoApprove: ['git_commit', 'run_command', 'write_file'] }), stop: { locked: false }, audit, approver, planMode, timeoutMs: 50 });
  const ran: string[] = [];
  const registry = new ToolRegistry(gate);
  for (const tool of Object.values(tools)) {
    registry.register(tool as ToolDefinition, async () => {
      ran.push(tool.name);
      return { ok: true, output: 'done' };
    });
  }
  return { registry, ran, audit, approver };
}

describe('plan mode at the gate', () => {
  it('refuses every call above read-only, even auto-approved ones, and audits it; read-only calls still run', async () => {
    const { registry, ran, audit, approver } = setup([{ decision: 'approve' }], () => true);
    const calls: [string, unknown][] = [
      ['git_commit', { message: 'm' }],
      ['run_command', { command: 'npm test' }],
      ['write_file', { path: 'a.ts', content: 'x' }],
      ['git_push', { branch: 'feature' }],
      ['pulumi_up', { stack: 'dev' }],
    ];
    for (const [name, input] of calls) {
      const outcome = await registry.invoke(name, input, context(`c-${name}`));
      expect(outcome, name).toMatchObject({ kind: 'denied', decision: { allowed: false, decidedBy: 'plan-mode' } });
    }
    expect(ran).toEqual([]);
    expect(approver.questions).toEqual([]); // nobody was even asked
    expect(audit.entries.filter((entry) => entry.kind === 'refusal' && entry.actor === 'plan-mode')).toHaveLength(calls.length);
    expect(await registry.invoke('read_file', { path: 'a.ts' }, context('r'))).toMatchObject({ kind: 'executed' });
    expect(ran).toEqual(['read_file']);
  });

  it('an approval given after plan mode was switched on does not count', async () => {
    let on = false;
    const { registry, ran } = setup([{ decision: 'approve' }], () => on);
    // pulumi_up is high risk: it waits for a person; plan mode goes on while the card is open.
    const pending = registry.invoke('pulumi_up', { stack: 'dev' }, context('p'));
    on = true;
    expect(await pending).toMatchObject({ kind: 'denied', decision: { decidedBy: 'plan-mode' } });
    expect(ran).toEqual([]);
  });

  it('fails closed: a plan-mode switch that cannot be read counts as on', async () => {
    const { registry, ran } = setup([], () => {
      throw new Error('settings unreadable');
    });
    expect(await registry.invoke('git_commit', { message: 'm' }, context())).toMatchObject({ kind: 'denied', decision: { decidedBy: 'plan-mode' } });
    expect(ran).toEqual([]);
  });

  it('off, the same calls run as before (the test can fail)', async () => {
    const { registry, ran } = setup([], () => false);
    expect(await registry.invoke('git_commit', { message: 'm' }, context())).toMatchObject({ kind: 'executed' });
    expect(ran).toEqual(['git_commit']);
  });
});
