/**
 * What a new user met (issue 18): notices carry a kind the chat turns into an action, a
 * failed turn can be asked again without a second user message, conversations are renamed,
 * deleted (with everything kept for them, audited) and never share a title.
 */
import { describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import { anthropicSuite, harness, ofType, type AgentHarness } from '../../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';

let standIn: AnthropicStandIn;
let workspace: string;
const open: AgentHarness[] = [];

anthropicSuite(open, (stood, made) => {
  standIn = stood;
  workspace = made;
});

function setUp(key: { value: string | undefined } = { value: 'sk-ant-test-key' }): AgentHarness {
  const h = harness({ endpoints: { anthropicBaseURL: standIn.baseURL }, secrets: { get: async () => key.value } });
  h.core.settings.update({ provider: 'anthropic', workspace });
  open.push(h);
  return h;
}

const call = <T>(h: AgentHarness, channel: string, input: unknown): T =>
  (h.core.handlers as unknown as Record<string, (input: unknown, context: { transport: 'test' }) => T>)[channel]!(input, { transport: 'test' });
const notices = (events: SophiaEvent[]) => ofType(events, 'chat.message').filter((event) => event.message.role === 'system').map((event) => event.message);

describe('notices with a kind', () => {
  it('a missing key is a credentials notice; with the key set, Retry answers the same message without sending it twice', async () => {
    const key: { value: string | undefined } = { value: undefined };
    const h = setUp(key);
    const { conversationId, events } = await h.turn('what does employees.sql hold?');
    expect(notices(events).map((notice) => notice.notice)).toEqual(['credentials']);

    key.value = 'sk-ant-test-key';
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['It holds the EMPLOYEES table.'] }) });
    const from = h.events.length;
    expect(call(h, 'chat.retry', { conversationId })).toEqual({ conversationId });
    await h.core.agent.whenIdle(conversationId);
    const after = h.events.slice(from);
    expect(ofType(after, 'chat.message').map((event) => [event.message.role, event.message.text])).toEqual([['assistant', 'It holds the EMPLOYEES table.']]);
    // The model saw the user's message once.
    const sent = standIn.requests.at(-1)!.body.messages;
    expect(sent.filter((message) => message.role === 'user')).toHaveLength(1);
    // Nothing left to retry now.
    expect(() => call(h, 'chat.retry', { conversationId })).toThrow(/nothing to retry/);
  });

  it('a model server that answers 529 is a model-unreachable notice; a 404 model is a model-settings notice', async () => {
    const h = setUp();
    standIn.script({ kind: 'status', status: 529, errorType: 'overloaded_error' }, { kind: 'status', status: 529, errorType: 'overloaded_error' }, { kind: 'status', status: 529, errorType: 'overloaded_error' });
    const first = await h.turn('hello');
    expect(notices(first.events).map((notice) => notice.notice)).toEqual(['model-unreachable']);
    standIn.script({ kind: 'status', status: 404, errorType: 'not_found_error' });
    const second = await h.turn('hello again');
    expect(notices(second.events).map((notice) => notice.notice)).toEqual(['model-settings']);
  });
});

describe('conversations', () => {
  it('titles are unique, on creation and on rename', async () => {
    const h = setUp();
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['One.'] }) }, { kind: 'stream', events: anthropicTurn({ text: ['Two.'] }) }, { kind: 'stream', events: anthropicTurn({ text: ['Three.'] }) });
    const a = await h.turn('Fix tests');
    const b = await h.turn('Fix tests');
    const c = await h.turn('Fix tests');
    const titles = () => call<{ conversations: { id: string; title: string }[] }>(h, 'conversation.list', {}).conversations;
    const titleOf = (id: string) => titles().find((conversation) => conversation.id === id)?.title;
    expect([titleOf(a.conversationId), titleOf(b.conversationId), titleOf(c.conversationId)]).toEqual(['Fix tests', 'Fix tests (2)', 'Fix tests (3)']);
    // Renaming to a title another conversation has numbers it; to its own title leaves it.
    expect(call<{ conversation: { title: string } }>(h, 'conversation.rename', { conversationId: c.conversationId, title: 'Fix tests' }).conversation.title).toBe('Fix tests (3)');
    expect(call<{ conversation: { title: string } }>(h, 'conversation.rename', { conversationId: a.conversationId, title: '  Payroll  review ' }).conversation.title).toBe('Payroll review');
    expect(call<{ conversation: { title: string } }>(h, 'conversation.rename', { conversationId: c.conversationId, title: 'Fix tests' }).conversation.title).toBe('Fix tests');
    expect(ofType(h.events, 'conversation.updated').at(-1)?.conversation.title).toBe('Fix tests');
  });

  it('delete removes the events, messages and kept tool outputs, is audited, and is refused while answering', async () => {
    const h = setUp();
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Kept.'] }) });
    const { conversationId } = await h.turn('remember this');
    // A kept tool output, as the agent stores one for a long result.
    const store = (h.core.agent as unknown as { options: { store: { saveToolOutput(c: string, id: string, tool: string, text: string): void; toolOutput(c: string, id: string): unknown; events(c: string): unknown[]; messages(c: string): unknown[] } } }).options.store;
    store.saveToolOutput(conversationId, 'call_1', 'read_file', 'x'.repeat(30_000));
    expect(store.events(conversationId).length).toBeGreaterThan(0);

    // While a turn runs, delete is refused.
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Slow.'] }), holdOpen: true });
    call(h, 'chat.send', { conversationId, text: 'and this' });
    expect(() => call(h, 'conversation.delete', { conversationId })).toThrow(SophiaError);
    h.core.agent.cancel(conversationId);
    await h.core.agent.whenIdle(conversationId);

    expect(call(h, 'conversation.delete', { conversationId })).toEqual({ deleted: true });
    expect(store.events(conversationId)).toEqual([]);
    expect(store.messages(conversationId)).toEqual([]);
    expect(store.toolOutput(conversationId, 'call_1')).toBeUndefined();
    expect(ofType(h.events, 'conversation.deleted')).toEqual([{ type: 'conversation.deleted', conversationId }]);
    const audited = h.core.safety.audit.query({ kind: 'conversation' });
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ conversationId, actor: 'user' });
    expect(audited[0]!.summary).toContain('"remember this" deleted');
    expect(audited[0]!.summary).toContain('1 kept tool outputs');
    expect(() => call(h, 'conversation.open', { conversationId })).toThrow(/does not exist/);
  });
});
