import { useCallback, useEffect, useState } from 'react';
import type { CheckpointView, GitStatus } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import { DiffEditor } from '../monaco/lazyEditors';

interface DiffTexts {
  path: string;
  original: string;
  modified: string;
  binary: boolean;
}

const languages: Record<string, string> = { ts: 'typescript', tsx: 'typescript', js: 'javascript', json: 'json', sql: 'sql', py: 'python', md: 'markdown', css: 'css', html: 'html', yaml: 'yaml', yml: 'yaml' };

function languageOf(file: string): string {
  return languages[file.split('.').pop() ?? ''] ?? 'plaintext';
}

/**
 * The workspace repository: branch, ahead/behind, changed files with a Monaco diff of each,
 * and the conversation's checkpoints with one-click rollback.
 */
export default function GitPanel({ client, conversationId, onOpenSettings }: { client: SophiaClient; conversationId: string | undefined; onOpenSettings?: () => void }) {
  const [status, setStatus] = useState<GitStatus | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [diff, setDiff] = useState<DiffTexts | undefined>();
  const [checkpoints, setCheckpoints] = useState<readonly CheckpointView[]>([]);
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // A push address given in Settings → Git and GitHub: pushes go there when the repository has no remote.
  const [settingsRemote, setSettingsRemote] = useState('');

  const refresh = useCallback(
    () =>
      Promise.all([
        client.request('git.status', {}).then((result) => {
          if (result.ok) setStatus(result.value);
          else setMessage(result.error.message);
        }),
        client.request('settings.get', {}).then((result) => {
          if (result.ok) setSettingsRemote(result.value.gitRemoteUrl);
        }),
        (conversationId ? client.request('checkpoint.list', { conversationId }) : Promise.resolve(undefined)).then((list) => {
          setCheckpoints(list?.ok ? list.value.checkpoints : []);
        }),
      ]),
    [client, conversationId],
  );

  useEffect(() => {
    void refresh();
    // Files change when a tool ran or a checkpoint was taken or restored.
    return client.onEvent((event) => {
      if (event.type === 'checkpoint.created' || event.type === 'tool.result' || event.type === 'git.pullRequest') void refresh();
    });
  }, [client, refresh]);

  useEffect(() => {
    if (!selected) return;
    let live = true;
    void client.request('git.diff', { path: selected }).then((result) => {
      if (!live) return;
      if (result.ok) setDiff(result.value);
      else setMessage(result.error.message);
    });
    return () => {
      live = false;
    };
  }, [client, selected, status]);

  const rollback = async (checkpoint: CheckpointView): Promise<void> => {
    if (!conversationId) return;
    setBusy(true);
    const result = await client.request('checkpoint.rollback', { conversationId, checkpointId: checkpoint.id });
    setBusy(false);
    setMessage(result.ok ? `Rolled back to step ${result.value.restored.step}: ${result.value.filesChanged} file(s) restored. The state you left is step ${result.value.saved.step}.` : result.error.message);
    await refresh();
  };

  return (
    <div className="git-panel" data-testid="git-panel">
      <div className="panel-title git-header">
        {status?.repository ? (
          <>
            <span className="git-branch" data-testid="git-branch">
              {status.branch ?? '(detached)'}
            </span>
            <span
              className="git-tracking"
              data-testid="git-tracking"
              title={
                status.remotes.length > 0 || status.upstream
                  ? undefined
                  : settingsRemote
                    ? `Pushes go to the address in Settings → Git and GitHub: ${settingsRemote}`
                    : 'This repository has no remote, so there is nowhere to push yet.'
              }
            >
              {status.upstream
                ? `↑${status.ahead} ↓${status.behind} ${status.upstream}`
                : status.remotes.length > 0
                  ? `not pushed to ${status.remotes.includes('origin') ? 'origin' : status.remotes[0]}`
                  : settingsRemote
                    ? 'not pushed (to the address in Settings)'
                    : 'no remote'}
            </span>
          </>
        ) : (
          <span>{status ? 'The workspace is not a git repository.' : 'Reading the repository…'}</span>
        )}
        <button type="button" className="git-refresh" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      {status?.repository && status.remotes.length === 0 && !settingsRemote && (
        <div className="git-message git-no-remote" role="status" data-testid="git-no-remote">
          No remote: commits stay on this machine, and push and pull requests have nowhere to go. To publish, create an empty
          repository on GitHub (or your git server), then run <code>git remote add origin &lt;its https address&gt;</code> in the
          workspace and press Refresh, or give its address in Settings → Git and GitHub. Pushes go over HTTPS with the GitHub
          token from Credentials &amp; role.
          {onOpenSettings && (
            <button type="button" className="git-open-settings" onClick={onOpenSettings}>
              Open Settings
            </button>
          )}
        </div>
      )}
      {message && (
        <div className="git-message" role="status" data-testid="git-message">
          {message}
        </div>
      )}
      <ul className="git-files" data-testid="git-files">
        {status?.files.map((file) => (
          <li key={file.path}>
            <button type="button" className={`git-file git-${file.change}${selected === file.path ? ' selected' : ''}`} onClick={() => setSelected(file.path)}>
              <span className="git-change">{file.change[0]?.toUpperCase()}</span> {file.path}
            </button>
          </li>
        ))}
        {status?.repository && status.files.length === 0 && <li className="git-clean">No changes.</li>}
      </ul>
      {diff && diff.path === selected && (
        <div className="diff-editor git-diff" data-testid="git-diff">
          {diff.binary ? (
            <div className="panel-placeholder">Binary file</div>
          ) : (
            <DiffEditor
              original={diff.original}
              modified={diff.modified}
              language={languageOf(diff.path)}
              theme="vs-dark"
              options={{ readOnly: true, renderSideBySide: false, minimap: { enabled: false }, automaticLayout: true }}
            />
          )}
        </div>
      )}
      <div className="panel-title">Checkpoints</div>
      <ol className="checkpoints" data-testid="checkpoints">
        {checkpoints.map((checkpoint) => (
          <li key={checkpoint.id} className="checkpoint">
            <span className="checkpoint-step">{checkpoint.step}</span>
            <span className="checkpoint-label">{checkpoint.label}</span>
            <button type="button" disabled={busy} onClick={() => void rollback(checkpoint)} data-testid="checkpoint-rollback">
              Roll back here
            </button>
          </li>
        ))}
        {checkpoints.length === 0 && <li className="git-clean">No checkpoints in this conversation yet.</li>}
      </ol>
    </div>
  );
}
