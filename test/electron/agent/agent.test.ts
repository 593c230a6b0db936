/**
 * The agent loop end to end in the main process: the real core, real SQLite, the real
 * @anthropic-ai/sdk and a loopback stand-in playing a scripted conversation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { anthropicTurn, startAnthropicStandIn, systemText, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { employeesSql, harness, makeWorkspace, ofType, type AgentHarness } from '../../support/agentFixture';

let standIn: AnthropicStandIn;
let workspace: string;
const open: AgentHarness[] = [];

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

function setUp(options: Parameters<typeof harness>[0] = {}): AgentHarness {
  const h = harness({ endpoints: { anthropicBaseURL: standIn.baseURL }, ...options });
  h.core.settings.update({ provider: 'anthropic', workspace });
  open.push(h);
  return h;
}

describe('the agent loop', () => {
  it('reviews a table: intent, plan, read_file round trip, streamed answer, usage', async () => {
    const h = setUp();
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ text: ['I will read the definition.'], tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }], inputTokens: 1000, outputTokens: 40 }) },
      { kind: 'stream', events: anthropicTurn({ text: ['`salary` has ', 'no CHECK constraint; ', '`manager_id` lacks a foreign key.'], inputTokens: 1200, outputTokens: 60 }) },
    );
    const { conversationId, events } = await h.turn('review the employees table definition');

    // The intent is a label; the plan shown is the model's own (update_plan), never fixed text.
    expect(ofType(events, 'agent.intent')[0]).toMatchObject({ intent: 'code-review', plan: [] });
    expect(ofType(events, 'tool.call')).toMatchObject([{ tool: 'read_file', args: { path: 'sql/employees.sql' }, risk: 'read-only' }]);
    expect(ofType(events, 'tool.result')).toMatchObject([{ ok: true, output: employeesSql }]);
    const tokens = ofType(events, 'model.token').map((e) => e.delta).join('');
    expect(tokens).toBe('I will read the definition.`salary` has no CHECK constraint; `manager_id` lacks a foreign key.');
    const assistant = ofType(events, 'chat.message').filter((e) => e.message.role === 'assistant').map((e) => e.message.text);
    expect(assistant).toEqual(['I will read the definition.', '`salary` has no CHECK constraint; `manager_id` lacks a foreign key.']);

    // The tool's result went back to the model as a tool_result for its tool_use.
    const second = standIn.requests.at(-1)?.body;
    const lastUser = second?.messages.at(-1) as { role: string; content: { type: string; tool_use_id: string; content: string; is_error: boolean }[] };
    expect(lastUser.role).toBe('user');
    expect(lastUser.content[0]).toMatchObject({ type: 'tool_result', content: employeesSql, is_error: false });
    // A review is offered every tool, not a list chosen by its intent: the gate decides what runs.
    expect(second?.tools?.map((t) => t.name)).toEqual(expect.arrayContaining(['read_file', 'report_findings', 'propose_edit', 'run_command', 'git_commit', 'git_push', 'update_plan', 'pulumi_preview']));
    expect(standIn.violations).toEqual([]);
    expect(systemText(second!)).toMatch(/code review/i);

    // Usage adds up across both model calls, with cost from the model's price.
    const usage = ofType(events, 'agent.usage').at(-1)?.usage;
    expect(usage).toMatchObject({ inputTokens: 2200, outputTokens: 100 });
    // claude-sonnet-5-5 is $2 in / $10 out per million tokens (electron/models/pricing.ts).
    expect(usage?.costUsd).toBeCloseTo((2200 * 2 + 100 * 10) / 1e6, 10);
    expect(usage?.unpricedCalls).toBe(0);
    expect(h.core.handlers['conversation.list']({}, { transport: 'test' })).toMatchObject({
      conversations: [{ id: conversationId, title: 'review the employees table definition', usage: { inputTokens: 2200 } }],
    });
  });

  it('sends arguments that fail the schema back to the model, never to the executor', async () => {
    const h = setUp();
    const executor = vi.fn(async () => ({ ok: true, output: 'ran' }));
    h.core.registry.register({ name: 'count_rows', description: 'Count rows', input: z.object({ table: z.string().min(1) }).strict(), risk: 'read-only' }, executor);
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', input: { file: 'x' } }, { name: 'read_file', rawJson: '{"path": ' }, { name: 'count_rows', input: { table: '' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Sorry.'] }) },
    );
    const { events } = await h.turn('what is in the workspace?');
    const results = ofType(events, 'tool.result');
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    expect(results[0]?.output).toMatch(/do not match its schema/);
    expect(results[1]?.output).toMatch(/Malformed tool call/);
    expect(results[2]?.output).toMatch(/count_rows do not match its schema/);
    const back = standIn.requests.at(-1)?.body.messages.at(-1) as { content: { is_error: boolean }[] };
    expect(back.content.map((c) => c.is_error)).toEqual([true, true, true]);
    expect(executor).not.toHaveBeenCalled();
  });

  it('does not run a tool the gate denies, and tells the model why', async () => {
    const executor = vi.fn(async () => ({ ok: true, output: 'pushed' }));
    const h = setUp({
      executors: {
        gate: {
          decide: async ({ tool }) =>
            tool.risk === 'read-only'
              ? { allowed: true, risk: tool.risk, decidedBy: 'policy', reasons: [] }
              : { allowed: false, risk: tool.risk, decidedBy: 'user', reasons: ['protected branch'] },
        },
        // A recording git_push in place of the git tools.
        git: (registry) => registry.register({ name: 'git_push', description: 'Push', input: z.object({ branch: z.string() }).strict(), risk: 'high' }, executor),
      },
    });
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'git_push', input: { branch: 'main' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Understood.'] }) },
    );
    const { events } = await h.turn('commit and push to main');
    expect(ofType(events, 'agent.intent')[0]?.intent).toBe('github-commit');
    expect(executor).not.toHaveBeenCalled();
    expect(ofType(events, 'tool.result')[0]).toMatchObject({ ok: false, output: expect.stringMatching(/Not approved \(high risk, decided by user\): protected branch/) });
  });

  it('ends a runaway loop at its step budget with a clear message', async () => {
    const h = setUp({ budget: { modelTurns: 3 } });
    standIn.script(...Array.from({ length: 3 }, () => ({ kind: 'stream' as const, events: anthropicTurn({ tools: [{ name: 'list_files', input: {} }] }) })));
    const before = standIn.requests.length;
    const { events } = await h.turn('look around');
    expect(standIn.requests.length - before).toBe(3);
    expect(ofType(events, 'chat.message').at(-1)?.message).toMatchObject({ role: 'system', text: expect.stringMatching(/step budget \(3 model calls\)/) });
    expect(ofType(events, 'agent.status').at(-1)?.state).toBe('idle');
  });

  it('says in plain words when the key is missing, and does not hang', async () => {
    const h = setUp({ secrets: { get: async () => undefined } });
    const before = standIn.requests.length;
    const { events } = await h.turn('hello');
    expect(standIn.requests.length).toBe(before);
    expect(ofType(events, 'chat.message').at(-1)?.message).toMatchObject({ role: 'system', text: expect.stringContaining('No Anthropic API key is set') });
  });

  it('keeps the partial answer and runs no tool when the emergency stop lands mid-stream', async () => {
    const h = setUp();
    const executor = vi.fn(async () => ({ ok: true, output: 'x' }));
    h.core.registry.register({ name: 'probe', description: 'Probe', input: z.object({}).strict(), risk: 'read-only' }, executor);
    const turn = anthropicTurn({ text: Array.from({ length: 400 }, (_, i) => `w${i} `), tools: [{ name: 'probe', input: {} }] });
    standIn.script({ kind: 'stream', events: turn, intervalMs: 3 });
    const sent = h.core.agent.send('review it');
    await vi.waitFor(() => expect(ofType(h.events, 'model.token').length).toBeGreaterThan(5));
    const report = await h.core.stop.stopAll();
    await h.core.agent.whenIdle(sent.conversationId);
    expect(report.stopped).toContainEqual(expect.objectContaining({ kind: 'model-stream', outcome: 'stopped' }));
    expect(executor).not.toHaveBeenCalled();
    const messages = ofType(h.events, 'chat.message').map((e) => e.message);
    expect(messages.find((m) => m.role === 'assistant')?.text).toMatch(/^w0 w1 .*\(stopped\)\*$/s);
    expect(messages.at(-1)).toMatchObject({ role: 'system', text: 'Stopped by the emergency stop.' });
    expect(() => h.core.agent.send('again')).toThrow(expect.objectContaining({ code: 'stopped' }));
  });

  it('reopens a conversation after a restart exactly as it was', async () => {
    const first = setUp();
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', input: { path: 'README.md' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['A payroll ', 'project.'] }) },
    );
    const { conversationId, events } = await first.turn('what is this project?');
    const kept = events.filter((e) => ['chat.message', 'agent.intent', 'agent.thinking', 'agent.plan', 'tool.call', 'tool.result', 'agent.usage'].includes(e.type));
    expect(kept.some((e) => e.type === 'agent.thinking')).toBe(true);
    await first.core.close();
    open.splice(open.indexOf(first), 1);

    const second = setUp({ dataDir: first.dataDir });
    const reopened = second.core.handlers['conversation.open']({ conversationId }, { transport: 'test' });
    expect(reopened).toEqual({ conversation: expect.objectContaining({ id: conversationId }), events: kept });

    // And it continues from the same context.
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Yes.'] }) });
    await second.turn('really?', conversationId);
    const roles = standIn.requests.at(-1)?.body.messages.map((m) => m.role);
    expect(roles).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
  });

  it('refuses a second message while the first is still being answered', async () => {
    const h = setUp();
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: Array.from({ length: 50 }, () => 'x') }), intervalMs: 5 });
    const sent = h.core.agent.send('hello');
    expect(() => h.core.agent.send('again', sent.conversationId)).toThrow(expect.objectContaining({ code: 'refused' }));
    expect(h.core.agent.cancel(sent.conversationId)).toBe(true);
    await h.core.agent.whenIdle(sent.conversationId);
    expect(ofType(h.events, 'chat.message').at(-1)?.message.text).toBe('Cancelled.');
  });
});

describe('intent of a follow-up', () => {
  it('carries on the conversation\'s intent when the message names none', async () => {
    const h = setUp();
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Here is the plan.'] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Applying.'] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Fine.'] }) },
    );
    const first = await h.turn('deploy the staging stack');
    const followUp = await h.turn('yes, go ahead', first.conversationId);
    expect(ofType(followUp.events, 'agent.intent')[0]?.intent).toBe('infra-deploy');
    const other = await h.turn('what does this regex do?', first.conversationId);
    expect(ofType(other.events, 'agent.intent')[0]?.intent).toBe('question');
  });
});
