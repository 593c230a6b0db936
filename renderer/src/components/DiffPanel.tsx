/**
 * The side panel of code management: a proposed change in the Monaco DiffEditor with
 * Approve / Modify / Add Tests / Cancel (the one place an edit is answered; its approval
 * card points here), and review findings as a list that jumps to the code and exports as
 * SARIF. It shows the proposal an edit's card opened, else the newest. Nothing here writes a
 * file: every button is an answer the main process checks against the approval pending for
 * the proposal's own call, and applies.
 */
import type { DiffOnMount, OnMount } from '@monaco-editor/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Finding, FindingsReport, ProposalAnswer, ProposalView } from '../../../shared/code';
import type { ApprovalRequest, ConversationSummary } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import type { EditCall } from '../safety/ApprovalCard';
import { requesterLabel } from '../safety/requester';
import { DiffEditor, Editor } from '../monaco/lazyEditors';
import SecretFilesPanel from './SecretFilesPanel';
import './codeManagement.css';

type DiffEditorInstance = Parameters<DiffOnMount>[0];

const statusText: Readonly<Record<ProposalView['status'], string>> = {
  pending: 'Waiting for your answer',
  applying: 'Applying…',
  applied: 'Applied',
  cancelled: 'Cancelled: nothing was written',
  'tests-requested': 'Writing tests for this change…',
  stale: 'Not applied: a file changed on disk',
  failed: 'Cannot be applied',
  expired: 'No longer pending',
};

const editorOptions = {
  renderSideBySide: true,
  useInlineViewWhenSpaceIsLimited: false,
  minimap: { enabled: false },
  automaticLayout: true,
  // Typing in Modify is the person's text, character for character.
  autoClosingBrackets: 'never',
  autoClosingQuotes: 'never',
  autoIndent: 'none',
  formatOnType: false,
  suggestOnTriggerCharacters: false,
  quickSuggestions: false,
} as const;

export interface DiffPanelProps {
  readonly client: SophiaClient;
  readonly proposals: readonly ProposalView[];
  readonly findings: readonly FindingsReport[];
  /** The approvals pending now: a proposal is answerable while its call's approval is among them. */
  readonly approvals: readonly ApprovalRequest[];
  readonly conversations: readonly ConversationSummary[];
  /** The proposal an edit's card opened, if any (`seq` changes on every click, to bring it forward again). */
  readonly focus?: { readonly call: EditCall | undefined; readonly seq: number };
}

const sameCall = (a: EditCall, b: EditCall): boolean => a.conversationId === b.conversationId && a.callId === b.callId;

export default function DiffPanel(props: DiffPanelProps) {
  const { client, proposals, findings, approvals, conversations, focus } = props;
  const [jump, setJump] = useState<{ finding: Finding; content: string; language: string } | { error: string } | undefined>();
  const focusCall = focus?.call;
  const focused = focusCall ? proposals.find((candidate) => sameCall(candidate, focusCall)) : undefined;
  const proposal = focused ?? proposals[proposals.length - 1];
  const approval = proposal ? approvals.find((candidate) => candidate.edit !== undefined && sameCall(candidate, proposal)) : undefined;
  const report = findings[findings.length - 1];
  // A card's "Review in the diff panel" brings the proposal forward over a file opened from a finding.
  const [shownSeq, setShownSeq] = useState(focus?.seq);
  if (focus?.seq !== shownSeq) {
    setShownSeq(focus?.seq);
    setJump(undefined);
  }

  const open = useCallback(
    async (finding: Finding) => {
      const result = await client.request('workspace.readFile', { path: finding.file });
      setJump(result.ok ? { finding, content: result.value.content, language: result.value.language } : { error: result.error.message });
    },
    [client],
  );

  return (
    <div className="diff-panel" data-testid="diff-panel">
      {report && <FindingsList client={client} report={report} onOpen={(finding) => void open(finding)} />}
      {jump ? (
        <CodeView jump={jump} onClose={() => setJump(undefined)} />
      ) : proposal ? (
        <ProposalPanel key={proposal.proposalId} client={client} proposal={proposal} approval={approval} asked={requesterLabel(proposal, conversations)} />
      ) : (
        !report && <div className="panel-placeholder">No proposed change yet. Changes the agent proposes appear here as a diff, and nothing is written before you approve.</div>
      )}
      <SecretFilesPanel client={client} />
    </div>
  );
}

function ProposalPanel({ client, proposal, approval, asked }: { client: SophiaClient; proposal: ProposalView; approval: ApprovalRequest | undefined; asked: string }) {
  const [index, setIndex] = useState(0);
  const [modifying, setModifying] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const editor = useRef<DiffEditorInstance | undefined>(undefined);
  // The person's text per file while modifying; kept when switching files.
  const [edits, setEdits] = useState<Readonly<Record<string, string>>>({});
  const file = proposal.files[Math.min(index, proposal.files.length - 1)];
  const answerable = proposal.status === 'pending' && approval !== undefined;

  /** Every edit so far, the open file's current text included. */
  const allEdits = useCallback((): Record<string, string> => {
    const current = editor.current;
    return modifying && current && file ? { ...edits, [file.path]: current.getModifiedEditor().getValue() } : { ...edits };
  }, [modifying, file, edits]);

  const answer = useCallback(
    async (action: ProposalAnswer['action']) => {
      setBusy(true);
      setError(undefined);
      let input: ProposalAnswer;
      if (action === 'modify') {
        const files = Object.entries(allEdits()).map(([path, content]) => ({ path, content }));
        input = files.length > 0 ? { proposalId: proposal.proposalId, action, files } : { proposalId: proposal.proposalId, action: 'approve' };
      } else {
        input = { proposalId: proposal.proposalId, action } as ProposalAnswer;
      }
      const result = await client.request('proposal.answer', input);
      setBusy(false);
      if (!result.ok) setError(result.error.message);
      else if (!result.value.accepted) setError('This proposal is no longer waiting for an answer.');
      else setModifying(false);
    },
    [client, proposal.proposalId, allEdits],
  );

  // The wrapper would dispose the models before the diff editor lets go of them (Monaco
  // throws "TextModel got disposed before DiffEditorWidget model got reset"): the wrapper
  // keeps them, and they are disposed here once the editors are gone.
  const models = useRef<{ dispose(): void; isDisposed(): boolean }[]>([]);
  useEffect(() => {
    const owned = models.current;
    return () => {
      setTimeout(() => owned.forEach((model) => model.isDisposed() || model.dispose()), 0);
    };
  }, []);
  const onMount: DiffOnMount = (instance) => {
    editor.current = instance;
    const pair = instance.getModel();
    if (pair) models.current.push(pair.original, pair.modified);
  };

  if (!file) return null;
  return (
    <div className="proposal" data-testid="proposal" data-status={proposal.status} data-call-id={proposal.callId} data-approval-id={approval?.approvalId}>
      <div className="proposal-head">
        <div className="proposal-requester" data-testid="proposal-requester">
          {asked}
        </div>
        <div className="proposal-summary" data-testid="proposal-summary">
          {proposal.summary}
        </div>
        <div className={`proposal-status proposal-status-${proposal.status}`} data-testid="proposal-status">
          {statusText[proposal.status]}
        </div>
        {proposal.message && proposal.status !== 'applied' && (
          // While it still waits, the message is news (tests added, or why none were), not an error.
          <div
            className={proposal.status === 'pending' ? 'proposal-message proposal-note' : 'proposal-message'}
            data-testid="proposal-message"
            role={proposal.status === 'pending' ? 'status' : 'alert'}
          >
            {proposal.message}
          </div>
        )}
      </div>
      <div className="proposal-files" role="tablist">
        {proposal.files.map((item, i) => (
          <button
            key={item.path}
            type="button"
            role="tab"
            aria-selected={i === index}
            className={i === index ? 'proposal-file active' : 'proposal-file'}
            data-testid="proposal-file-tab"
            onClick={() => {
              setEdits(allEdits());
              setIndex(i);
            }}
          >
            {item.path}
            {item.addedTests ? ' (tests)' : item.isNew ? ' (new)' : ''}
          </button>
        ))}
      </div>
      <div className="diff-editor" data-testid="proposal-diff">
        <DiffEditor
          key={`${file.path}:${modifying ? 'edit' : 'view'}`}
          original={file.original}
          modified={modifying ? (edits[file.path] ?? file.proposed) : file.proposed}
          language={file.language}
          theme="vs-dark"
          onMount={onMount}
          keepCurrentOriginalModel
          keepCurrentModifiedModel
          options={{ ...editorOptions, readOnly: !modifying, originalEditable: false }}
        />
      </div>
      {error && (
        <div className="proposal-message" role="alert" data-testid="proposal-error">
          {error}
        </div>
      )}
      {answerable && (
        <div className="proposal-actions">
          <button type="button" className="proposal-approve" data-testid="proposal-approve" disabled={busy} onClick={() => void answer(modifying ? 'modify' : 'approve')}>
            {modifying ? 'Approve with my changes' : 'Approve'}
          </button>
          {modifying ? (
            <button
              type="button"
              data-testid="proposal-discard"
              disabled={busy}
              onClick={() => {
                setEdits({});
                setModifying(false);
              }}
            >
              Discard my changes
            </button>
          ) : (
            <button type="button" data-testid="proposal-modify" disabled={busy} onClick={() => setModifying(true)}>
              Modify
            </button>
          )}
          {!modifying && (
            <button
              type="button"
              data-testid="proposal-add-tests"
              disabled={busy}
              title="Ask the agent for tests of this change; they are added to this proposal and approved with it"
              onClick={() => void answer('add-tests')}
            >
              Add Tests
            </button>
          )}
          <button type="button" className="proposal-cancel" data-testid="proposal-cancel" disabled={busy} onClick={() => void answer('cancel')}>
            Cancel
          </button>
        </div>
      )}
      {(proposal.status === 'failed' || proposal.status === 'tests-requested') && approval !== undefined && (
        <div className="proposal-actions">
          <button type="button" className="proposal-cancel" data-testid="proposal-cancel" disabled={busy} onClick={() => void answer('cancel')}>
            Cancel
          </button>
        </div>
      )}
    </div>
  );
}

function FindingsList({ client, report, onOpen }: { client: SophiaClient; report: FindingsReport; onOpen: (finding: Finding) => void }) {
  const [error, setError] = useState<string | undefined>();
  const exportSarif = async (): Promise<void> => {
    const result = await client.request('findings.sarif', { reportId: report.reportId });
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    const url = URL.createObjectURL(new Blob([result.value.sarif], { type: 'application/sarif+json' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'sophia-review.sarif';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <section className="findings" data-testid="findings" aria-label="Review findings">
      <div className="findings-head">
        <span>
          Findings · {report.findings.length}
        </span>
        <button type="button" data-testid="findings-export" onClick={() => void exportSarif()}>
          Export SARIF
        </button>
      </div>
      {error && <div role="alert">{error}</div>}
      <ul className="findings-list">
        {report.findings.map((finding, i) => (
          <li key={i}>
            <button type="button" className={`finding finding-${finding.severity}`} data-testid="finding" onClick={() => onOpen(finding)}>
              <span className="finding-severity">{finding.severity}</span>
              <span className="finding-where">
                {finding.file}:{finding.startLine}
                {finding.endLine > finding.startLine ? `-${finding.endLine}` : ''}
              </span>
              <span className="finding-rule">{finding.rule}</span>
              <span className="finding-text">{finding.explanation}</span>
              {finding.suggestedFix && <span className="finding-fix">Fix: {finding.suggestedFix}</span>}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function CodeView({ jump, onClose }: { jump: { finding: Finding; content: string; language: string } | { error: string }; onClose: () => void }) {
  const onMount: OnMount = (editor) => {
    if ('error' in jump) return;
    const { startLine, endLine } = jump.finding;
    editor.revealLineInCenter(startLine);
    editor.setSelection({ startLineNumber: startLine, startColumn: 1, endLineNumber: endLine, endColumn: Number.MAX_SAFE_INTEGER });
  };
  return (
    <div className="code-view" data-testid="code-view">
      <div className="panel-title">
        <button type="button" onClick={onClose}>
          ← Back
        </button>{' '}
        {'error' in jump ? jump.error : `${jump.finding.file}:${jump.finding.startLine}`}
      </div>
      {!('error' in jump) && (
        <div className="diff-editor">
          <Editor value={jump.content} language={jump.language} theme="vs-dark" onMount={onMount} options={{ readOnly: true, minimap: { enabled: false }, automaticLayout: true }} />
        </div>
      )}
    </div>
  );
}
