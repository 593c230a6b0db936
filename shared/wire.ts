/** The browser host's WebSocket frames: requests in, responses and events out. */
import { z } from 'zod';
import { serializedErrorSchema } from './errors';
import { sophiaEvent } from './contract';

export const wireProtocol = 'sophia.v1';
/** The token travels as a second WebSocket sub-protocol, so it never sits in a URL. */
export const tokenProtocolPrefix = 'sophia.token.';
export const maxFrameBytes = 4 * 1024 * 1024;

export const requestFrame = z
  .object({
    kind: z.literal('request'),
    id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    channel: z.string().max(200),
    input: z.unknown(),
  })
  .strict();
export type RequestFrame = z.infer<typeof requestFrame>;

export const responseFrame = z.object({
  kind: z.literal('response'),
  id: z.number().int().nullable(),
  result: z.union([
    z.object({ ok: z.literal(true), value: z.unknown() }),
    z.object({ ok: z.literal(false), error: serializedErrorSchema }),
  ]),
});
export type ResponseFrame = z.infer<typeof responseFrame>;

export const eventFrame = z.object({ kind: z.literal('event'), event: sophiaEvent });

export const serverFrame = z.discriminatedUnion('kind', [responseFrame, eventFrame]);
export type ServerFrame = z.infer<typeof serverFrame>;
