import { lazy, Suspense, useCallback, useEffect, useMemo, useReducer, useState } from 'react';
import type { SophiaClient } from './client/sophiaClient';
import { ChatPanel } from './components/ChatPanel';
import { ConversationList } from './components/ConversationList';
import DiffPanel from './components/DiffPanel';
import { ExecutionLog } from './components/ExecutionLog';
import { NoticeActionsContext, type NoticeHandlers } from './components/NoticeActions';
import GitPanel from './components/GitPanel';
import { DeploymentMonitor } from './infra/DeploymentMonitor';
import { FirstRunChecklist } from './components/FirstRunChecklist';
import { SettingsPanel, type SettingsSectionId } from './components/SettingsPanel';
import { StatusBar } from './components/StatusBar';
import { StopBanner } from './components/StopBanner';
import { StopButton } from './components/StopButton';
import { ApprovalCards, type EditCall } from './safety/ApprovalCard';
import { SafetyButtons, SafetyDrawer, type SafetyView } from './safety/SafetyDrawer';
import { MemoryButton, MemoryDrawer } from './memory/MemoryDrawer';
import { useSafety } from './safety/useSafety';
import { initialState, reduce } from './state/sophiaState';
import { deriveFlow, showsFlow } from './state/troubleshooting';
import { TroubleshootFlow } from './components/TroubleshootFlow';
import { useSophiaEvents } from './state/useSophiaEvents';

// The Metrics panel brings Chart.js: both load when the panel is first opened.
const MetricsPanel = lazy(() => import('./metrics/MetricsPanel'));

export function App({ client }: { client: SophiaClient }) {
  const [state, dispatch] = useReducer(reduce, initialState);
  const [settingsOpen, setSettingsOpen] = useState(false);
  // The section Settings brings into view (Credentials & role from the header, a checklist button).
  const [settingsSection, setSettingsSection] = useState<SettingsSectionId | undefined>(undefined);
  const [checklistOpen, setChecklistOpen] = useState(false);
  const [metricsOpen, setMetricsOpen] = useState(false);
  const openSettings = useCallback((section: SettingsSectionId | undefined) => {
    setSettingsSection(section);
    setSettingsOpen(true);
  }, []);
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
  // The Memory drawer takes the same place as the safety drawer: one is open at a time.
  const [memoryOpen, setMemoryOpen] = useState(false);

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
    // An empty data folder: the first-run checklist opens by itself.
    void client.request('setup.status', {}).then((result) => {
      if (result.ok && result.value.firstRun) setChecklistOpen(true);
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

  const conversationId = state.conversationId;
  const readToolOutput = useCallback(
    async (callId: string, offset: number) => {
      if (!conversationId) throw new Error('No conversation is open.');
      const result = await client.request('conversation.toolOutput', { conversationId, callId, offset });
      if (!result.ok) throw new Error(result.error.message);
      return result.value;
    },
    [client, conversationId],
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

  const renameConversation = useCallback(
    async (conversationId: string, title: string): Promise<string | undefined> => {
      const result = await client.request('conversation.rename', { conversationId, title });
      if (!result.ok) return result.error.message;
      dispatch({ type: 'event', event: { type: 'conversation.updated', conversation: result.value.conversation } });
      return undefined;
    },
    [client],
  );
  const deleteConversation = useCallback(
    async (conversationId: string): Promise<string | undefined> => {
      const result = await client.request('conversation.delete', { conversationId });
      if (!result.ok) return result.error.message;
      dispatch({ type: 'event', event: { type: 'conversation.deleted', conversationId } });
      return undefined;
    },
    [client],
  );

  // The notice that ends the chat is the one whose turn can be asked again.
  const lastMessage = state.items.findLast((item) => item.kind === 'message');
  const latestNoticeId = lastMessage?.kind === 'message' && lastMessage.message.notice ? lastMessage.id : undefined;
  const noticeHandlers = useMemo<NoticeHandlers>(
    () => ({
      latestNoticeId,
      openSettings: () => setSettingsOpen(true),
      openCredentials: () => setSafetyView('credentials'),
      retry: async (conversationId) => {
        const result = await client.request('chat.retry', { conversationId });
        return result.ok ? undefined : result.error.message;
      },
      checkDocker: async () => {
        const result = await client.request('sandbox.prepare', {});
        if (!result.ok) return { ok: false, message: result.error.message };
        dispatch({ type: 'event', event: { type: 'sandbox.status', status: result.value } });
        const ready = result.value.state === 'ready';
        return { ok: ready, message: ready ? 'Docker is running and the sandbox is ready. Ask Sophia to run it again.' : result.value.message };
      },
    }),
    [client, latestNoticeId],
  );

  const locked = state.status?.locked ?? false;
  // The troubleshooting flow, derived from the chat's tool calls and the proposals as they come.
  const flow = useMemo(() => (showsFlow(state.items) ? deriveFlow(state.items, state.proposals) : undefined), [state.items, state.proposals]);

  return (
    // An open drawer takes its own room at the right: it never covers Settings or the panels.
    <div className={safetyView || memoryOpen ? 'app drawer-open' : 'app'}>
      <header className="app-header">
        <h1 className="app-title">Sophia</h1>
        <div className="header-actions">
          <button
            type="button"
            className="header-button"
            onClick={() => {
              setSettingsSection(undefined);
              setSettingsOpen(!settingsOpen);
            }}
          >
            Settings
          </button>
          <MemoryButton
            open={memoryOpen}
            onToggle={() => {
              setSafetyView(undefined);
              setMemoryOpen(!memoryOpen);
            }}
          />
          <button type="button" className="header-button" aria-pressed={metricsOpen} data-testid="open-metrics" onClick={() => setMetricsOpen(!metricsOpen)}>
            Metrics
          </button>
          <SafetyButtons
            view={safetyView}
            onChange={(view) => {
              setMemoryOpen(false);
              setSafetyView(view);
            }}
            credentialsOpen={settingsOpen && settingsSection === 'credentials'}
            onCredentials={() => (settingsOpen && settingsSection === 'credentials' ? setSettingsOpen(false) : openSettings('credentials'))}
          />
          <StopButton onStop={stopAll} locked={locked} />
        </div>
      </header>
      {(locked || stopping) && <StopBanner report={state.lastStop} pending={stopping && !locked} onResume={resume} />}
      <ApprovalCards approvals={safety.approvals} client={client} conversations={state.conversations} onOpenEdit={openEdit} />
      {checklistOpen && (
        <FirstRunChecklist
          client={client}
          sandbox={state.sandbox}
          revision={`${JSON.stringify(state.status)}|${String(settingsOpen)}`}
          onOpenSettings={openSettings}
          onClose={() => setChecklistOpen(false)}
        />
      )}
      <main className="app-main">
        <ConversationList
          conversations={state.conversations}
          activeId={state.conversationId}
          onOpen={(id) => void openConversation(id)}
          onNew={() => dispatch({ type: 'new-conversation' })}
          onRename={renameConversation}
          onDelete={deleteConversation}
        />
        <NoticeActionsContext.Provider value={noticeHandlers}>
          <ChatPanel
            items={state.items}
            error={state.error}
            onSend={send}
            onCancel={cancel}
            disabled={locked}
            agentState={state.agentState}
            agentDetail={state.agentDetail}
            answering={state.answering}
            planMode={state.planMode}
            onPlanMode={setPlanMode}
            readToolOutput={readToolOutput}
            head={flow && conversationId && <TroubleshootFlow flow={flow} client={client} onShowDiff={(callId) => openEdit({ conversationId, callId })} />}
          />
        </NoticeActionsContext.Provider>
        <aside className="side-panel" aria-label="Changes">
          {settingsOpen ? (
            <SettingsPanel
              client={client}
              section={settingsSection}
              safetyStatus={safety.status}
              onShowChecklist={() => setChecklistOpen(true)}
              onClose={() => setSettingsOpen(false)}
            />
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
                <GitPanel client={client} conversationId={state.conversationId} onOpenSettings={() => setSettingsOpen(true)} />
              ) : (
                <DiffPanel client={client} proposals={state.proposals} findings={state.findings} approvals={safety.approvals} conversations={state.conversations} focus={editFocus} />
              )}
            </>
          )}
        </aside>
      </main>
      {memoryOpen && !safetyView && <MemoryDrawer client={client} onClose={() => setMemoryOpen(false)} />}
      {metricsOpen && (
        <Suspense fallback={<div className="metrics-panel">Loading the Metrics panel…</div>}>
          <MetricsPanel client={client} onClose={() => setMetricsOpen(false)} />
        </Suspense>
      )}
      {safetyView && (
        <SafetyDrawer view={safetyView} client={client} status={safety.status} conversationId={state.conversationId} onClose={() => setSafetyView(undefined)} />
      )}
      <StatusBar onChecklist={() => setChecklistOpen(true)} transport={client.transport} connection={state.connection} status={state.status} usage={state.usage} role={safety.status?.role} auditUnsigned={safety.status && !safety.status.audit.signed ? safety.status.audit.message : undefined} />
    </div>
  );
}
