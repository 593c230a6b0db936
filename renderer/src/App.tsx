import { lazy, Suspense, useCallback, useEffect, useReducer } from 'react';
import type { SophiaClient } from './client/sophiaClient';
import { ChatPanel } from './components/ChatPanel';
import { StatusBar } from './components/StatusBar';
import { StopButton } from './components/StopButton';
import { StopBanner } from './components/StopBanner';
import { initialState, reduce } from './state/sophiaState';

// Monaco is large: the chat paints first, the diff view follows.
const DiffPanel = lazy(() => import('./components/DiffPanel'));

export function App({ client }: { client: SophiaClient }) {
  const [state, dispatch] = useReducer(reduce, initialState);

  useEffect(() => {
    const offEvent = client.onEvent((event) => dispatch({ type: 'event', event }));
    const offConnection = client.onConnection((connection) => dispatch({ type: 'connection', state: connection }));
    return () => {
      offEvent();
      offConnection();
    };
  }, [client]);

  useEffect(() => {
    if (state.connection !== 'open') return;
    void client.request('app.status', {}).then((result) => {
      if (result.ok) dispatch({ type: 'event', event: { type: 'status', status: result.value } });
    });
  }, [client, state.connection]);

  const send = useCallback(
    async (text: string): Promise<boolean> => {
      const input = state.conversationId === undefined ? { text } : { text, conversationId: state.conversationId };
      const result = await client.request('chat.send', input);
      if (!result.ok) {
        dispatch({ type: 'error', message: result.error.message });
        return false;
      }
      dispatch({ type: 'error', message: undefined });
      dispatch({ type: 'conversation', conversationId: result.value.conversationId });
      return true;
    },
    [client, state.conversationId],
  );

  const stopAll = useCallback(async () => {
    const result = await client.request('stop.all', {});
    if (!result.ok) dispatch({ type: 'error', message: `Stop failed: ${result.error.message}` });
  }, [client]);

  const resume = useCallback(async () => {
    const result = await client.request('stop.resume', {});
    if (!result.ok) dispatch({ type: 'error', message: result.error.message });
  }, [client]);

  const locked = state.status?.locked ?? false;

  return (
    <div className="app">
      <header className="app-header">
        <h1 className="app-title">Sophia</h1>
        <StopButton onStop={stopAll} locked={locked} />
      </header>
      {locked && <StopBanner report={state.lastStop} onResume={resume} />}
      <main className="app-main">
        <ChatPanel messages={state.messages} error={state.error} onSend={send} disabled={locked} />
        <aside className="side-panel" aria-label="Changes">
          <Suspense fallback={<div className="panel-placeholder">Loading the diff view…</div>}>
            <DiffPanel />
          </Suspense>
        </aside>
      </main>
      <StatusBar transport={client.transport} connection={state.connection} status={state.status} />
    </div>
  );
}
