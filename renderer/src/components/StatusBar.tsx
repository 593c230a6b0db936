import type { AppStatus } from '../../../shared/contract';
import type { ConnectionState } from '../client/webSocketClient';

export function StatusBar(props: {
  transport: 'electron' | 'browser';
  connection: ConnectionState;
  status: AppStatus | undefined;
}) {
  const { transport, connection, status } = props;
  return (
    <footer className="status-bar" data-testid="status-bar">
      <span className={`status-dot status-${connection}`} aria-hidden="true" />
      <span>{connection === 'open' ? 'Connected' : connection === 'connecting' ? 'Connecting…' : 'Disconnected'}</span>
      <span>{transport === 'electron' ? 'Desktop' : 'Browser mode'}</span>
      {status && (
        <>
          <span>
            Model: {status.model.provider === 'none' ? 'none configured' : `${status.model.provider} ${status.model.name}`}
          </span>
          {status.model.provider !== 'none' && <span>{status.model.offline ? 'Offline (local model only)' : 'Cloud model'}</span>}
          <span className={status.locked ? 'status-locked' : undefined}>{status.locked ? 'Stopped' : 'Ready'}</span>
          <span className="status-version">v{status.version}</span>
        </>
      )}
    </footer>
  );
}
