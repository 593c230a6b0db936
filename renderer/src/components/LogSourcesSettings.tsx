/**
 * Log sources in Settings: what the agent may read with read_logs. The person lists, adds
 * (a file or folder outside the workspace, a Docker container, a saved command run in the
 * sandbox) and removes them; each change applies at once through its own channel, checked
 * and audited by the main process, which names the field a refusal is about. The agent has
 * no way to add or change one.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { logSource, logSourceTarget, type LogSource, type LogSourceField, type LogSourceKind } from '../../../shared/logSources';
import type { SophiaClient } from '../client/sophiaClient';
import './logSources.css';

const kindLabels: Record<LogSourceKind, string> = {
  file: 'File or folder (outside the workspace)',
  docker: 'Docker container',
  command: 'Saved command (run in the sandbox)',
};

type FieldErrors = Partial<Record<LogSourceField, string>>;

export function LogSourcesSettings({ client }: { client: SophiaClient }) {
  const [sources, setSources] = useState<readonly LogSource[] | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [name, setName] = useState('');
  const [kind, setKind] = useState<LogSourceKind>('file');
  const [target, setTarget] = useState({ path: '', container: '', command: '' });
  const [errors, setErrors] = useState<FieldErrors>({});

  useEffect(() => {
    void client.request('logSources.list', {}).then((result) => {
      if (result.ok) setSources(result.value.sources);
      else setMessage(result.error.message);
    });
  }, [client]);

  const field: LogSourceField = kind === 'file' ? 'path' : kind === 'docker' ? 'container' : 'command';

  const add = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const parsed = logSource.safeParse({ name, kind, [field]: target[field] });
    if (!parsed.success) {
      const found: FieldErrors = {};
      for (const issue of parsed.error.issues) {
        const key = issue.path[0] === 'name' ? 'name' : field;
        found[key] ??= issue.message;
      }
      setErrors(found);
      return;
    }
    setErrors({});
    setBusy(true);
    const result = await client.request('logSources.save', parsed.data);
    setBusy(false);
    if (!result.ok) {
      const data = result.error.data as { field?: unknown } | undefined;
      const named = data?.field === 'name' || data?.field === 'path' || data?.field === 'container' || data?.field === 'command' ? data.field : field;
      setErrors({ [named]: result.error.message });
      return;
    }
    setSources(result.value.sources);
    setMessage(`Added ${parsed.data.name}: the agent may read it with read_logs.`);
    setName('');
    setTarget({ path: '', container: '', command: '' });
  };

  const remove = async (source: LogSource): Promise<void> => {
    setBusy(true);
    const result = await client.request('logSources.remove', { name: source.name });
    setBusy(false);
    if (!result.ok) {
      setMessage(result.error.message);
      return;
    }
    setSources(result.value.sources);
    setMessage(`Removed ${source.name}.`);
  };

  const fieldError = (key: LogSourceField) =>
    errors[key] && (
      <p id={`log-source-${key}-error`} className="field-error" role="alert" data-testid={`log-source-${key}-error`}>
        {errors[key]}
      </p>
    );
  const described = (key: LogSourceField) => (errors[key] ? { 'aria-invalid': true, 'aria-describedby': `log-source-${key}-error` } : {});

  return (
    <fieldset className="log-sources" data-testid="settings-log-sources" aria-busy={busy}>
      <legend>Log sources</legend>
      <p className="settings-note">
        Logs the agent may read with read_logs, read-only and audited: a log file or folder outside the workspace, a Docker container&apos;s logs, or the output of a command
        run in a sandbox container (workspace read-only, no network). Known secret values are cut from what it reads. Only you add or change a source; changes apply at once.
      </p>
      {sources && sources.length === 0 && <p className="settings-note">No log sources yet.</p>}
      {sources && sources.length > 0 && (
        <ul className="log-source-list" aria-label="Log sources">
          {sources.map((source) => (
            <li key={source.name} className="log-source" data-testid={`log-source-${source.name}`}>
              <strong>{source.name}</strong>
              <span className="settings-note">{source.kind}</span>
              <code className="log-source-target">{logSourceTarget(source)}</code>
              <button type="button" disabled={busy} onClick={() => void remove(source)} aria-label={`Remove log source ${source.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form className="log-source-add" onSubmit={(event) => void add(event)} aria-label="Add a log source" noValidate>
        <label>
          Name
          <input value={name} onChange={(event) => setName(event.target.value)} placeholder="notion-sync" autoComplete="off" spellCheck={false} {...described('name')} />
        </label>
        {fieldError('name')}
        <div role="radiogroup" aria-label="Kind of log source">
          {(Object.keys(kindLabels) as LogSourceKind[]).map((option) => (
            <label key={option} className="settings-inline">
              <input type="radio" name="log-source-kind" checked={kind === option} onChange={() => setKind(option)} /> {kindLabels[option]}
            </label>
          ))}
        </div>
        {kind === 'file' && (
          <label>
            Path of the log file or folder
            <input
              value={target.path}
              onChange={(event) => setTarget({ ...target, path: event.target.value })}
              placeholder="~/logs/sync.log or /var/log/myapp"
              autoComplete="off"
              spellCheck={false}
              {...described('path')}
            />
          </label>
        )}
        {kind === 'docker' && (
          <label>
            Container name or id
            <input
              value={target.container}
              onChange={(event) => setTarget({ ...target, container: event.target.value })}
              placeholder="api-1"
              autoComplete="off"
              spellCheck={false}
              {...described('container')}
            />
          </label>
        )}
        {kind === 'command' && (
          <label>
            Command (its output is the log)
            <input
              value={target.command}
              onChange={(event) => setTarget({ ...target, command: event.target.value })}
              placeholder="cat logs/*.log"
              autoComplete="off"
              spellCheck={false}
              {...described('command')}
            />
          </label>
        )}
        {fieldError(field)}
        <button type="submit" disabled={busy}>
          Add log source
        </button>
      </form>
      {message && (
        <p className="settings-message" role="status" data-testid="log-sources-status">
          {message}
        </p>
      )}
    </fieldset>
  );
}
