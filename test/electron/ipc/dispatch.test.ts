import { describe, expect, it, vi } from 'vitest';
import { dispatch } from '../../../electron/ipc/dispatch';
import type { Handlers } from '../../../shared/handlers';
import { createSophiaCore } from '../../../electron/app/sophiaCore';
import { SophiaError } from '../../../shared/errors';
import { tempDataDir } from '../../support/hostFixture';

const context = { transport: 'test' } as const;

function handlersWith(overrides: Partial<Handlers>): Handlers {
  return { ...createSophiaCore({ host: 'browser', dataDir: tempDataDir() }).handlers, ...overrides };
}

describe('dispatch', () => {
  it('runs the handler with the parsed input and wraps its value', async () => {
    const handlers = handlersWith({ 'chat.send': vi.fn(() => ({ conversationId: 'c1', messageId: 'm1' })) });
    const result = await dispatch(handlers, 'chat.send', { text: '  review this  ' }, context);
    expect(result).toEqual({ ok: true, value: { conversationId: 'c1', messageId: 'm1' } });
    // The handler saw the schema's output (trimmed), not the raw input.
    expect(handlers['chat.send']).toHaveBeenCalledWith({ text: 'review this' }, context);
  });

  it('refuses channels outside the contract, including inherited property names', async () => {
    const handlers = handlersWith({});
    for (const channel of ['nope', '__proto__', 'constructor', 'hasOwnProperty', 42, null, undefined, { toString: () => 'app.status' }]) {
      const result = await dispatch(handlers, channel, {}, context);
      expect(result).toMatchObject({ ok: false, error: { code: 'unknown_channel' } });
    }
  });

  it('never calls the handler when the input fails its schema', async () => {
    const send = vi.fn();
    const handlers = handlersWith({ 'chat.send': send });
    const result = await dispatch(handlers, 'chat.send', { text: 5 }, context);
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    if (!result.ok) expect(result.error.message).toContain('text');
    expect(send).not.toHaveBeenCalled();
  });

  it('does not echo a rejected value back', async () => {
    const secret = 'sk-ant-THIS-MUST-NOT-COME-BACK';
    const result = await dispatch(handlersWith({}), 'chat.send', { text: 'x', conversationId: secret }, context);
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it('passes a SophiaError through with its code and data', async () => {
    const handlers = handlersWith({
      'app.status': () => {
        throw new SophiaError('unavailable', 'Docker is not running.', { hint: 'start it' });
      },
    });
    expect(await dispatch(handlers, 'app.status', {}, context)).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'Docker is not running.', data: { hint: 'start it' } },
    });
  });

  it('turns any other failure into an internal error without its message', async () => {
    const handlers = handlersWith({
      'app.status': async () => {
        throw new Error('token=abc123 leaked from a stack');
      },
    });
    const result = await dispatch(handlers, 'app.status', {}, context);
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(JSON.stringify(result)).not.toContain('abc123');
  });
});
