/**
 * A tool call waiting for the human: who asked, what it does, how risky and why, the plan,
 * and Approve / Modify / Cancel. "Approve for this session" appears only when the main
 * process offers it (low risk, no protected path, allowed by the policy).
 *
 * An edit has one approval surface, the diff panel: its card only summarises it (files,
 * lines added and removed) and opens the panel on it, with no diff and no answer of its own.
 */
import { useState } from 'react';
import type { ApprovalRequest, ConversationSummary, RequestInput } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import { requesterLabel } from './requester';
import './safety.css';

/** Which call's proposal to show: an edit's card and its proposal share (conversation, call). */
export interface EditCall {
  readonly conversationId: string;
  readonly callId: string;
}

interface CardsProps {
  readonly approvals: readonly ApprovalRequest[];
  readonly client: SophiaClient;
  readonly conversations: readonly ConversationSummary[];
  /** Opens the diff panel on the proposal of this call. */
  readonly onOpenEdit: (call: EditCall) => void;
}

export function ApprovalCards({ approvals, client, conversations, onOpenEdit }: CardsProps) {
  if (approvals.length === 0) return null;
  return (
    <section className="approval-dock" aria-label="Approvals waiting for you" data-testid="approval-dock">
      {approvals.map((approval) =>
        approval.edit ? (
          <EditCard key={approval.approvalId} approval={approval} edit={approval.edit} conversations={conversations} onOpenEdit={onOpenEdit} />
        ) : (
          <ApprovalCard key={approval.approvalId} approval={approval} client={client} conversations={conversations} />
        ),
      )}
    </section>
  );
}

function CardHead({ approval, conversations }: { approval: ApprovalRequest; conversations: readonly ConversationSummary[] }) {
  return (
    <>
      <header className="approval-head">
        <span className={`risk-badge risk-${approval.risk}`} data-testid="approval-risk">
          {approval.risk}
        </span>
        <strong className="approval-operation">{approval.operation}</strong>
        <span className="approval-tool">{approval.tool}</span>
      </header>
      <div className="approval-requester" data-testid="approval-requester">
        {requesterLabel(approval, conversations)}
      </div>
      <ul className="approval-reasons" aria-label="Why">
        {approval.reasons.map((reason) => (
          <li key={reason}>{reason}</li>
        ))}
      </ul>
    </>
  );
}

/** An edit's card: what it changes, and the way to the diff panel, where it is answered. */
function EditCard(props: { approval: ApprovalRequest; edit: NonNullable<ApprovalRequest['edit']>; conversations: readonly ConversationSummary[]; onOpenEdit: (call: EditCall) => void }) {
  const { approval, edit, conversations, onOpenEdit } = props;
  const added = edit.reduce((sum, file) => sum + file.added, 0);
  const removed = edit.reduce((sum, file) => sum + file.removed, 0);
  return (
    <article className={`approval-card approval-edit risk-${approval.risk}`} data-testid="approval-card" data-kind="edit" data-approval-id={approval.approvalId} data-call-id={approval.callId} aria-label={`Approval: ${approval.operation}`}>
      <CardHead approval={approval} conversations={conversations} />
      <p className="approval-edit-summary" data-testid="approval-edit-summary">
        {edit.length} file{edit.length === 1 ? '' : 's'} · <span className="lines-added">+{added}</span> <span className="lines-removed">−{removed}</span>
      </p>
      <ul className="approval-edit-files" aria-label="Files">
        {edit.map((file) => (
          <li key={file.path} data-testid="approval-edit-file">
            <code>{file.path}</code>
            {file.isNew ? ' (new)' : ''} <span className="lines-added">+{file.added}</span> <span className="lines-removed">−{file.removed}</span>
          </li>
        ))}
      </ul>
      <div className="approval-actions">
        <button type="button" className="approve" data-testid="approval-open-diff" onClick={() => onOpenEdit({ conversationId: approval.conversationId, callId: approval.callId })}>
          Review in the diff panel
        </button>
        <span className="approval-edit-hint">Approve, modify or cancel it there.</span>
      </div>
    </article>
  );
}

/** What a sandboxed run gets beyond its sandbox, each named: the hosts it may reach, the secrets it is given (names only). */
function GrantList({ grants }: { grants: NonNullable<ApprovalRequest['grants']> }) {
  return (
    <div className="approval-grants" data-testid="approval-grants" role="group" aria-label="Granted for this run only">
      {grants.hosts.length > 0 && (
        <div>
          <strong>Network egress, this run only:</strong>
          <ul aria-label="Hosts">
            {grants.hosts.map((host) => (
              <li key={host} data-testid="approval-grant-host">
                <code>{host}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {grants.secrets.length > 0 && (
        <div>
          <strong>Secrets given to the command (values never shown):</strong>
          <ul aria-label="Secrets">
            {grants.secrets.map((name) => (
              <li key={name} data-testid="approval-grant-secret">
                <code>{name}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function ApprovalCard({ approval, client, conversations }: { approval: ApprovalRequest; client: SophiaClient; conversations: readonly ConversationSummary[] }) {
  const [editing, setEditing] = useState(false);
  const [args, setArgs] = useState(approval.args);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const answer = async (input: RequestInput<'approval.answer'>): Promise<void> => {
    setBusy(true);
    const result = await client.request('approval.answer', input);
    setBusy(false);
    if (!result.ok) setError(result.error.message);
    else if (!result.value.accepted) setError('This approval is no longer pending (answered, timed out or stopped).');
  };

  const id = approval.approvalId;
  return (
    <article className={`approval-card risk-${approval.risk}`} data-testid="approval-card" data-approval-id={approval.approvalId} aria-label={`Approval: ${approval.operation}`}>
      <CardHead approval={approval} conversations={conversations} />
      {approval.grants && <GrantList grants={approval.grants} />}
      {editing ? (
        <textarea className="approval-args" aria-label="Arguments (JSON)" value={args} onChange={(event) => setArgs(event.target.value)} rows={8} spellCheck={false} />
      ) : (
        <pre className="approval-preview" data-testid="approval-preview">
          {approval.preview}
        </pre>
      )}
      {error && (
        <p className="approval-error" role="alert">
          {error}
        </p>
      )}
      <div className="approval-actions">
        {editing ? (
          <>
            <button type="button" className="approve" disabled={busy} onClick={() => void answer({ approvalId: id, decision: 'modify', args })}>
              Run modified
            </button>
            <button type="button" disabled={busy} onClick={() => setEditing(false)}>
              Back
            </button>
          </>
        ) : (
          <>
            <button type="button" className="approve" disabled={busy} onClick={() => void answer({ approvalId: id, decision: 'approve' })}>
              Approve
            </button>
            {approval.sessionApproval && (
              <button type="button" disabled={busy} onClick={() => void answer({ approvalId: id, decision: 'approve-for-session' })}>
                Approve for this session
              </button>
            )}
            <button type="button" disabled={busy} onClick={() => setEditing(true)}>
              Modify
            </button>
            <button type="button" className="cancel" disabled={busy} onClick={() => void answer({ approvalId: id, decision: 'cancel' })}>
              Cancel
            </button>
          </>
        )}
      </div>
    </article>
  );
}
