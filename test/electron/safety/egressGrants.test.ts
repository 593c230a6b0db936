/**
 * run_command with network egress or run secrets at the gate: at least high risk whatever
 * else the policy says, never "approved for the session" (neither offered nor accepted, and
 * an earlier session grant of plain run_command does not cover it), and the card names each
 * host:port and each secret name, never a value. MCP's run_tests offers neither argument.
 */
import { describe, expect, it } from 'vitest';
import { ToolRegistry, type ToolDefinition } from '../../../electron/agent/tools';
import { ApprovalGate } from '../../../electron/safety/approvalGate';
import { defaultPolicy, type Policy } from '../../../electron/safety/policy';
import { assess, sandboxGrants } from '../../../electron/safety/inspectors';
import { runCommandTool } from '../../../electron/tools/commandTools';
import { context, RecordingAudit, ScriptedApprover } from './safetyFixtures';

function setup(approver: ScriptedApprover, policy: Partial<Policy> = {}) {
  const audit = new RecordingAudit();
  const gate = new ApprovalGate({ policy: () => ({ ...defaultPolicy, ...policy }), stop: { locked: false }, audit, approver });
  const registry = new ToolRegistry(gate);
  const ran: unknown[] = [];
  registry.register(runCommandTool as unknown as ToolDefinition, async (input) => {
    ran.push(input);
    return { ok: true, output: 'done' };
  });
  return { registry, ran, audit };
}

const egressCall = { command: 'python3 sync.py', egress: ['api.notion.com:443', '127.0.0.1:43123'], secrets: ['NOTION_TOKEN'] };

describe('egress and run secrets at the gate', () => {
  it('raise run_command to high, even with auto-approval and a low threshold in the policy', () => {
    const policy = { ...defaultPolicy, autoApprove: ['run_command'], approvalThreshold: 'critical' as const };
    expect(assess({ tool: 'run_command', declaredRisk: 'medium', input: { command: 'npm test' } }, policy).risk).toBe('medium');
    for (const input of [{ command: 'npm test', egress: ['api.notion.com:443'] }, { command: 'npm test', secrets: ['NOTION_TOKEN'] }, egressCall]) {
      const assessment = assess({ tool: 'run_command', declaredRisk: 'medium', input }, policy);
      expect(assessment.risk).toBe('high');
      expect(assessment.reasons.join(' ')).toMatch(/network egress to api\.notion\.com:443|run secret NOTION_TOKEN/);
    }
    expect(sandboxGrants(egressCall)).toEqual({ hosts: ['api.notion.com:443', '127.0.0.1:43123'], secrets: ['NOTION_TOKEN'] });
    expect(sandboxGrants({ command: 'npm test' })).toBeUndefined();
  });

  it('asks the person every time: no session approval offered, one answered anyway is refused, auto-approval does not apply', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve-for-session' }, { decision: 'approve' }, { decision: 'approve' }]);
    const { registry, ran, audit } = setup(approver, { autoApprove: ['run_command'] });
    const first = await registry.invoke('run_command', egressCall, context());
    expect(first).toMatchObject({ kind: 'denied', decision: { allowed: false, risk: 'high', decidedBy: 'policy' } });
    expect(approver.questions[0]).toMatchObject({ risk: 'high', sessionApproval: false, tool: 'run_command' });
    expect(ran).toEqual([]);
    const second = await registry.invoke('run_command', egressCall, context());
    expect(second.kind).toBe('executed');
    const third = await registry.invoke('run_command', egressCall, context());
    expect(third.kind).toBe('executed');
    // Each run was asked on its own card.
    expect(approver.questions).toHaveLength(3);
    expect(audit.entries.filter((entry) => entry.kind === 'approval' && entry.actor === 'user')).toHaveLength(2);
  });

  it('is not covered by an earlier session grant of run_command in the same conversation', async () => {
    const approver = new ScriptedApprover([{ decision: 'approve-for-session' }, 'hang']);
    // A session grant exists for low risk only: a low-risk run_command gets one here.
    const registry = new ToolRegistry(new ApprovalGate({ policy: () => defaultPolicy, stop: { locked: false }, audit: new RecordingAudit(), approver }));
    registry.register({ ...runCommandTool, risk: 'low' } as unknown as ToolDefinition, async () => ({ ok: true, output: 'done' }));
    expect((await registry.invoke('run_command', { command: 'npm test' }, context('a'))).kind).toBe('executed');
    expect((await registry.invoke('run_command', { command: 'npm test' }, context('b'))).kind).toBe('executed');
    expect(approver.questions).toHaveLength(1);
    // The same conversation, now with egress: asked again, on a card that offers no session approval.
    const controller = new AbortController();
    const pending = registry.invoke('run_command', egressCall, context('c', controller.signal));
    while (approver.questions.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(approver.questions[1]).toMatchObject({ risk: 'high', sessionApproval: false, grants: { hosts: egressCall.egress, secrets: egressCall.secrets } });
    controller.abort();
    expect((await pending).kind).toBe('denied');
  });

  it('names each host and each secret on the card, and in the preview, never a value', async () => {
    const approver = new ScriptedApprover([{ decision: 'cancel' }]);
    const { registry } = setup(approver);
    await registry.invoke('run_command', egressCall, context());
    const question = approver.questions[0];
    expect(question?.grants).toEqual({ hosts: ['api.notion.com:443', '127.0.0.1:43123'], secrets: ['NOTION_TOKEN'] });
    expect(question?.preview).toContain('api.notion.com:443, 127.0.0.1:43123');
    expect(question?.preview).toContain('NOTION_TOKEN');
    // A plain run has no grants on its card.
    const plain = new ScriptedApprover([{ decision: 'cancel' }]);
    await setup(plain).registry.invoke('run_command', { command: 'npm test' }, context());
    expect(plain.questions[0]?.grants).toBeUndefined();
  });
});
