import { describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { initialState, reduce, type SophiaState } from '../../../renderer/src/state/sophiaState';

const c = 'conv-1';
const fold = (events: SophiaEvent[], state: SophiaState = initialState): SophiaState =>
  events.reduce((s, event) => reduce(s, { type: 'event', event }), state);

describe('renderer state', () => {
  it('streams tokens into one message, then settles it with the final text', () => {
    let state = fold([{ type: 'chat.message', message: { id: 'u1', conversationId: c, role: 'user', text: 'hi', createdAt: 1 } }]);
    state = reduce(state, { type: 'tokens', deltas: [{ conversationId: c, messageId: 'a1', delta: 'Hel' }, { conversationId: c, messageId: 'a1', delta: 'lo' }] });
    expect(state.items.at(-1)).toMatchObject({ kind: 'message', id: 'a1', streaming: true, message: { text: 'Hello', role: 'assistant' } });
    state = fold([{ type: 'chat.message', message: { id: 'a1', conversationId: c, role: 'assistant', text: 'Hello', createdAt: 2 } }], state);
    expect(state.items).toHaveLength(2);
    expect(state.items.at(-1)).toMatchObject({ id: 'a1', streaming: false });
  });

  it('pairs tool results with their calls, and ignores other conversations', () => {
    const state = fold([
      { type: 'agent.intent', conversationId: c, intent: 'code-review', plan: ['Read'] },
      { type: 'tool.call', conversationId: c, callId: 't1', tool: 'read_file', args: { path: 'a' }, risk: 'read-only' },
      { type: 'tool.call', conversationId: 'other', callId: 't9', tool: 'x', args: {}, risk: 'high' },
      { type: 'tool.result', conversationId: c, callId: 't1', ok: true, output: 'data' },
    ]);
    expect(state.items.map((item) => item.kind)).toEqual(['intent', 'tool']);
    expect(state.items[1]).toMatchObject({ result: { ok: true, output: 'data' } });
  });

  it("shows the risk the gate assessed on the call's chip: raised by the card, never lowered, not taken from an MCP client's card", () => {
    const card = (callId: string, risk: 'low' | 'high', client?: string): SophiaEvent => ({
      type: 'approval.request',
      approvalId: `a-${callId}-${risk}`,
      conversationId: c,
      operation: 'run in the sandbox',
      risk,
      reasons: [],
      preview: '$ python3 sync.py',
      tool: 'run_command',
      args: '{}',
      sessionApproval: false,
      expiresAt: 1,
      callId,
      ...(client ? { client } : {}),
    });
    const events: SophiaEvent[] = [
      { type: 'tool.call', conversationId: c, callId: 't1', tool: 'run_command', args: { command: 'python3 sync.py', egress: ['api.notion.com:443'] }, risk: 'medium' },
      card('t1', 'high'),
      { type: 'tool.call', conversationId: c, callId: 't2', tool: 'run_command', args: { command: 'npm test' }, risk: 'medium' },
      card('t2', 'low'),
      { type: 'tool.call', conversationId: c, callId: 't3', tool: 'run_command', args: { command: 'ls' }, risk: 'medium' },
      card('t3', 'high', 'an MCP client'),
    ];
    const live = fold(events);
    expect(live.items.map((item) => (item.kind === 'tool' ? item.risk : undefined))).toEqual(['high', 'medium', 'medium']);
    // Opening the stored conversation folds the same events to the same chips.
    const opened = reduce(initialState, { type: 'open', conversation: { id: c, title: 't', createdAt: 1, updatedAt: 2, usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } }, events });
    expect(opened.items.map((item) => (item.kind === 'tool' ? item.risk : undefined))).toEqual(['high', 'medium', 'medium']);
  });

  it('opens a stored conversation from its events, replacing what was shown', () => {
    const shown = fold([{ type: 'chat.message', message: { id: 'x', conversationId: 'old', role: 'user', text: 'old', createdAt: 1 } }]);
    const opened = reduce(shown, {
      type: 'open',
      conversation: { id: c, title: 't', createdAt: 1, updatedAt: 2, usage: { inputTokens: 5, outputTokens: 6, costUsd: 0.1 } },
      events: [{ type: 'chat.message', message: { id: 'm', conversationId: c, role: 'user', text: 'stored', createdAt: 1 } }],
    });
    expect(opened.conversationId).toBe(c);
    expect(opened.items).toHaveLength(1);
    expect(opened.usage?.inputTokens).toBe(5);
  });

  it('opening folds stored events in one pass to what folding them one by one gives', () => {
    const conversation = { id: c, title: 't', createdAt: 1, updatedAt: 2, usage: { inputTokens: 1, outputTokens: 2, costUsd: 0 } };
    const events: SophiaEvent[] = [];
    for (let n = 0; n < 40; n += 1) {
      events.push({ type: 'chat.message', message: { id: `m${n}`, conversationId: c, role: n % 2 ? 'assistant' : 'user', text: `text ${n}`, createdAt: n } });
      if (n % 5 === 0) events.push({ type: 'agent.intent', conversationId: c, intent: 'code-review', plan: [] });
      if (n % 7 === 1) {
        events.push({ type: 'tool.call', conversationId: c, callId: `t${n}`, tool: 'read_file', args: { path: 'a' }, risk: 'read-only' });
        events.push({ type: 'agent.thinking', conversationId: c, id: `th${n}`, text: 'thinking' });
        events.push({ type: 'tool.result', conversationId: c, callId: `t${n}`, ok: n % 2 === 0, output: 'head', tail: 'tail', fullChars: 99_999 });
        events.push({ type: 'agent.plan', conversationId: c, steps: [{ text: `step ${n}`, status: 'pending' }] });
      }
      if (n % 9 === 2) events.push({ type: 'agent.usage', conversationId: c, usage: { inputTokens: n, outputTokens: n, costUsd: 0 } });
      // The same message again (a settled stream) replaces the row; another conversation's does not come in.
      if (n % 11 === 3) events.push({ type: 'chat.message', message: { id: `m${n}`, conversationId: c, role: 'assistant', text: `final ${n}`, createdAt: n } });
      if (n % 13 === 4) events.push({ type: 'chat.message', message: { id: `x${n}`, conversationId: 'other', role: 'user', text: 'elsewhere', createdAt: n } });
    }
    events.push({ type: 'git.pullRequest', conversationId: c, pullRequest: { number: 7, url: 'https://example.test/pr/7', title: 'PR', state: 'open', head: 'h', base: 'b' } });
    events.push({ type: 'chat.message', message: { id: 'after', conversationId: c, role: 'user', text: 'after the PR', createdAt: 99 } });

    const opened = reduce(initialState, { type: 'open', conversation, events });
    const oneByOne = fold(events, { ...initialState, conversationId: c, usage: conversation.usage });
    expect(opened.items).toEqual(oneByOne.items);
    expect(opened.usage).toEqual(oneByOne.usage);
    expect(opened.items.filter((item) => item.kind === 'tool')[0]).toMatchObject({ result: { ok: false, output: 'head', tail: 'tail', fullChars: 99_999 } });
    expect(opened.items.some((item) => item.kind === 'message' && item.message.text === 'elsewhere')).toBe(false);
  });
});
