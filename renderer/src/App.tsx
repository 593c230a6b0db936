import { useCallback, useEffect, useReducer, useState } from 'react';
import type { SophiaClient } from './client/sophiaClient';
import { ChatPanel } from './components/ChatPanel';
import { ConversationList } from './components/ConversationList';
import DiffPanel from './components/DiffPanel';
import { ExecutionLog } from './components/ExecutionLog';
import GitPanel from './components/GitPanel';
import { DeploymentMonitor } from './infra/DeploymentMonitor';
import { SettingsPanel } from './components/SettingsPanel';
import { StatusBar } from './components/StatusBar';
import { StopBanner } from './components/StopBanner';
import { StopButton } from './components/StopButton';
import { ApprovalCards, type EditCall } from './safety/ApprovalCard';
import { SafetyButtons, SafetyDrawer, type SafetyView } from './safety/SafetyDrawer';
import { useSafety } from './safety/useSafety';
import { initialState, reduce } from './state/sophiaState';
import { useSophiaEvents } from './state/useSophiaEvents';

export function App({ client }: { client: SophiaClient }) {
  const [state, dispatch] = useReducer(reduce, initialState);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [sideTab, setSideTab] = useState<'diff' | 'git' | 'log' | 'deploy'>('diff');
  // The proposal an edit's approval card opened in the diff panel, the one place it is answered;
  // `seq` counts the clicks, so a second click brings it forward again.
  const [editFocus, setEditFocus] = useState<{ call: EditCall | undefined; seq: number }>({ call: undefined, seq: 0 });
  const openEdit = useCallback((call: EditCall) => {
    setSettingsOpen(false);
    setSideTab('diff');
    setEditFocus((previous) => ({ call, seq: previous.seq + 1 }));
  }, []);
  // A new proposal is shown as it arrives, as before any card was clicked.
  const latestProposal = state.proposals.at(-1)?.proposalId;
  const [shownProposal, setShownProposal] = useState<string | undefined>(undefined);
  if (latestProposal !== shownProposal) {
    setShownProposal(latestProposal);
    if (editFocus.call) setEditFocus({ call: undefined, seq: editFocus.seq });
  }
  useSophiaEvents(client, dispatch);
  // A new preview or deployment brings the monitor forward.
  const latestDeployment = state.deployments.at(-1)?.deploymentId;
  const [shownDeployment, setShownDeployment] = useState<string | undefined>(undefined);
  if (latestDeployment !== shownDeployment) {
    setShownDeployment(latestDeployment);
    if (latestDeployment) setSideTab('deploy');
  }
  const safety = useSafety(client, state.connection === 'open');
  const [safetyView, setSafetyView] = useState<SafetyView | undefined>(undefined);

  useEffect(() => {
    if (state.connection !== 'open') return;
    void client.request('app.status', {}).then((result) => {
      if (result.ok) dispatch({ type: 'event', event: { type: 'status', status: result.value } });
    });
    void client.request('proposal.list', {}).then((result) => {
      if (result.ok) dispatch({ type: 'proposals', proposals: result.value.proposals });
    });
    void client.request('conversation.list', {}).then((result) => {
      if (result.ok) dispatch({ type: 'conversations', conversations: result.value.conversations });
    });
    void client.request('sandbox.status', {}).then((result) => {
      if (result.ok) dispatch({ type: 'event', event: { type: 'sandbox.status', status: result.value } });
    });
    void client.request('agent.planMode', {}).then((result) => {
      if (result.ok) dispatch({ type: 'event', event: { type: 'agent.planMode', on: result.value.on } });
    });
  }, [client, state.connection]);

  const setPlanMode = (on: boolean): void => {
    void client.request('agent.planMode', { on }).then((result) => {
      if (result.ok) dispatch({ type: 'event', event: { type: 'agent.planMode', on: result.value.on } });
      else dispatch({ type: 'error', message: result.error.message });
    });
  };

  // The execution log's two actions; each resolves to an error message, or undefined.
  const prepareSandbox = useCallback(async (): Promise<string | undefined> => {
    const result = await client.request('sandbox.prepare', {});
    if (!result.ok) return result.error.message;
    dispatch({ type: 'event', event: { type: 'sandbox.status', status: result.value } });
    return undefined;
  }, [client]);
  const checkSandbox = useCallback(async (): Promise<string | undefined> => {
    const result = await client.request('sandbox.check', {});
    if (!result.ok) return result.error.message;
    return result.value.exitCode === 0 ? undefined : `The check failed (exit ${String(result.value.exitCode)}); its output is below.`;
  }, [client]);
  const sandboxTrouble = state.sandbox !== undefined && !['ready', 'checking', 'building-image'].includes(state.sandbox.state);

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

  const cancel = useCallback(() => {
    if (state.conversationId) void client.request('chat.cancel', { conversationId: state.conversationId });
  }, [client, state.conversationId]);

  const openConversation = useCallback(
    async (conversationId: string) => {
      const result = await client.request('conversation.open', { conversationId });
      if (result.ok) dispatch({ type: 'open', conversation: result.value.conversation, events: result.value.events });
      else dispatch({ type: 'error', message: result.error.message });
    },
    [client],
  );

  const [stopping, setStopping] = useState(false);
  const stopAll = useCallback(async () => {
    setStopping(true);
    const result = await client.request('stop.all', {});
    setStopping(false);
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
        <div className="header-actions">
          <button type="button" className="header-button" onClick={() => setSettingsOpen(!settingsOpen)}>
            Settings
          </button>
          <SafetyButtons view={safetyView} onChange={setSafetyView} />
          <StopButton onStop={stopAll} locked={locked} />
        </div>
      </header>
      {(locked || stopping) && <StopBanner report={state.lastStop} pending={stopping && !locked} onResume={resume} />}
      <ApprovalCards approvals={safety.approvals} client={client} conversations={state.conversations} onOpenEdit={openEdit} />
      <main className="app-main">
        <ConversationList
          conversations={state.conversations}
          activeId={state.conversationId}
          onOpen={(id) => void openConversation(id)}
          onNew={() => dispatch({ type: 'new-conversation' })}
        />
        <ChatPanel
          items={state.items}
          error={state.error}
          onSend={send}
          onCancel={cancel}
          disabled={locked}
          agentState={state.agentState}
          agentDetail={state.agentDetail}
          planMode={state.planMode}
          onPlanMode={setPlanMode}
        />
        <aside className="side-panel" aria-label="Changes">
          {settingsOpen ? (
            <SettingsPanel client={client} onClose={() => setSettingsOpen(false)} />
          ) : (
            <>
              <div className="side-tabs" role="tablist">
                <button type="button" role="tab" aria-selected={sideTab === 'diff'} onClick={() => setSideTab('diff')}>
                  Diff
                </button>
                <button type="button" role="tab" aria-selected={sideTab === 'git'} onClick={() => setSideTab('git')} data-testid="tab-git">
                  Git
                </button>
                <button
                  type="button"
                  role="tab"
                  aria-selected={sideTab === 'log'}
                  onClick={() => setSideTab('log')}
                  data-testid="tab-log"
                  title={sandboxTrouble ? state.sandbox?.message : 'Commands run in task sandboxes'}
                >
                  Log{sandboxTrouble ? ' ⚠' : ''}
                </button>
                <button type="button" role="tab" aria-selected={sideTab === 'deploy'} onClick={() => setSideTab('deploy')} data-testid="tab-deploy">
                  Deploy
                </button>
              </div>
              {/* Monaco is large: it loads when a diff or a file is first shown (monaco/lazyEditors.tsx). */}
              {sideTab === 'deploy' ? (
                <DeploymentMonitor deployments={state.deployments} />
              ) : sideTab === 'log' ? (
                <ExecutionLog executions={state.executions} sandbox={state.sandbox} onPrepare={prepareSandbox} onCheck={checkSandbox} />
              ) : sideTab === 'git' ? (
                <GitPanel client={client} conversationId={state.conversationId} />
              ) : (
                <DiffPanel client={client} proposals={state.proposals} findings={state.findings} approvals={safety.approvals} conversations={state.conversations} focus={editFocus} />
              )}
            </>
          )}
        </aside>
      </main>
      {safetyView && (
        <SafetyDrawer view={safetyView} client={client} status={safety.status} conversationId={state.conversationId} onClose={() => setSafetyView(undefined)} />
      )}
      <StatusBar transport={client.transport} connection={state.connection} status={state.status} usage={state.usage} role={safety.status?.role} auditUnsigned={safety.status && !safety.status.audit.signed ? safety.status.audit.message : undefined} />
    </div>
  );
}
