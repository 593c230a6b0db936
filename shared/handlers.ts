/**
 * What the main process answers each request channel with: one function per channel of the
 * contract, typed from its schemas. Every module that serves channels returns a part of this.
 */
import type { z } from 'zod';
import type { Channel, RequestOutput, requests } from './contract';

export interface CallContext {
  /** Which transport the call came through, for the audit trail. */
  readonly transport: 'ipc' | 'websocket' | 'test';
}

export type Handlers = {
  [C in Channel]: (
    input: z.output<(typeof requests)[C]['input']>,
    context: CallContext,
  ) => Promise<RequestOutput<C>> | RequestOutput<C>;
};
