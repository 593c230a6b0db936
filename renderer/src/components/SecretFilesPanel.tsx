/**
 * Secret files (.env and the like) are refused to the agent's tools. Here, and only here,
 * the person opens one for the agent's read tools, for this session, and closes it again.
 * The model has no tool that reaches this; each opening and closing is in the audit log.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { SophiaClient } from '../client/sophiaClient';

export default function SecretFilesPanel({ client }: { client: SophiaClient }) {
  const [paths, setPaths] = useState<readonly string[]>([]);
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const refresh = useCallback(async () => {
    const result = await client.request('workspace.secretFiles', {});
    if (result.ok) setPaths(result.value.paths);
  }, [client]);

  useEffect(() => {
    let live = true;
    void client.request('workspace.secretFiles', {}).then((result) => {
      if (live && result.ok) setPaths(result.value.paths);
    });
    return () => {
      live = false;
    };
  }, [client]);

  const change = async (request: Promise<{ ok: true } | { ok: false; error: { message: string } }>, after?: () => void): Promise<void> => {
    setBusy(true);
    setError(undefined);
    const result = await request;
    setBusy(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    await refresh();
    after?.();
  };

  const open = (event: FormEvent): void => {
    event.preventDefault();
    if (!path.trim()) return;
    void change(client.request('workspace.openSecretFile', { path: path.trim() }), () => setPath(''));
  };

  return (
    <details className="secret-files" data-testid="secret-files" open={paths.length > 0 ? true : undefined} onToggle={() => void refresh()}>
      <summary>Secret files open to the agent · {paths.length}</summary>
      <p className="secret-files-help">
        Files such as <code>.env</code> or private keys are refused to the agent. Open one here to let its read tools read that file for this session; close it to
        refuse it again. Both are recorded in the audit log.
      </p>
      {paths.length > 0 && (
        <ul className="secret-files-list">
          {paths.map((item) => (
            <li key={item} data-testid="secret-file">
              <code>{item}</code>
              <button type="button" disabled={busy} data-testid="secret-file-close" onClick={() => void change(client.request('workspace.closeSecretFile', { path: item }))}>
                Close
              </button>
            </li>
          ))}
        </ul>
      )}
      <form className="secret-files-open" onSubmit={open}>
        <input
          type="text"
          aria-label="Secret file path, relative to the workspace"
          placeholder=".env"
          value={path}
          data-testid="secret-file-path"
          onChange={(event) => setPath(event.target.value)}
        />
        <button type="submit" disabled={busy || !path.trim()} data-testid="secret-file-open">
          Open for the agent
        </button>
      </form>
      {error && (
        <div className="proposal-message" role="alert" data-testid="secret-file-error">
          {error}
        </div>
      )}
    </details>
  );
}
