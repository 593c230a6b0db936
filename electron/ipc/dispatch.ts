/**
 * The one place a request from a renderer enters the main process, whichever transport
 * carried it. The channel must be in the contract and the input must pass its schema;
 * anything else is answered with a typed error, never a crash.
 */
import type { z } from 'zod';
import { isChannel, requests } from '../../shared/contract';
import { fail, ok, SophiaError, type Result } from '../../shared/errors';
import type { CallContext, Handlers } from '../../shared/handlers';
import { createLogger } from '../log';

const log = createLogger('dispatch');

const maxIssues = 5;

function describeIssues(error: z.ZodError): string {
  // Paths and messages only: an input value may be huge or secret, so none is echoed.
  const described = error.issues.slice(0, maxIssues).map((issue) => {
    const path = issue.path.map(String).join('.').slice(0, 200);
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > maxIssues ? ` (and ${error.issues.length - maxIssues} more)` : '';
  return described.join('; ') + more;
}

export async function dispatch(
  handlers: Handlers,
  channel: unknown,
  input: unknown,
  context: CallContext,
): Promise<Result<unknown>> {
  if (!isChannel(channel)) {
    const shown = typeof channel === 'string' ? JSON.stringify(channel.slice(0, 80)) : typeof channel;
    return fail(new SophiaError('unknown_channel', `There is no request channel ${shown}.`));
  }
  const parsed = requests[channel].input.safeParse(input);
  if (!parsed.success) {
    return fail(new SophiaError('bad_request', `Bad input for ${channel}: ${describeIssues(parsed.error)}`));
  }
  try {
    const handler = handlers[channel] as (input: unknown, context: CallContext) => Promise<unknown> | unknown;
    return ok(await handler(parsed.data, context));
  } catch (error) {
    if (error instanceof SophiaError) return fail(error);
    log.error('handler failed', { channel, error });
    return fail(new SophiaError('internal', `${channel} failed inside Sophia; the details are in the log.`));
  }
}
