import type { AppStatus, Usage } from '../../../shared/contract';
import type { ConnectionState } from '../client/webSocketClient';

const tokens = new Intl.NumberFormat('en');

const providerLabels: Record<Exclude<AppStatus['model']['provider'], 'none'>, string> = {
  anthropic: 'Anthropic',
  openai: 'OpenAI-compatible',
  cortex: 'Snowflake Cortex',
  ollama: 'Ollama',
};

export function StatusBar(props: {
  transport: 'electron' | 'browser';
  connection: ConnectionState;
  status: AppStatus | undefined;
  usage: Usage | undefined;
  /** The active role from the approval policy. */
  role?: string | undefined;
  /** Set when the audit log cannot be signed now (no keychain): why, in words. */
  auditUnsigned?: string | undefined;
  /** Opens the first-run checklist again. */
  onChecklist?: () => void;
}) {
  const { transport, connection, status, usage, role, auditUnsigned, onChecklist } = props;
  return (
    <footer className="status-bar" data-testid="status-bar">
      <span className={`status-dot status-${connection}`} aria-hidden="true" />
      <span>{connection === 'open' ? 'Connected' : connection === 'connecting' ? 'Connecting…' : 'Disconnected'}</span>
      <span>{transport === 'electron' ? 'Desktop' : 'Browser mode'}</span>
      {status && (
        <>
          <span data-testid="status-model">
            {status.model.provider === 'none' ? 'No model' : `${providerLabels[status.model.provider]} · ${status.model.name}`}
          </span>
          <span className={status.model.offline ? 'status-offline' : undefined}>{status.model.offline ? 'Offline' : 'Cloud'}</span>
          <span className={status.locked ? 'status-locked' : undefined}>{status.locked ? 'Stopped' : 'Ready'}</span>
          {status.loading && status.loading.length > 0 && (
            <span data-testid="status-loading" role="status" title="Loaded the first time it is used, not at start">
              Loading {status.loading.join(', ')} (first use)…
            </span>
          )}
          <span data-testid="status-workspace" className="status-workspace" title={status.workspace ?? 'No workspace is open'}>
            {status.workspace ? `Workspace: ${status.workspace.split(/[\\/]/).filter(Boolean).pop() ?? status.workspace}` : 'No workspace'}
          </span>
          {auditUnsigned && (
            <span data-testid="status-audit-unsigned" className="status-locked" title={auditUnsigned}>
              Audit log not signed
            </span>
          )}
          {role && (
            <span data-testid="status-role" className="status-role" title="The active role: what the agent may do">
              Role: {role}
            </span>
          )}
        </>
      )}
      {usage && (
        <span data-testid="status-usage" title="Tokens and cost of this conversation">
          {tokens.format(usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0))} in
          {usage.cacheReadTokens ? ` (${tokens.format(usage.cacheReadTokens)} cached)` : ''} · {tokens.format(usage.outputTokens)} out ·{' '}
          {/* A model with no price in the table is never shown as $0. */}
          {usage.unpricedCalls ? (usage.costUsd > 0 ? `$${usage.costUsd.toFixed(4)} + price unknown` : 'price unknown') : `$${usage.costUsd.toFixed(4)}`}
        </span>
      )}
      {onChecklist && (
        <button type="button" className="status-button" onClick={onChecklist} data-testid="status-checklist" title="What Sophia needs: model and key, workspace, Docker, keychain">
          Setup
        </button>
      )}
      {status && <span className="status-version">v{status.version}</span>}
    </footer>
  );
}
