/**
 * The emergency stop as the safety core sees it: pending approvals rejected, the agent
 * locked, the stop and the resume audited, a hanging stopper reported as stuck instead of
 * freezing, and tool calls that arrive late on a stream already in flight refused.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventHub } from '../../../electron/core/eventHub';
import { defaultStopperTimeoutMs, StopController } from '../../../electron/core/stopController';
import { dispatch } from '../../../electron/ipc/dispatch';
import { createAnthropicProvider } from '../../../electron/models/anthropicProvider';
import type { SophiaEvent } from '../../../shared/contract';
import { makeWorkspace, ofType } from '../../support/agentFixture';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { safetyHarness, type SafetyHarness } from './safetyHarness';

let standIn: AnthropicStandIn;
let workspace: string;
const open: SafetyHarness[] = [];

beforeAll(async () => {
  standIn = await startAnthropicStandIn();
  workspace = await makeWorkspace();
});
afterAll(async () => {
  await standIn.close();
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.core.close();
});

function setUp(): SafetyHarness {
  const h = safetyHarness({ endpoints: { anthropicBaseURL: standIn.baseURL }, approvalTimeoutMs: 60_000 });
  h.core.settings.update({ provider: 'anthropic', workspace });
  open.push(h);
  return h;
}

describe('the stop controller', () => {
  it(`reports a stopper that hangs as stuck after ${defaultStopperTimeoutMs} ms instead of waiting for it`, async () => {
    const stop = new StopController(new EventHub());
    stop.register('containers', () => new Promise(() => undefined), { kind: 'container', label: 'task containers' });
    stop.register('streams', async () => [{ kind: 'model-stream', id: 's1', label: 'reply', outcome: 'stopped' }]);
    const report = await stop.stopAll();
    expect(report.stopped).toEqual([
      { kind: 'container', id: 'containers', label: 'task containers', outcome: 'stuck' },
      { kind: 'model-stream', id: 's1', label: 'reply', outcome: 'stopped' },
    ]);
    expect(stop.locked).toBe(true);
  });

  it('tells observers of each stop and resume', async () => {
    const stop = new StopController(new EventHub(), { stopperTimeoutMs: 10 });
    const seen: string[] = [];
    stop.observe((transition) => seen.push(transition.type));
    await stop.stopAll();
    stop.resume();
    expect(seen).toEqual(['stopped', 'resumed']);
  });
});

describe('the emergency stop in the core', () => {
  it('rejects every pending approval, locks the agent, revokes session approvals, and is audited', async () => {
    const h = setUp();
    const granting = h.core.registry.invoke('write_file', { path: 'src/a.ts', content: 'a' }, { conversationId: 'c1', callId: 'g1', signal: new AbortController().signal });
    await vi.waitFor(() => expect(h.core.safety.approvals.pending()).toHaveLength(1));
    h.core.safety.approvals.answer({ approvalId: h.core.safety.approvals.pending()[0]!.approvalId, decision: 'approve-for-session' });
    expect((await granting).kind).toBe('executed');
    h.ran.splice(0);
    const pending = [
      h.core.registry.invoke('push_branch', { branch: 'main' }, { conversationId: 'c1', callId: 'p1', signal: new AbortController().signal }),
      h.core.registry.invoke('run_command', { command: 'npm test' }, { conversationId: 'c1', callId: 'p2', signal: new AbortController().signal }),
    ];
    await vi.waitFor(() => expect(h.core.safety.approvals.pending()).toHaveLength(2));

    const stopped = await dispatch(h.core.handlers, 'stop.all', {}, { transport: 'test' });
    expect(stopped).toMatchObject({ ok: true });
    const report = (stopped as { value: { stopped: { kind: string; outcome: string }[] } }).value;
    expect(report.stopped.filter((item) => item.kind === 'approval')).toHaveLength(2);
    for (const outcome of await Promise.all(pending)) expect(outcome).toMatchObject({ kind: 'denied', decision: { decidedBy: 'stop' } });
    expect(h.ran).toEqual([]);
    expect(h.core.safety.approvals.pending()).toEqual([]);
    expect(ofType(h.events, 'approval.resolved').map((event) => event.outcome)).toEqual(['approved', 'stopped', 'stopped']);

    // Locked: no message, no tool, until resumed.
    expect(await dispatch(h.core.handlers, 'chat.send', { text: 'hello' }, { transport: 'test' })).toMatchObject({ ok: false, error: { code: 'stopped' } });
    expect(await h.core.registry.invoke('read_file', { path: 'README.md' }, { conversationId: 'c1', callId: 'p3', signal: new AbortController().signal })).toMatchObject({ kind: 'denied' });

    await dispatch(h.core.handlers, 'stop.resume', {}, { transport: 'test' });
    const kinds = h.core.safety.audit.query({ limit: 500 }).map((entry) => entry.kind);
    expect(kinds).toContain('stop');
    expect(kinds.slice(0, 2)).toEqual(['resume', 'request']); // newest first: the resume request, then the resume
    expect(h.core.safety.audit.query({ kind: 'resume' })).toHaveLength(1);
    const [stopEntry] = h.core.safety.audit.query({ kind: 'stop' });
    expect(stopEntry?.summary).toMatch(/Emergency stop: \d+ item\(s\) stopped; the agent is locked/);
    expect(h.core.safety.audit.verify().ok).toBe(true);

    // The session approval did not survive the stop: the same low-risk write is asked again.
    const again = h.core.registry.invoke('write_file', { path: 'src/b.ts', content: 'b' }, { conversationId: 'c1', callId: 'g2', signal: new AbortController().signal });
    await vi.waitFor(() => expect(h.core.safety.approvals.pending()).toHaveLength(1));
    h.core.safety.approvals.answer({ approvalId: h.core.safety.approvals.pending()[0]!.approvalId, decision: 'cancel' });
    expect((await again).kind).toBe('denied');
  });

  it('refuses tool calls that keep arriving on a stream after the stop, and audits them as refused after stop', async () => {
    const h = setUp();
    // The stand-in sends six tool calls, one every 40 ms, and never closes the stream by itself.
    const calls = Array.from({ length: 6 }, (_, i) => ({ name: 'write_file', input: { path: `src/f${i}.ts`, content: `${i}` } }));
    standIn.script({ kind: 'stream', events: anthropicTurn({ tools: calls }), intervalMs: 40, holdOpen: true });
    // The real provider, wrapped as the core wraps it, read by a loop that runs each call as it
    // completes and is not told about the stop: the worst case of a stream whose abort has not landed.
    h.core.safety.policy.setRole('developer');
    const provider = h.core.safety.wrapProvider(createAnthropicProvider({ apiKey: 'sk-ant-test-key', model: 'claude-sonnet-5-5', baseURL: standIn.baseURL }));
    const notAborted = new AbortController();
    const approveAll = h.core.events.subscribe((event: SophiaEvent) => {
      if (event.type === 'approval.request') h.core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' });
    });
    const seenCalls: string[] = [];
    const outcomes: string[] = [];
    let stoppedAfter = -1;
    const consumer = (async () => {
      for await (const event of provider.stream({ system: 's', messages: [{ role: 'user', content: [{ type: 'text', text: 'go' }] }], tools: [{ name: 'write_file', description: 'Write a file', inputSchema: { type: 'object' } }], maxTokens: 100, signal: notAborted.signal })) {
        if (event.type !== 'tool_call') continue;
        seenCalls.push(event.id);
        const outcome = await h.core.registry.invoke(event.name, event.input, { conversationId: 'late', callId: event.id.slice(0, 64), signal: notAborted.signal });
        outcomes.push(outcome.kind);
        if (seenCalls.length === 2 && stoppedAfter < 0) {
          stoppedAfter = h.ran.length;
          await h.core.stop.stopAll();
        }
      }
    })();
    // The stream stays open; once every call has been sent, the consumer is done with it.
    await vi.waitFor(() => expect(h.core.safety.audit.query({ kind: 'refusal', limit: 50 }).length).toBeGreaterThanOrEqual(4), { timeout: 5000 });
    notAborted.abort();
    await consumer.catch(() => undefined);
    approveAll();

    expect(stoppedAfter).toBe(2);
    expect(h.ran.map((run) => (run.input as { path: string }).path)).toEqual(['src/f0.ts', 'src/f1.ts']);
    const refused = h.core.safety.audit.query({ kind: 'refusal', limit: 50 });
    expect(refused.length).toBe(4);
    for (const entry of refused) expect(entry.summary).toMatch(/^write_file refused after stop/);
  });
});
