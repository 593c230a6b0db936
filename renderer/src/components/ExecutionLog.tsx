import { useEffect, useRef, useState } from 'react';
import type { SandboxStatus } from '../../../shared/contract';
import { describeOutcome, type Execution } from '../state/executionLog';
import './executionLog.css';

const stateLabels: Record<SandboxStatus['state'], string> = {
  checking: 'Checking Docker…',
  'docker-unavailable': 'Docker is not running',
  'image-missing': 'Sandbox image missing',
  'building-image': 'Building the sandbox image…',
  ready: 'Sandbox ready',
  failed: 'Sandbox unavailable',
};

function SandboxBar(props: { status: SandboxStatus | undefined; onPrepare: () => Promise<string | undefined>; onCheck: () => Promise<string | undefined> }) {
  const { status } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = (action: () => Promise<string | undefined>) => async () => {
    setBusy(true);
    setError(await action());
    setBusy(false);
  };
  const state = status?.state ?? 'checking';
  const action =
    state === 'ready'
      ? { label: 'Check sandbox', onClick: run(props.onCheck) }
      : state === 'image-missing'
        ? { label: 'Build sandbox image', onClick: run(props.onPrepare) }
        : state === 'docker-unavailable' || state === 'failed'
          ? { label: 'Retry', onClick: run(props.onPrepare) }
          : undefined;
  return (
    <div className={`sandbox-bar sandbox-${state}`} data-testid="sandbox-status" role={state === 'ready' ? undefined : 'status'}>
      <div className="sandbox-bar-line">
        <span className="sandbox-dot" aria-hidden="true" />
        <strong>{stateLabels[state]}</strong>
        {status && state === 'ready' && (
          <span className="sandbox-meta">
            {status.pool.warm}/{status.pool.size} warm · {status.containers} in use
          </span>
        )}
        {action && (
          <button type="button" className="sandbox-action" onClick={() => void action.onClick()} disabled={busy}>
            {busy ? 'Working…' : action.label}
          </button>
        )}
      </div>
      {status && state !== 'ready' && <p className="sandbox-message">{status.message}</p>}
      {error && <p className="sandbox-message sandbox-error">{error}</p>}
    </div>
  );
}

function ExecutionEntry({ entry }: { entry: Execution }) {
  const running = entry.end === undefined;
  const failed = entry.end !== undefined && (entry.end.timedOut || entry.end.stopped || entry.end.exitCode !== 0);
  return (
    <li className={`execution${running ? ' execution-running' : ''}${failed ? ' execution-failed' : ''}`} data-testid="execution">
      <div className="execution-head">
        <code className="execution-command" title={entry.command}>
          $ {entry.command}
        </code>
        <span className="execution-outcome" data-testid="execution-outcome">
          {describeOutcome(entry)}
        </span>
      </div>
      <div className="execution-task">
        task {entry.taskId} · {new Date(entry.startedAt).toLocaleTimeString()}
      </div>
      {(entry.output.length > 0 || entry.dropped) && (
        <pre className="execution-output">
          {entry.dropped && <span className="execution-note">[earlier output not shown]{'\n'}</span>}
          {entry.output.map((segment, index) => (
            <span key={index} className={segment.stream === 'stderr' ? 'execution-stderr' : undefined}>
              {segment.text}
            </span>
          ))}
          {entry.end?.truncated && <span className="execution-note">{'\n'}[output past the kept limit was dropped]</span>}
        </pre>
      )}
    </li>
  );
}

/**
 * The execution log: what ran in the task sandboxes, streamed as it runs, with each
 * command's exit code and duration; above it, the state of Docker and the sandbox in
 * plain words, with the one action that helps.
 */
export function ExecutionLog(props: {
  executions: readonly Execution[];
  sandbox: SandboxStatus | undefined;
  onPrepare: () => Promise<string | undefined>;
  onCheck: () => Promise<string | undefined>;
}) {
  const { executions } = props;
  const listRef = useRef<HTMLDivElement>(null);
  const followRef = useRef(true);

  // Follow the newest output unless the person scrolled up to read.
  useEffect(() => {
    const list = listRef.current;
    if (list && followRef.current) list.scrollTop = list.scrollHeight;
  }, [executions]);

  return (
    <section className="execution-log" aria-label="Execution log" data-testid="execution-log">
      <SandboxBar status={props.sandbox} onPrepare={props.onPrepare} onCheck={props.onCheck} />
      <div
        className="execution-scroll"
        ref={listRef}
        onScroll={(event) => {
          const target = event.currentTarget;
          followRef.current = target.scrollHeight - target.scrollTop - target.clientHeight < 40;
        }}
      >
        {executions.length === 0 ? (
          <p className="panel-placeholder">No commands have run in a sandbox yet. Their output appears here as it runs.</p>
        ) : (
          <ol className="execution-list">
            {executions.map((entry) => (
              <ExecutionEntry key={entry.execId} entry={entry} />
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}
