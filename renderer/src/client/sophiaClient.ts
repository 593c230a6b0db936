/**
 * One client interface for the renderer, whichever host runs it: the Electron preload's
 * facade when present, the browser host's WebSocket otherwise.
 */
import type { SophiaApi } from '../../../shared/contract';
import { connectWebSocket, type ConnectionState } from './webSocketClient';

export interface SophiaClient extends SophiaApi {
  readonly transport: 'electron' | 'browser';
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

declare global {
  interface Window {
    sophia?: SophiaApi;
  }
}

const tokenKey = 'sophia.token';

/** The browser host puts its token in the URL fragment; keep it for reloads, then hide it. */
function takeToken(): string | undefined {
  const fromFragment = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromFragment) {
    sessionStorage.setItem(tokenKey, fromFragment);
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return fromFragment;
  }
  return sessionStorage.getItem(tokenKey) ?? undefined;
}

export function createSophiaClient(): SophiaClient {
  const preload = window.sophia;
  if (preload) {
    return {
      transport: 'electron',
      request: (channel, input) => preload.request(channel, input),
      onEvent: (listener) => preload.onEvent(listener),
      onConnection: (listener) => {
        listener('open');
        return () => undefined;
      },
    };
  }
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${window.location.host}/ws`;
  return { transport: 'browser', ...connectWebSocket(url, takeToken() ?? '') };
}
