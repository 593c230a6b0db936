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
});
