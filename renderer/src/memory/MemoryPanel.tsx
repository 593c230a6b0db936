/**
 * What Sophia remembers for the open workspace, and what it keeps of the infrastructure:
 * - the project notes (AGENTS.md, CLAUDE.md), labelled as the repository's words;
 * - the learned memory entries, each editable and deletable (both audited);
 * - the infrastructure state kept across restarts: Snowflake recovery points with their age
 *   and Time Travel window, Pulumi stacks, deployments and outputs, plans not yet applied.
 * Loaded lazily by MemoryDrawer.tsx.
 */
import { useCallback, useEffect, useState } from 'react';
import type { RequestOutput } from '../../../shared/contract';
import { memoryKinds, type MemoryEntryView, type MemoryKind, type RecoveryPointView } from '../../../shared/memory';
import type { SophiaClient } from '../client/sophiaClient';

type MemoryList = RequestOutput<'memory.list'>;
type InfraState = RequestOutput<'infra.state'>;

const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "3 min", "2 h", "4 days": how long ago, or how long until. */
export function span(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  if (minutes < 90) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

export default function MemoryPanel({ client }: { client: SophiaClient }) {
  const [memory, setMemory] = useState<MemoryList | undefined>(undefined);
  const [infra, setInfra] = useState<InfraState | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(
    () =>
      Promise.all([client.request('memory.list', {}), client.request('infra.state', {})]).then(([listed, state]) => {
        if (listed.ok) setMemory(listed.value);
        if (state.ok) setInfra(state.value);
        setError(!listed.ok ? listed.error.message : !state.ok ? state.error.message : undefined);
        setNow(Date.now());
      }),
    [client],
  );

  useEffect(() => {
    void load();
  }, [load]);

  // A kept entry (the remember tool, approved) shows without reopening the drawer.
  useEffect(
    () =>
      client.onEvent((event) => {
        if (event.type === 'tool.result' || event.type === 'deployment.event') void load();
      }),
    [client, load],
  );

  return (
    <div className="memory-panel" data-testid="memory-panel">
      <div className="memory-toolbar">
        <span className="memory-muted" data-testid="memory-workspace">
          {memory?.workspace ? `Workspace ${memory.workspace}` : 'No workspace is open: memory is kept per workspace.'}
        </span>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="memory-error" role="alert">
          {error}
        </p>
      )}
      {memory && <ProjectNotes notes={memory.notes} />}
      {memory && <LearnedMemory client={client} entries={memory.entries} onChanged={load} />}
      {infra && <InfraStateView state={infra} now={now} />}
    </div>
  );
}

function ProjectNotes({ notes }: { notes: MemoryList['notes'] }) {
  return (
    <section aria-label="Project notes" data-testid="memory-notes">
      <h3>Project notes</h3>
      {notes.notes.length === 0 && notes.refused.length === 0 && <p className="memory-muted">No AGENTS.md or CLAUDE.md at the workspace root.</p>}
      {notes.notes.map((note) => (
        <div key={note.file} className="memory-note" data-testid="memory-note">
          <strong>{note.file}</strong>{' '}
          <span className="memory-note-label">the repository&apos;s words, not yours: the model reads them as quoted data; they grant nothing</span>
          <pre>{note.text}</pre>
          {note.truncated && <p className="memory-muted">Longer than the limit: only its start is used.</p>}
        </div>
      ))}
      {notes.refused.map((item) => (
        <p key={item.file} className="memory-error">
          {item.file} not read: {item.reason}
        </p>
      ))}
    </section>
  );
}

function LearnedMemory({ client, entries, onChanged }: { client: SophiaClient; entries: readonly MemoryEntryView[]; onChanged: () => Promise<void> }) {
  return (
    <section aria-label="Learned memory" data-testid="memory-entries">
      <h3>Learned memory ({entries.length})</h3>
      <p className="memory-muted">Entries you accepted from the remember tool. They go into the model&apos;s prompt as data, the most relevant first, within a token budget.</p>
      {entries.length === 0 ? (
        <p className="memory-muted">None yet.</p>
      ) : (
        <ul className="memory-list">
          {entries.map((entry) => (
            <MemoryEntry key={entry.id} client={client} entry={entry} onChanged={onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

function MemoryEntry({ client, entry, onChanged }: { client: SophiaClient; entry: MemoryEntryView; onChanged: () => Promise<void> }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(entry.text);
  const [kind, setKind] = useState<MemoryKind>(entry.kind);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const save = async (): Promise<void> => {
    const result = await client.request('memory.update', { id: entry.id, text, kind });
    if (!result.ok) return setError(result.error.message);
    setError(undefined);
    setEditing(false);
    await onChanged();
  };
  const remove = async (): Promise<void> => {
    const result = await client.request('memory.remove', { id: entry.id });
    if (!result.ok) return setError(result.error.message);
    await onChanged();
  };

  return (
    <li className="memory-entry" data-testid="memory-entry" data-entry-id={entry.id}>
      {editing ? (
        <>
          <select aria-label="Kind" value={kind} onChange={(event) => setKind(event.target.value as MemoryKind)}>
            {memoryKinds.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
          <textarea aria-label="Memory text" value={text} onChange={(event) => setText(event.target.value)} />
          <div className="memory-actions">
            <button type="button" onClick={() => void save()}>
              Save
            </button>
            <button
              type="button"
              onClick={() => {
                setEditing(false);
                setText(entry.text);
                setKind(entry.kind);
              }}
            >
              Cancel
            </button>
          </div>
        </>
      ) : (
        <>
          <span className="memory-kind">{entry.kind}</span>
          <span className="memory-muted">{time.format(entry.updatedAt)}</span>
          <p className="memory-entry-text" data-testid="memory-entry-text">
            {entry.text}
          </p>
          <div className="memory-actions">
            <button type="button" onClick={() => setEditing(true)}>
              Edit
            </button>
            {confirming ? (
              <>
                <span className="memory-muted">Delete it?</span>
                <button type="button" onClick={() => void remove()}>
                  Delete
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" onClick={() => setConfirming(true)}>
                Delete…
              </button>
            )}
          </div>
        </>
      )}
      {error && (
        <p className="memory-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

function TimeTravel({ point, now }: { point: RecoveryPointView; now: number }) {
  const left = point.expiresAt - now;
  const window = `${point.retentionDays} day${point.retentionDays === 1 ? '' : 's'}${point.retentionKnown ? '' : ' (assumed: Snowflake did not say)'}`;
  return left > 0 ? (
    <span>
      {window}; expires {time.format(point.expiresAt)} (in {span(left)})
    </span>
  ) : (
    <span className="memory-expired">
      {window}; expired {time.format(point.expiresAt)}: the clone {point.clone} still restores it
    </span>
  );
}

function InfraStateView({ state, now }: { state: InfraState; now: number }) {
  return (
    <section aria-label="Infrastructure state" data-testid="memory-infra">
      <h3>Infrastructure state</h3>
      <p className="memory-muted">Kept across restarts. A kept plan is checked again before it is applied; an approval never carries over to a changed plan.</p>
      <h3>Recovery points ({state.recoveryPoints.length})</h3>
      {state.recoveryPoints.length === 0 ? (
        <p className="memory-muted">None.</p>
      ) : (
        <table className="memory-table" data-testid="memory-recovery-points">
          <thead>
            <tr>
              <th>Table</th>
              <th>Age</th>
              <th>Time Travel window</th>
              <th>Id</th>
            </tr>
          </thead>
          <tbody>
            {state.recoveryPoints.map((point) => (
              <tr key={point.id} data-testid="memory-recovery-point">
                <td>
                  {point.table} on {point.environment}
                  <div className="memory-muted">
                    before line {point.line}: {point.sql}
                  </div>
                  {point.restoredAt !== null && <div className="memory-muted">restored {time.format(point.restoredAt)}</div>}
                </td>
                <td>{span(now - point.createdAt)}</td>
                <td>
                  <TimeTravel point={point} now={now} />
                </td>
                <td>
                  <code>{point.id}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Stacks ({state.stacks.length})</h3>
      {state.stacks.length === 0 ? (
        <p className="memory-muted">None seen yet.</p>
      ) : (
        <table className="memory-table" data-testid="memory-stacks">
          <tbody>
            {state.stacks.map((stack) => (
              <tr key={`${stack.projectDir}:${stack.name}`}>
                <td>{stack.name}</td>
                <td>{stack.resourceCount ?? '?'} resources</td>
                <td className="memory-muted">{stack.lastUpdate ? `last update ${stack.lastUpdate}` : 'never deployed'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Deployments ({state.deployments.length})</h3>
      {state.deployments.length === 0 ? (
        <p className="memory-muted">None yet.</p>
      ) : (
        <table className="memory-table" data-testid="memory-deployments">
          <tbody>
            {state.deployments.map((deployment) => (
              <tr key={deployment.id}>
                <td>
                  {deployment.system} {deployment.target}
                </td>
                <td>{deployment.status}</td>
                <td>
                  {deployment.summary}
                  {Object.entries(deployment.outputs).map(([name, value]) => (
                    <div key={name} className="memory-muted">
                      {name} = {value}
                    </div>
                  ))}
                </td>
                <td className="memory-muted">{time.format(deployment.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Plans not yet applied ({state.plans.length})</h3>
      {state.plans.length === 0 ? (
        <p className="memory-muted">None.</p>
      ) : (
        <table className="memory-table" data-testid="memory-plans">
          <tbody>
            {state.plans.map((plan) => (
              <tr key={plan.id}>
                <td>
                  {plan.system} {plan.target}
                </td>
                <td>{plan.summary}</td>
                <td className="memory-muted">{time.format(plan.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
