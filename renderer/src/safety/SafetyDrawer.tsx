/** The audit log and the credentials/role panel, in a drawer over the side panel. */
import type { SafetyStatus } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import { AuditViewer } from './AuditViewer';
import { SafetyPanel } from './SafetyPanel';
import './safety.css';

export type SafetyView = 'audit' | 'credentials';

/** Audit opens the drawer; Credentials & role opens its section of Settings (the drawer would cover the form). */
export function SafetyButtons({
  view,
  onChange,
  credentialsOpen,
  onCredentials,
}: {
  view: SafetyView | undefined;
  onChange: (view: SafetyView | undefined) => void;
  credentialsOpen: boolean;
  onCredentials: () => void;
}) {
  return (
    <>
      <button type="button" className="header-button" aria-pressed={view === 'audit'} data-testid="open-audit" onClick={() => onChange(view === 'audit' ? undefined : 'audit')}>
        Audit
      </button>
      <button type="button" className="header-button" aria-pressed={credentialsOpen} data-testid="open-credentials" onClick={onCredentials}>
        Credentials &amp; role
      </button>
    </>
  );
}

export function SafetyDrawer(props: {
  view: SafetyView;
  client: SophiaClient;
  status: SafetyStatus | undefined;
  conversationId: string | undefined;
  onClose: () => void;
}) {
  const { view, client, status, conversationId, onClose } = props;
  return (
    <aside className="side-drawer safety-drawer" aria-label={view === 'audit' ? 'Audit log' : 'Credentials and role'}>
      <div className="side-drawer-head safety-drawer-head">
        <strong>{view === 'audit' ? 'Audit log' : 'Credentials & role'}</strong>
        <button type="button" onClick={onClose} aria-label="Close">
          ×
        </button>
      </div>
      {view === 'audit' ? <AuditViewer client={client} conversationId={conversationId} /> : <SafetyPanel client={client} status={status} />}
    </aside>
  );
}
