/**
 * run_command against the real Docker engine, through the real core: the agent (the real
 * Anthropic SDK against the loopback stand-in) runs a fixture workspace's failing tests in
 * a fresh hardened sandbox container, the failing output goes back to the model, the model
 * proposes a fix with propose_edit, the person approves it, and the tests pass on the next
 * run. The sandbox service and its hardening are the product's own, untouched.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { tempDataDir } from '../../support/hostFixture';
import { containersOf, newService } from './support';

const payroll = `def net_salary(gross, tax_rate):
    """Gross pay minus tax; a rate is a fraction (0.2 is 20 %)."""
    return gross - gross * tax_rate * 100
`;
const fixed = payroll.replace('gross * tax_rate * 100', 'gross * tax_rate');
const tests = `import unittest

from payroll import net_salary


class NetSalaryTest(unittest.TestCase):
    def test_twenty_percent(self):
        self.assertEqual(net_salary(1000, 0.2), 800)

    def test_no_tax(self):
        self.assertEqual(net_salary(1000, 0), 1000)


if __name__ == "__main__":
    unittest.main()
`;
const testCommand = 'PYTHONDONTWRITEBYTECODE=1 python3 -m unittest -v test_payroll';

let model: AnthropicStandIn;
let core: SophiaCore;
let workspace: string;
const events: SophiaEvent[] = [];
// The service publishes its own events (container output) to this test, as the app's hub would.
const { service, events: sandboxEvents } = newService();

beforeAll(async () => {
  model = await startAnthropicStandIn();
  workspace = await mkdtemp(path.join(tmpdir(), 'sophia-run-'));
  await mkdir(workspace, { recursive: true });
  await writeFile(path.join(workspace, 'payroll.py'), payroll);
  await writeFile(path.join(workspace, 'test_payroll.py'), tests);
  // The sandbox's command user is not this process's user: the workspace is readable by all.
  await chmod(workspace, 0o755);
  core = createSophiaCore({
    host: 'browser',
    dataDir: tempDataDir(),
    secrets: { get: async () => 'sk-ant-sandbox-test' },
    endpoints: { anthropicBaseURL: model.baseURL },
    sandbox: service,
    approvalTimeoutMs: 120_000,
  });
  core.settings.update({ workspace });
  // The person: approves each run_command from its card, and the proposed fix in the diff view (its proposal, by the card's call).
  core.events.subscribe((event) => {
    events.push(event);
    if (event.type !== 'approval.request') return;
    queueMicrotask(() => {
      const proposal = event.edit && core.code.proposals.list().find((candidate) => candidate.conversationId === event.conversationId && candidate.callId === event.callId);
      if (proposal) void core.handlers['proposal.answer']({ proposalId: proposal.proposalId, action: 'approve' }, { transport: 'test' });
      else core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' });
    });
  });
  expect((await service.start()).state).toBe('ready');
});

afterAll(async () => {
  await core?.close();
  await model?.close();
  await rm(workspace, { recursive: true, force: true });
});

describe('run_command in a real sandbox container', () => {
  it('a failing test run goes back to the model, which proposes a fix; approved, the tests pass', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Running the tests first.'], tools: [{ name: 'run_command', input: { command: testCommand, timeoutSeconds: 60 } }] }) },
      {
        kind: 'stream',
        events: anthropicTurn({
          text: ['The tax rate is already a fraction; multiplying by 100 is the bug.'],
          tools: [{ name: 'propose_edit', input: { summary: 'net_salary: the tax rate is a fraction, do not multiply it by 100', files: [{ path: 'payroll.py', content: fixed }] } }],
        }),
      },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'run_command', input: { command: testCommand, timeoutSeconds: 60 } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Fixed; both tests pass.'] }) },
    );
    const sent = core.agent.send('run the tests and fix what fails');
    await core.agent.whenIdle(sent.conversationId);

    const results = events.filter((event): event is Extract<SophiaEvent, { type: 'tool.result' }> => event.type === 'tool.result');
    const calls = events.filter((event): event is Extract<SophiaEvent, { type: 'tool.call' }> => event.type === 'tool.call');
    expect(calls.map((call) => call.tool)).toEqual(['run_command', 'propose_edit', 'run_command']);

    // The first run failed inside the container, and said why.
    const failed = results[0];
    expect(failed?.ok).toBe(false);
    expect(failed?.output).toMatch(/^The command failed with exit code 1/);
    expect(failed?.output).toContain('FAIL: test_twenty_percent');
    expect(failed?.output).toContain('AssertionError: -19000.0 != 800');
    // ...and that output is what the model read before it proposed the fix.
    const second = JSON.stringify(model.requests[1]?.body.messages);
    expect(second).toContain('AssertionError: -19000.0 != 800');
    expect(second).toContain('propose a fix with propose_edit');

    // The fix came as a proposal (a diff), was approved, and was written on the host.
    const proposal = events.find((event): event is Extract<SophiaEvent, { type: 'proposal' }> => event.type === 'proposal' && event.proposal.status === 'applied');
    expect(proposal?.proposal.files.map((file) => file.path)).toEqual(['payroll.py']);
    expect(await readFile(path.join(workspace, 'payroll.py'), 'utf8')).toBe(fixed);

    // The second run, in a fresh container, passed.
    expect(results[2]?.ok).toBe(true);
    expect(results[2]?.output).toMatch(/^Exit code 0/);
    expect(results[2]?.output).toMatch(/Ran 2 tests[\s\S]*OK/);

    // The output streamed to the execution log, and every task container is gone.
    expect(sandboxEvents.some((event) => event.type === 'container.output' && event.chunk.includes('FAIL: test_twenty_percent'))).toBe(true);
    expect(await containersOf(service.ownerId)).toEqual([]);
  });
});
