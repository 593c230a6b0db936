/**
 * A tool call waiting for the human: what it does, how risky and why, the diff or plan,
 * and Approve / Modify / Cancel. "Approve for this session" appears only when the main
 * process offers it (low risk, no protected path, allowed by the policy).
 */
import { useState } from 'react';
import type { ApprovalRequest, RequestInput } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import './safety.css';

export function ApprovalCards({ approvals, client }: { approvals: readonly ApprovalRequest[]; client: SophiaClient }) {
  if (approvals.length === 0) return null;
  return (
    <section className="approval-dock" aria-label="Approvals waiting for you" data-testid="approval-dock">
      {approvals.map((approval) => (
        <ApprovalCard key={approval.approvalId} approval={approval} client={client} />
      ))}
    </section>
  );
}

export function ApprovalCard({ approval, client }: { approval: ApprovalRequest; client: SophiaClient }) {
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
    <article className={`approval-card risk-${approval.risk}`} data-testid="approval-card" aria-label={`Approval: ${approval.operation}`}>
      <header className="approval-head">
        <span className={`risk-badge risk-${approval.risk}`} data-testid="approval-risk">
          {approval.risk}
        </span>
        <strong className="approval-operation">{approval.operation}</strong>
        <span className="approval-tool">{approval.tool}</span>
      </header>
      <ul className="approval-reasons" aria-label="Why">
        {approval.reasons.map((reason) => (
          <li key={reason}>{reason}</li>
        ))}
      </ul>
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
