import { useEffect, type Dispatch } from 'react';
import type { SophiaClient } from '../client/sophiaClient';
import type { SophiaAction, TokenDelta } from './sophiaState';

/**
 * Feeds main-process events into the state. Model tokens, which come hundreds or thousands
 * a second, are gathered and applied once per animation frame; any other event first
 * flushes the tokens before it, so order is kept.
 */
export function useSophiaEvents(client: SophiaClient, dispatch: Dispatch<SophiaAction>): void {
  useEffect(() => {
    let pending: TokenDelta[] = [];
    let frame = 0;
    const flush = (): void => {
      frame = 0;
      if (pending.length === 0) return;
      // Consecutive deltas of one message become one.
      const merged: TokenDelta[] = [];
      for (const delta of pending) {
        const last = merged[merged.length - 1];
        if (last && last.messageId === delta.messageId) merged[merged.length - 1] = { ...last, delta: last.delta + delta.delta };
        else merged.push(delta);
      }
      pending = [];
      dispatch({ type: 'tokens', deltas: merged });
    };
    const offEvent = client.onEvent((event) => {
      if (event.type === 'model.token') {
        pending.push(event);
        if (frame === 0) frame = requestAnimationFrame(flush);
        return;
      }
      if (frame !== 0) {
        cancelAnimationFrame(frame);
        flush();
      }
      dispatch({ type: 'event', event });
    });
    const offConnection = client.onConnection((connection) => dispatch({ type: 'connection', state: connection }));
    return () => {
      offEvent();
      offConnection();
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, [client, dispatch]);
}
