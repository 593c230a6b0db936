/**
 * The agent on today's models: the live plan (update_plan), stop reasons (pause_turn,
 * refusal, max_tokens), thinking kept and replayed, and the rule that only what was offered
 * in a request may run.
 */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../../electron/agent/agent';
import { ConversationStore } from '../../../electron/agent/conversationStore';
import { ToolRegistry } from '../../../electron/agent/tools';
import { EventHub } from '../../../electron/core/eventHub';
import { StopController } from '../../../electron/core/stopController';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import type { ModelProvider, ModelRequest, ModelStreamEvent } from '../../../electron/models/modelProvider';
import type { SophiaEvent } from '../../../shared/contract';
import { anthropicSuite, harness, ofType, type AgentHarness } from '../../support/agentFixture';
import { tempDataDir } from '../../support/hostFixture';
import { anthropicTurn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';

let standIn: AnthropicStandIn;
let workspace: string;
const open: AgentHarness[] = [];

anthropicSuite(open, (stood, made) => {
  standIn = stood;
  workspace = made;
});

function setUp(options: Parameters<typeof harness>[0] = {}): AgentHarness {
  const h = harness({ endpoints: { anthropicBaseURL: standIn.baseURL }, ...options });
  h.core.settings.update({ provider: 'anthropic', workspace });
  open.push(h);
  return h;
}

const assistantText = (events: SophiaEvent[]) => ofType(events, 'chat.message').filter((e) => e.message.role === 'assistant').map((e) => e.message.text);

describe('the live plan', () => {
  it('update_plan posts the checklist, updates it in place, and it comes back on reopening', async () => {
    const h = setUp();
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'update_plan', input: { steps: [{ text: 'Read the table', status: 'pending' }, { text: 'Report', status: 'pending' }] } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'update_plan', input: { steps: [{ text: 'Read the table', status: 'done' }, { text: 'Report', status: 'failed' }] } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Done.'] }) },
    );
    const { conversationId, events } = await h.turn('review the employees table');
    const plans = ofType(events, 'agent.plan');
    expect(plans.map((plan) => plan.steps.map((step) => step.status))).toEqual([['pending', 'pending'], ['done', 'failed']]);
    expect(ofType(events, 'tool.result').filter((r) => r.output.startsWith('Plan shown'))).toHaveLength(2);
    const reopened = h.core.handlers['conversation.open']({ conversationId }, { transport: 'test' }) as { events: SophiaEvent[] };
    expect(ofType(reopened.events, 'agent.plan').at(-1)?.steps).toEqual([{ text: 'Read the table', status: 'done' }, { text: 'Report', status: 'failed' }]);
  });

  it('refuses a malformed plan (a status it does not know) and tells the model', async () => {
    const h = setUp();
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'update_plan', input: { steps: [{ text: 'x', status: 'skipped' }] } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Ok.'] }) },
    );
    const { events } = await h.turn('plan something');
    expect(ofType(events, 'agent.plan')).toEqual([]);
    expect(ofType(events, 'tool.result')[0]).toMatchObject({ ok: false, output: expect.stringMatching(/update_plan do not match its schema/) });
  });
});

describe('stop reasons', () => {
  it('pause_turn: the paused turn goes back as it is and the model carries on', async () => {
    const h = setUp();
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Half '], stopReason: 'pause_turn' }) }, { kind: 'stream', events: anthropicTurn({ text: ['way there.'] }) });
    const before = standIn.requests.length;
    const { events } = await h.turn('what is this project?');
    expect(standIn.requests.length - before).toBe(2);
    expect(standIn.requests.at(-1)?.body.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(assistantText(events)).toEqual(['Half ', 'way there.']);
    expect(standIn.refusals).toEqual([]);
  });

  it('refusal: says so in plain words and keeps nothing of the refused reply', async () => {
    const h = setUp();
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['I can'], stopReason: 'refusal' }) }, { kind: 'stream', events: anthropicTurn({ text: ['Fine.'] }) });
    const { conversationId, events } = await h.turn('what is this project?');
    expect(ofType(events, 'chat.message').at(-1)?.message).toMatchObject({ role: 'system', text: expect.stringMatching(/declined this request/) });
    await h.turn('something else then', conversationId);
    expect(standIn.requests.at(-1)?.body.messages.map((m) => m.role)).toEqual(['user', 'user']);
  });

  it('max_tokens: a reply cut off mid-call runs none of its calls and says how to go on', async () => {
    const executor = vi.fn(async () => ({ ok: true, output: 'ran' }));
    // A recording run_command in place of the sandbox's.
    const h = setUp({ executors: { command: (registry) => registry.register({ name: 'run_command', description: 'Run', input: z.object({ command: z.string() }).strict(), risk: 'read-only' }, executor) } });
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Running the tests.'], tools: [{ name: 'run_command', input: { command: 'npm test' } }], stopReason: 'max_tokens' }) });
    const { events } = await h.turn('run the tests');
    expect(executor).not.toHaveBeenCalled();
    expect(ofType(events, 'chat.message').at(-1)?.message.text).toMatch(/cut off at its output limit .* tool calls did not run\. Send "continue"/);
  });
});

describe('the model chooses; the gate protects', () => {
  it('a call to a tool that was not offered in that request is refused and told to the model', async () => {
    const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
    const events = new EventHub();
    const seen: SophiaEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const store = new ConversationStore(db);
    const registry = new ToolRegistry({ decide: async ({ tool }) => ({ allowed: true, risk: tool.risk, decidedBy: 'policy', reasons: [] }) });
    const ran: string[] = [];
    registry.register({ name: 'read_file', description: 'Read', input: z.object({ path: z.string() }).strict(), risk: 'read-only' }, async () => {
      ran.push('read_file');
      return { ok: true, output: 'text' };
    });
    registry.register({ name: 'git_push', description: 'Push', input: z.object({ branch: z.string() }).strict(), risk: 'high' }, async () => {
      ran.push('git_push');
      return { ok: true, output: 'pushed' };
    });
    // An in-process model (not a stand-in of a service) that calls a tool it was not offered.
    const requests: ModelRequest[] = [];
    const provider: ModelProvider = {
      id: 'anthropic',
      model: 'claude-sonnet-5-5',
      offline: false,
      async *stream(request): AsyncIterable<ModelStreamEvent> {
        requests.push(request);
        if (requests.length === 1) {
          yield { type: 'tool_call', id: 'toolu_a', name: 'git_push', input: { branch: 'main' } };
          yield { type: 'done', stopReason: 'tool_use' };
        } else {
          yield { type: 'text', delta: 'ok' };
          yield { type: 'done', stopReason: 'end_turn' };
        }
      },
    };
    const agent = new Agent({
      events,
      store,
      registry,
      stop: new StopController(events),
      provider: async () => provider,
      workspace: () => '',
      // As in plan mode or for the viewer: only read-only tools are offered.
      offerable: (definition) => definition.risk === 'read-only',
    });
    const { conversationId } = agent.send('push it');
    await agent.whenIdle(conversationId);
    expect(requests[0]?.tools.map((tool) => tool.name)).toEqual(['read_file']);
    expect(ran).toEqual([]);
    expect(ofType(seen, 'tool.result')[0]).toMatchObject({ ok: false, output: expect.stringMatching(/git_push was not offered to you in this request/) });
    const back = requests[1]?.messages.at(-1)?.content[0];
    expect(back).toMatchObject({ type: 'tool_result', toolUseId: 'toolu_a', isError: true });
    db.close();
  });

  it('plan mode, switched from the chat channel, offers only read-only tools and says so in the system prompt', async () => {
    const h = setUp();
    await h.core.handlers['agent.planMode']({ on: true }, { transport: 'test' });
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Here is the plan.'] }) });
    await h.turn('fix the failing test and commit it');
    const body = standIn.requests.at(-1)?.body;
    expect(body?.tools?.map((tool) => tool.name)).toContain('read_file');
    expect(body?.tools?.map((tool) => tool.name)).not.toContain('propose_edit');
    expect(JSON.stringify(body?.system)).toMatch(/Plan mode is ON/);
    expect(h.core.safety.audit.query({ kind: 'policy', limit: 10 }).some((entry) => /Plan mode on/.test(entry.summary))).toBe(true);
    await h.core.handlers['agent.planMode']({ on: false }, { transport: 'test' });
  });
});
