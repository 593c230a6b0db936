/** The audit log, newest first, filtered by conversation, kind and risk, with a chain check. */
import { useCallback, useEffect, useState } from 'react';
import { auditKinds, riskLevels, type AuditEntryView, type AuditKind, type AuditVerifyResult, type RiskLevel } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import './safety.css';

const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

/** A filter over one field: "all", or one of its values. */
function FilterSelect<T extends string>(props: { label: string; value: T | ''; values: readonly T[]; onChange: (value: T | '') => void }) {
  const { label, value, values, onChange } = props;
  return (
    <label>
      {label}
      <select aria-label={label} value={value} onChange={(event) => onChange(event.target.value as T | '')}>
        <option value="">all</option>
        {values.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </label>
  );
}

export function AuditViewer({ client, conversationId }: { client: SophiaClient; conversationId: string | undefined }) {
  const [entries, setEntries] = useState<AuditEntryView[]>([]);
  const [kind, setKind] = useState<AuditKind | ''>('');
  const [risk, setRisk] = useState<RiskLevel | ''>('');
  const [onlyThisConversation, setOnlyThisConversation] = useState(false);
  const [verified, setVerified] = useState<AuditVerifyResult | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const load = useCallback(
    () =>
      client
        .request('audit.query', {
          limit: 200,
          ...(kind ? { kind } : {}),
          ...(risk ? { risk } : {}),
          ...(onlyThisConversation && conversationId ? { conversationId } : {}),
        })
        .then((result) => {
          if (result.ok) {
            setEntries(result.value.entries);
            setError(undefined);
          } else {
            setError(result.error.message);
          }
        }),
    [client, kind, risk, onlyThisConversation, conversationId],
  );

  useEffect(() => {
    void load();
  }, [load]);

  const verify = async (): Promise<void> => {
    const result = await client.request('audit.verify', {});
    if (result.ok) setVerified(result.value);
    else setError(result.error.message);
  };

  return (
    <section className="audit-viewer" aria-label="Audit log" data-testid="audit-viewer">
      <div className="audit-filters">
        <FilterSelect label="Kind" value={kind} values={auditKinds} onChange={setKind} />
        <FilterSelect label="Risk" value={risk} values={riskLevels} onChange={setRisk} />
        <label>
          <input type="checkbox" checked={onlyThisConversation} disabled={!conversationId} onChange={(event) => setOnlyThisConversation(event.target.checked)} />
          This conversation
        </label>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
        <button type="button" onClick={() => void verify()}>
          Verify chain
        </button>
      </div>
      {verified && (
        <p className={verified.ok ? 'safety-note' : 'safety-warning'} data-testid="audit-verify" role="status">
          {verified.message}
        </p>
      )}
      {error && (
        <p className="safety-warning" role="alert">
          {error}
        </p>
      )}
      <ol className="audit-entries">
        {entries.map((entry) => (
          <li key={entry.seq} className="audit-entry" data-testid="audit-entry" data-kind={entry.kind}>
            <span className="audit-seq">#{entry.seq}</span>
            <time className="audit-time">{time.format(entry.at)}</time>
            <span className="audit-kind">{entry.kind}</span>
            {entry.risk && <span className={`risk-badge risk-${entry.risk}`}>{entry.risk}</span>}
            <span className="audit-actor">{entry.actor}</span>
            <span className="audit-summary">{entry.summary}</span>
          </li>
        ))}
        {entries.length === 0 && <li className="safety-note">No entries match.</li>}
      </ol>
    </section>
  );
}
