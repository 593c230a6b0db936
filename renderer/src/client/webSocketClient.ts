import { type Channel, type RequestInput, type RequestOutput, type SophiaEvent } from '../../../shared/contract';
import { fail, SophiaError, type Result } from '../../../shared/errors';
import { serverFrame, tokenProtocolPrefix, wireProtocol } from '../../../shared/wire';

export type ConnectionState = 'connecting' | 'open' | 'closed';

const reconnectDelaysMs = [250, 500, 1000, 2000, 5000];

/**
 * The contract over the browser host's WebSocket. Requests made while the socket is down
 * wait for it; requests in flight when it drops fail with `unavailable`, so nothing hangs.
 */
export function connectWebSocket(url: string, token: string) {
  let socket: WebSocket | undefined;
  let state: ConnectionState = 'connecting';
  let nextId = 1;
  let attempt = 0;
  const pending = new Map<number, (result: Result<unknown>) => void>();
  const queued: string[] = [];
  const eventListeners = new Set<(event: SophiaEvent) => void>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();

  const setState = (next: ConnectionState): void => {
    state = next;
    for (const listener of connectionListeners) listener(next);
  };

  const open = (): void => {
    setState('connecting');
    const ws = new WebSocket(url, [wireProtocol, tokenProtocolPrefix + token]);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      setState('open');
      for (const frame of queued.splice(0)) ws.send(frame);
    };
    ws.onmessage = (message) => {
      const parsed = serverFrame.safeParse(JSON.parse(String(message.data)));
      if (!parsed.success) return;
      const frame = parsed.data;
      if (frame.kind === 'event') {
        for (const listener of eventListeners) listener(frame.event);
      } else if (frame.id !== null) {
        pending.get(frame.id)?.(frame.result);
        pending.delete(frame.id);
      }
    };
    ws.onclose = () => {
      setState('closed');
      for (const resolve of pending.values()) {
        resolve(fail(new SophiaError('unavailable', 'The connection to Sophia was lost.')));
      }
      pending.clear();
      queued.length = 0;
      const delay = reconnectDelaysMs[Math.min(attempt, reconnectDelaysMs.length - 1)];
      attempt += 1;
      setTimeout(open, delay);
    };
  };
  open();

  return {
    request<C extends Channel>(channel: C, input: RequestInput<C>): Promise<Result<RequestOutput<C>>> {
      const id = nextId++;
      const frame = JSON.stringify({ kind: 'request', id, channel, input });
      return new Promise((resolve) => {
        pending.set(id, resolve as (result: Result<unknown>) => void);
        if (state === 'open' && socket) socket.send(frame);
        else queued.push(frame);
      });
    },
    onEvent(listener: (event: SophiaEvent) => void): () => void {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onConnection(listener: (state: ConnectionState) => void): () => void {
      connectionListeners.add(listener);
      listener(state);
      return () => connectionListeners.delete(listener);
    },
  };
}
