import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ToolRegistry, ToolRegistryError, type ToolDefinition } from '../../../electron/agent/tools';
import { EventHub } from '../../../electron/core/eventHub';
import { ApprovalGate } from '../../../electron/safety/approvalGate';
import { ApprovalBroker } from '../../../electron/safety/approvals';
import { defaultPolicy, type Policy } from '../../../electron/safety/policy';
import type { SophiaEvent } from '../../../shared/contract';
import { context, RecordingAudit, ScriptedApprover, tools } from './safetyFixtures';

function setup(options: { approver?: ScriptedApprover | ApprovalBroker; policy?: Partial<Policy>; timeoutMs?: number } = {}) {
  const audit = new RecordingAudit();
  const stop = { locked: false };
  const gate = new ApprovalGate({
    policy: () => ({ ...defaultPolicy, ...options.policy }),
    stop,
    audit,
    approver: options.approver,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const ran: string[] = [];
  const registry = new ToolRegistry(gate);
  for (const tool of Object.values(tools)) {
    registry.register(tool as ToolDefinition, async (input) => {
      ran.push(`${tool.name} ${JSON.stringify(input)}`);
      return { ok: true, output: 'done' };
    });
  }
  return { audit, stop, gate, registry, ran };
}

describe('the approval gate', () => {
  it('runs read-only calls without asking, and audits them', async () => {
    const { registry, ran, audit } = setup();
    const outcome = await registry.invoke('read_file', { path: 'a.ts' }, context());
    expect(outcome.kind).toBe('executed');
    expect(ran).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({ kind: 'approval', risk: 'read-only', actor: 'policy' });
  });

  it('fails closed: no approver, a throwing approver, a timeout and a stop are all denials', async () => {
    const cases = [
      { approver: undefined, decidedBy: 'no-approver' },
      { approver: new ScriptedApprover(['throw']), decidedBy: 'error' },
      { approver: new ScriptedApprover(['hang']), decidedBy: 'timeout' },
      { approver: new ScriptedApprover([{ decision: 'stopped' }]), decidedBy: 'stop' },
    ] as const;
    for (const { approver, decidedBy } of cases) {
      const { registry, ran, audit } = setup({ approver, timeoutMs: 20 });
      const outcome = await registry.invoke('git_push', { branch: 'main' }, context());
      expect(outcome, decidedBy).toMatchObject({ kind: 'denied', decision: { allowed: false, decidedBy, risk: 'high' } });
      expect(ran).toEqual([]);
      expect(audit.entries.at(-1)).toMatchObject({ risk: 'high', actor: decidedBy });
    }
  });

  it('refuses every call once stopped, before any assessment, and audits it as refused after stop', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve' }]);
    const { registry, ran, audit, stop } = setup({ approver });
    stop.locked = true;
    const outcome = await registry.invoke('read_file', { path: 'a.ts' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'stop' } });
    expect(ran).toEqual([]);
    expect(approver.questions).toEqual([]);
    expect(audit.entries).toEqual([expect.objectContaining({ kind: 'refusal', summary: 'read_file refused after stop' })]);
  });

  it('does not ask at all when the stop lands while the preview is being made', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve' }]);
    const { gate, stop, audit } = setup({ approver });
    const slowPreview = {
      ...tools.writeFile,
      preview: async () => {
        stop.locked = true;
        return 'diff';
      },
    };
    const decision = await gate.decide({ conversationId: 'c', callId: 'x', tool: slowPreview, input: { path: 'a', content: 'b' } }, new AbortController().signal);
    expect(decision).toMatchObject({ allowed: false, decidedBy: 'stop' });
    expect(approver.questions).toEqual([]);
    expect(audit.entries.at(-1)?.summary).toBe('write_file refused after stop');
  });

  it('does not count an approval that lands after the stop', async () => {
    const { registry, ran, stop } = setup({
      approver: {
        ask: async () => {
          stop.locked = true;
          return { decision: 'approve' };
        },
      } as unknown as ScriptedApprover,
    });
    const outcome = await registry.invoke('git_push', { branch: 'main' }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'stop' } });
    expect(ran).toEqual([]);
  });

  it('asks a human at or above the threshold, and shows the operation, the risk, why, and the preview', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve' }]);
    const { registry, ran } = setup({ approver });
    const outcome = await registry.invoke('write_file', { path: 'src/a.ts', content: 'x = 1' }, context());
    expect(outcome.kind).toBe('executed');
    expect(ran).toHaveLength(1);
    expect(approver.questions[0]).toMatchObject({
      operation: 'write src/a.ts',
      tool: 'write_file',
      risk: 'low',
      sessionApproval: true,
      preview: expect.stringContaining('+x = 1'),
      reasons: [expect.stringContaining('declared low')],
    });
  });

  it('offers "approve for this session" for low risk only, and honours it for that tool only', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve-for-session' }, { decision: 'approve-for-session' }]);
    const { registry, ran } = setup({ approver });
    await registry.invoke('write_file', { path: 'src/a.ts', content: 'a' }, context('c1'));
    await registry.invoke('write_file', { path: 'src/b.ts', content: 'b' }, context('c2'));
    expect(approver.questions).toHaveLength(1);
    expect(ran).toHaveLength(2);

    // Medium risk: the card does not offer it, and a forged answer is refused.
    const outcome = await registry.invoke('run_command', { command: 'npm test' }, context('c3'));
    expect(approver.questions[1]?.sessionApproval).toBe(false);
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'policy' } });
  });

  it('never session-approves a write to a protected path, even for a tool granted for the session', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve-for-session' }, 'hang']);
    const { registry, ran } = setup({ approver, timeoutMs: 20 });
    await registry.invoke('write_file', { path: 'src/a.ts', content: 'a' }, context('c1'));
    const outcome = await registry.invoke('write_file', { path: '.sophia/policy.yaml', content: 'approvalThreshold: critical' }, context('c2'));
    expect(approver.questions[1]).toMatchObject({ risk: 'high', sessionApproval: false });
    expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'timeout' } });
    expect(ran).toHaveLength(1);
  });

  it('asks even below the threshold for a protected path and for critical risk', async () => {
    const approver = new ScriptedApprover(['hang', 'hang']);
    const { registry, ran } = setup({ approver, policy: { approvalThreshold: 'critical' }, timeoutMs: 20 });
    await registry.invoke('write_file', { path: '.git/config', content: 'x' }, context('c1'));
    await registry.invoke('run_command', { command: 'rm -rf /workspace' }, context('c2'));
    expect(approver.questions.map((question) => question.risk)).toEqual(['high', 'critical']);
    expect(ran).toEqual([]);
  });

  it('re-assesses a modified call: the edit runs, but never something the policy forbids', async () => {
    const approver = new ScriptedApprover([
      { decision: 'modify', input: { command: 'npm test -- --run' } },
      { decision: 'modify', input: { command: 'rm -rf /' } },
    ]);
    const { registry, ran } = setup({ approver });
    expect((await registry.invoke('run_command', { command: 'npm test' }, context('c1'))).kind).toBe('executed');
    expect(ran).toEqual(['run_command {"command":"npm test -- --run"}']);
    const refused = await registry.invoke('run_command', { command: 'npm test' }, context('c2'));
    expect(refused).toMatchObject({ kind: 'denied', decision: { risk: 'critical' } });
    expect(ran).toHaveLength(1);
  });

  it('refuses above the role with the reason, and audits the refusal', async () => {
    const viewer = setup({ policy: { role: 'viewer' }, approver: new ScriptedApprover([{ decision: 'approve' }]) });
    expect((await viewer.registry.invoke('read_file', { path: 'a' }, context())).kind).toBe('executed');
    const refused = await viewer.registry.invoke('write_file', { path: 'a', content: 'b' }, context());
    expect(refused).toMatchObject({ kind: 'denied', decision: { decidedBy: 'role', reasons: expect.arrayContaining([expect.stringContaining('viewer role')]) } });
    expect(viewer.audit.entries.at(-1)).toMatchObject({ kind: 'refusal', actor: 'role' });

    const developer = setup({ approver: new ScriptedApprover([{ decision: 'approve' }, { decision: 'approve' }]) });
    expect((await developer.registry.invoke('pulumi_up', { stack: 'staging' }, context())).kind).toBe('executed');
    expect(await developer.registry.invoke('pulumi_up', { stack: 'prod' }, context())).toMatchObject({
      kind: 'denied',
      decision: { decidedBy: 'role', risk: 'critical', reasons: expect.arrayContaining([expect.stringContaining('admin role')]) },
    });

    const admin = setup({ policy: { role: 'admin' }, approver: new ScriptedApprover([{ decision: 'approve' }]) });
    expect((await admin.registry.invoke('pulumi_up', { stack: 'prod' }, context())).kind).toBe('executed');
  });

  it('refuses a never-allowed command whoever would approve it', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve' }]);
    const { registry, ran } = setup({ approver, policy: { role: 'admin' } });
    expect(await registry.invoke('run_command', { command: 'rm -rf / --no-preserve-root' }, context())).toMatchObject({ kind: 'denied', decision: { decidedBy: 'policy' } });
    expect(approver.questions).toEqual([]);
    expect(ran).toEqual([]);
  });

  it('auto-approves the user’s listed tools up to medium, never high', async () => {
    const approver = new ScriptedApprover(['hang']);
    const { registry, ran } = setup({ approver, policy: { autoApprove: ['run_command'] }, timeoutMs: 20 });
    expect((await registry.invoke('run_command', { command: 'npm test' }, context())).kind).toBe('executed');
    expect((await registry.invoke('run_command', { command: 'git push origin main' }, context())).kind).toBe('denied');
    expect(ran).toHaveLength(1);
  });

  it('takes no risk from the model’s own word', async () => {
    const approver = new ScriptedApprover(['hang']);
    const { registry, ran } = setup({ approver, timeoutMs: 20 });
    const outcome = await registry.invoke('git_push', { branch: 'main', requires_approval: false, risk: 'read-only', approved: true }, context());
    expect(outcome).toMatchObject({ kind: 'denied', decision: { risk: 'high', decidedBy: 'timeout' } });
    expect(ran).toEqual([]);
  });

  it('is refused by a registry that meets a tool with no declared risk', () => {
    const { registry } = setup();
    const noRisk = { name: 'sneaky', description: 'x', input: z.object({}) } as unknown as ToolDefinition;
    expect(() => registry.register(noRisk, async () => ({ ok: true, output: '' }))).toThrow(ToolRegistryError);
  });
});

describe('the approval broker', () => {
  it('publishes a card, takes one answer, and resolves the card', async () => {
    const events = new EventHub();
    const seen: SophiaEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const broker = new ApprovalBroker(events);
    const { registry, ran } = setup({ approver: broker });
    const pending = registry.invoke('write_file', { path: 'src/a.ts', content: 'x' }, context());
    const card = await vi.waitFor(() => {
      const found = seen.find((event) => event.type === 'approval.request');
      if (!found) throw new Error('no card yet');
      return found;
    });
    if (card?.type !== 'approval.request') throw new Error('no card');
    expect(broker.pending()).toHaveLength(1);
    expect(() => broker.answer({ approvalId: card.approvalId, decision: 'modify', args: 'not json' })).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(broker.answer({ approvalId: card.approvalId, decision: 'approve' })).toBe(true);
    expect(broker.answer({ approvalId: card.approvalId, decision: 'approve' })).toBe(false);
    await pending;
    expect(ran).toHaveLength(1);
    expect(seen.at(-1)).toEqual({ type: 'approval.resolved', approvalId: card.approvalId, outcome: 'approved' });
  });

  it('refuses "approve for this session" on a card that does not offer it', async () => {
    const events = new EventHub();
    const seen: SophiaEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const broker = new ApprovalBroker(events);
    const { registry, ran } = setup({ approver: broker });
    const pending = registry.invoke('git_push', { branch: 'main' }, context());
    const card = await vi.waitFor(() => {
      const found = seen.find((event) => event.type === 'approval.request');
      if (!found) throw new Error('no card yet');
      return found;
    });
    if (card?.type !== 'approval.request') throw new Error('no card');
    expect(() => broker.answer({ approvalId: card.approvalId, decision: 'approve-for-session' })).toThrow(expect.objectContaining({ code: 'refused' }));
    expect(broker.rejectAll()).toEqual([expect.objectContaining({ kind: 'approval', outcome: 'stopped' })]);
    expect(await pending).toMatchObject({ kind: 'denied', decision: { decidedBy: 'stop' } });
    expect(ran).toEqual([]);
  });
});
