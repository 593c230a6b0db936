import { memo, useState } from 'react';
import type { ProposalView } from '../../../shared/code';
import type { SophiaClient } from '../client/sophiaClient';
import type { FlowCall, FlowStepStatus, QuotedLine, TroubleshootFlow as Flow } from '../state/troubleshooting';
import './troubleshoot.css';

const marks: Readonly<Record<FlowStepStatus, string>> = { waiting: '○', running: '…', done: '✓', failed: '✗' };

/** The first line of a command's output: "Exit code 0 (1.2 s)." or "The command failed with exit code 1 …". */
function outcomeLine(call: FlowCall): string {
  if (!call.result) return 'running…';
  return (call.result.output.split('\n', 1)[0] ?? '').slice(0, 200);
}

function Step({ name, title, status, children }: { name: string; title: string; status: FlowStepStatus; children?: React.ReactNode }) {
  return (
    <li className={`flow-step flow-step-${status}`} data-testid="flow-step" data-step={name} data-status={status}>
      <span className="flow-step-mark" aria-label={status}>
        {marks[status]}
      </span>
      <div className="flow-step-body">
        <span className="flow-step-title">{title}</span>
        {children}
      </div>
    </li>
  );
}

function Quoted({ lines }: { lines: readonly QuotedLine[] }) {
  return (
    <ul className="flow-quotes">
      {lines.map((quote, index) => (
        <li key={`${index}:${quote.line}`} className={quote.found === false ? 'flow-quote flow-quote-missing' : 'flow-quote'} data-testid="flow-quote" data-found={quote.found === undefined ? 'unchecked' : String(quote.found)}>
          <code>{quote.line}</code>
          {lines.some((other) => other.source !== quote.source) && <span className="flow-quote-source">{quote.source}</span>}
          {quote.found === false && <span className="flow-quote-flag">not found in what was read</span>}
        </li>
      ))}
    </ul>
  );
}

function Runs({ runs }: { runs: readonly FlowCall[] }) {
  return (
    <ul className="flow-runs">
      {runs.map((run) => (
        <li key={run.callId} className={run.result ? (run.result.ok ? 'flow-run flow-run-ok' : 'flow-run flow-run-failed') : 'flow-run'}>
          <code>{run.what}</code> <span className="flow-run-outcome">{outcomeLine(run)}</span>
        </li>
      ))}
    </ul>
  );
}

function fixText(proposal: ProposalView | undefined): string {
  if (!proposal) return 'proposed';
  const files = proposal.files.map((file) => file.path).join(', ');
  switch (proposal.status) {
    case 'pending':
      return `${proposal.summary} (${files}): waiting for you in the Diff panel`;
    case 'applied':
      return `${proposal.summary} (${files}): applied`;
    default:
      return `${proposal.summary} (${files}): ${proposal.status}${proposal.message ? ` (${proposal.message})` : ''}`;
  }
}

/**
 * The troubleshooting flow at the head of the chat, updated as the work goes on, with the
 * seed's three actions. Apply fix is the diff's own Approve (the same `proposal.answer`, the
 * one approval of an edit); Try a different approach cancels the fix with the person's reason.
 */
export const TroubleshootFlow = memo(function TroubleshootFlow({
  flow,
  client,
  onShowDiff,
}: {
  flow: Flow;
  client: SophiaClient;
  /** Brings the fix's diff forward in the Diff panel. */
  onShowDiff: (callId: string) => void;
}) {
  const [details, setDetails] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const proposal = flow.fix.proposal;
  const pending = proposal?.status === 'pending';

  const answer = async (input: { action: 'approve' } | { action: 'different-approach'; reason: string }): Promise<void> => {
    if (!proposal) return;
    setBusy(true);
    setError(undefined);
    const result = await client.request('proposal.answer', { proposalId: proposal.proposalId, ...input });
    setBusy(false);
    if (!result.ok) setError(result.error.message);
    else if (!result.value.accepted) setError('This fix is no longer waiting for an answer.');
    else {
      setRejecting(false);
      setReason('');
    }
  };

  return (
    <section className="troubleshoot-flow" data-testid="troubleshoot-flow" aria-label="Troubleshooting">
      <ol className="flow-steps">
        <Step name="evidence" title="Evidence read" status={flow.evidence.status}>
          {flow.evidence.reads.length > 0 && <span className="flow-note">{[...new Set(flow.evidence.reads.map((read) => read.what))].join(', ')}</span>}
          {flow.evidence.quoted.length > 0 && <Quoted lines={flow.evidence.quoted} />}
        </Step>
        <Step name="reproduction" title="Reproduction in the sandbox" status={flow.reproduction.status}>
          {flow.reproduction.runs.length > 0 && <Runs runs={flow.reproduction.runs} />}
        </Step>
        <Step name="cause" title="Cause" status={flow.cause.status}>
          {flow.cause.text && <p className="flow-cause" data-testid="flow-cause">{flow.cause.text}</p>}
          {flow.cause.earlier.length > 0 && <p className="flow-note">Earlier: {flow.cause.earlier.join(' · ')}</p>}
        </Step>
        <Step name="fix" title="Fix" status={flow.fix.status}>
          {flow.fix.callId && (
            <span className="flow-note">
              {fixText(proposal)}{' '}
              <button type="button" className="link-button" onClick={() => flow.fix.callId && onShowDiff(flow.fix.callId)}>
                Show diff
              </button>
            </span>
          )}
        </Step>
        <Step name="verification" title="Verification" status={flow.verification.status}>
          {flow.verification.runs.length > 0 && <Runs runs={flow.verification.runs} />}
        </Step>
      </ol>
      <div className="flow-actions">
        <button
          type="button"
          className="flow-apply"
          data-testid="flow-apply"
          disabled={!pending || busy}
          title={pending ? "Applies the fix as shown in the Diff panel (the diff's Approve)" : 'No fix is waiting'}
          onClick={() => {
            if (flow.fix.callId) onShowDiff(flow.fix.callId);
            void answer({ action: 'approve' });
          }}
        >
          Apply fix
        </button>
        <button type="button" data-testid="flow-details" onClick={() => setDetails(true)}>
          Review details
        </button>
        <button type="button" data-testid="flow-different" disabled={!pending || busy} onClick={() => setRejecting(!rejecting)}>
          Try a different approach
        </button>
      </div>
      {rejecting && pending && (
        <form
          className="flow-reject"
          onSubmit={(event) => {
            event.preventDefault();
            void answer({ action: 'different-approach', reason });
          }}
        >
          <textarea
            data-testid="flow-reason"
            aria-label="Why the diagnosis is wrong"
            placeholder="Why is this diagnosis or fix wrong? Sophia is told, and looks again."
            value={reason}
            maxLength={2000}
            rows={2}
            onChange={(event) => setReason(event.target.value)}
          />
          <button type="submit" data-testid="flow-reject" disabled={busy}>
            Reject the fix and look again
          </button>
        </form>
      )}
      {error && (
        <div className="flow-error" role="alert">
          {error}
        </div>
      )}
      {details && <ReviewDetails flow={flow} onClose={() => setDetails(false)} />}
    </section>
  );
});

function Output({ call }: { call: FlowCall }) {
  if (!call.result) return <pre className="flow-output">running…</pre>;
  const cut = call.result.fullChars !== undefined;
  return (
    <pre className="flow-output">
      {call.result.output}
      {cut && `\n… (${call.result.fullChars?.toLocaleString('en')} characters in all; the whole output is in the chat's tool card) …\n${call.result.tail ?? ''}`}
    </pre>
  );
}

/** Evidence, commands and their outputs, side by side. */
function ReviewDetails({ flow, onClose }: { flow: Flow; onClose: () => void }) {
  const runs = [...flow.reproduction.runs.map((run) => ({ run, kind: 'reproduction' })), ...flow.verification.runs.map((run) => ({ run, kind: 'verification' }))];
  return (
    <div className="flow-details-backdrop" role="dialog" aria-modal="true" aria-label="Review details" data-testid="review-details">
      <div className="flow-details">
        <header className="flow-details-header">
          <h2>Review details</h2>
          <button type="button" onClick={onClose} data-testid="review-details-close">
            Close
          </button>
        </header>
        <div className="flow-details-columns">
          <section className="flow-details-column" aria-label="Evidence">
            <h3>Evidence</h3>
            {flow.cause.text && (
              <p className="flow-cause">
                <strong>Cause:</strong> {flow.cause.text}
              </p>
            )}
            {flow.evidence.quoted.length > 0 && <Quoted lines={flow.evidence.quoted} />}
            {flow.evidence.reads.map((read) => (
              <div key={read.callId} className="flow-details-entry">
                <h4>
                  read_logs <code>{read.what}</code>
                </h4>
                <Output call={read} />
              </div>
            ))}
            {flow.evidence.reads.length === 0 && <p className="flow-note">No log was read.</p>}
          </section>
          <section className="flow-details-column" aria-label="Commands and outputs">
            <h3>Commands and outputs</h3>
            {runs.map(({ run, kind }) => (
              <div key={run.callId} className="flow-details-entry" data-testid="review-run" data-kind={kind}>
                <h4>
                  {kind} <code>{run.what}</code>
                  {flow.reproduction.named === run.callId ? ' (named in the diagnosis)' : ''}
                </h4>
                <Output call={run} />
              </div>
            ))}
            {runs.length === 0 && <p className="flow-note">Nothing was run.</p>}
          </section>
        </div>
      </div>
    </div>
  );
}
