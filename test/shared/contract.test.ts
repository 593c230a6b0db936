import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  channels,
  isChannel,
  requests,
  sophiaEvent,
  type RequestInput,
  type RequestOutput,
  type SophiaEvent,
} from '../../shared/contract';
import { SophiaError, serializedErrorSchema, type Result } from '../../shared/errors';
import { requestFrame, serverFrame } from '../../shared/wire';

describe('the contract', () => {
  it('pins the shapes of the channels', () => {
    expectTypeOf<RequestInput<'chat.send'>>().toEqualTypeOf<{ conversationId?: string | undefined; text: string }>();
    expectTypeOf<RequestOutput<'chat.send'>>().toEqualTypeOf<{ conversationId: string; messageId: string }>();
    expectTypeOf<RequestOutput<'stop.resume'>>().toEqualTypeOf<{ locked: false }>();
    expectTypeOf<SophiaEvent['type']>().toEqualTypeOf<
      | 'chat.message'
      | 'model.token'
      | 'tool.call'
      | 'tool.result'
      | 'approval.request'
      | 'approval.resolved'
      | 'safety.status'
      | 'container.started'
      | 'container.output'
      | 'container.ended'
      | 'sandbox.status'
      | 'deployment.event'
      | 'deployment.plan'
      | 'deployment.resource'
      | 'deployment.outputs'
      | 'stop'
      | 'checkpoint.created'
      | 'git.pullRequest'
      | 'agent.intent'
      | 'agent.status'
      | 'agent.usage'
      | 'agent.thinking'
      | 'agent.plan'
      | 'agent.planMode'
      | 'conversation.updated'
      | 'conversation.deleted'
      | 'status'
      | 'proposal'
      | 'findings'
    >();
  });

  it('names every channel once and knows only those', () => {
    expect(channels).toEqual(Object.keys(requests));
    expect(new Set(channels).size).toBe(channels.length);
    for (const channel of channels) expect(isChannel(channel)).toBe(true);
    for (const other of ['__proto__', 'toString', 'chat', '']) expect(isChannel(other)).toBe(false);
  });

  it('rejects unknown fields and oversized text', () => {
    expect(requests['chat.send'].input.safeParse({ text: 'hi', approve: true }).success).toBe(false);
    expect(requests['chat.send'].input.safeParse({ text: 'x'.repeat(100_001) }).success).toBe(false);
    expect(requests['chat.send'].input.safeParse({ text: '   ' }).success).toBe(false);
    expect(requests['chat.send'].input.safeParse({ text: 'hi', conversationId: '../x' }).success).toBe(false);
    expect(requests['chat.send'].input.parse({ text: ' hi ' })).toEqual({ text: 'hi' });
  });

  it('validates every event type the main process pushes', () => {
    const risk = 'high' as const;
    const valid: SophiaEvent[] = [
      { type: 'chat.message', message: { id: 'm', conversationId: 'c', role: 'user', text: 'hi', createdAt: 1 } },
      { type: 'model.token', conversationId: 'c', messageId: 'm', delta: 'to' },
      { type: 'tool.call', conversationId: 'c', callId: 't', tool: 'read_file', args: { path: 'a' }, risk },
      { type: 'tool.result', conversationId: 'c', callId: 't', ok: true, output: 'x' },
      { type: 'approval.request', approvalId: 'a', conversationId: 'c', operation: 'push', risk, reasons: ['protected branch'], preview: 'diff', tool: 'git_push', args: '{}', sessionApproval: false, expiresAt: 2, callId: 't' },
      { type: 'approval.resolved', approvalId: 'a', outcome: 'stopped' },
      {
        type: 'safety.status',
        status: { role: 'developer', maxRole: 'admin', approvalThreshold: 'low', keychain: { available: true, message: 'ok' }, audit: { signed: true, message: 'signed' }, notices: [] },
      },
      { type: 'container.output', taskId: 't', stream: 'stdout', chunk: 'ok\n' },
      { type: 'deployment.event', deploymentId: 'd', phase: 'preview', status: 'running', message: '+ 1 to create' },
      { type: 'stop', report: { at: 1, stopped: [{ kind: 'container', id: 'c', label: 'task', outcome: 'stopped' }] } },
      { type: 'checkpoint.created', checkpoint: { id: 'a1b2', conversationId: 'c', step: 1, label: 'before git_commit', at: 1 } },
      {
        type: 'git.pullRequest',
        conversationId: 'c',
        pullRequest: { number: 7, url: 'https://github.com/o/r/pull/7', title: 'Add phone number', head: 'feature/add-phone-number', base: 'main', state: 'open' },
      },
      {
        type: 'status',
        status: { version: '0.1.0', host: 'browser', platform: 'linux', locked: false, model: { provider: 'none', name: 'x', offline: false } },
      },
    ];
    for (const event of valid) expect(sophiaEvent.parse(event)).toEqual(event);
    expect(sophiaEvent.safeParse({ type: 'tool.call', conversationId: 'c', callId: 't', tool: 'x', args: {}, risk: 'none' }).success).toBe(false);
    expect(sophiaEvent.safeParse({ type: 'unknown' }).success).toBe(false);
  });
});

describe('errors and results', () => {
  it('serialise across the boundary and come back as the same error', () => {
    const error = new SophiaError('unavailable', 'Docker is not running', { hint: 'systemctl start docker' });
    const wire = JSON.parse(JSON.stringify(error)) as unknown;
    const parsed = serializedErrorSchema.parse(wire);
    const back = SophiaError.fromJSON(parsed);
    expect(back).toBeInstanceOf(SophiaError);
    expect(back.toJSON()).toEqual(error.toJSON());
    expectTypeOf<Result<number>>().toEqualTypeOf<{ ok: true; value: number } | { ok: false; error: typeof parsed }>();
  });
});

describe('wire frames', () => {
  it('accept a request frame and refuse extras', () => {
    expect(requestFrame.safeParse({ kind: 'request', id: 1, channel: 'app.status', input: {} }).success).toBe(true);
    expect(requestFrame.safeParse({ kind: 'request', id: 1, channel: 'app.status', input: {}, x: 1 }).success).toBe(false);
    expect(requestFrame.safeParse({ kind: 'request', id: -1, channel: 'app.status', input: {} }).success).toBe(false);
  });

  it('parse responses and events', () => {
    expect(serverFrame.parse({ kind: 'response', id: 3, result: { ok: true, value: 1 } }).kind).toBe('response');
    expect(serverFrame.safeParse({ kind: 'event', event: { type: 'nope' } }).success).toBe(false);
  });
});
