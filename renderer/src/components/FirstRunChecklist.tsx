/**
 * The first-run checklist: what Sophia needs before a first task, each item green or saying
 * what to do, with the button that does it. It opens by itself on an empty data folder and
 * from the status bar or Settings afterwards.
 */
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import type { SandboxStatus, SetupStatus } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import { FolderPicker } from './FolderPicker';
import type { SettingsSectionId } from './SettingsPanel';

type ItemState = 'ok' | 'todo' | 'working';

function Item({ id, title, state, message, children }: { id: string; title: string; state: ItemState; message: string; children?: ReactNode }) {
  return (
    <li className={`checklist-item checklist-${state}`} data-testid={`checklist-${id}`} data-state={state}>
      <span className="checklist-mark" aria-hidden="true">
        {state === 'ok' ? '✓' : state === 'working' ? '…' : '!'}
      </span>
      <div className="checklist-body">
        <strong>{title}</strong> <span className="visually-hidden">{state === 'ok' ? '(done)' : state === 'working' ? '(in progress)' : '(to do)'}</span>
        <p className="checklist-message">{message}</p>
        {state === 'working' && <progress className="checklist-progress" aria-label={`${title} in progress`} />}
        {children && <div className="checklist-actions">{children}</div>}
      </div>
    </li>
  );
}

export function FirstRunChecklist(props: {
  client: SophiaClient;
  sandbox: SandboxStatus | undefined;
  /** Changes whenever settings or credentials may have changed (the status events), to check again. */
  revision: unknown;
  onOpenSettings: (section: SettingsSectionId) => void;
  onClose: () => void;
}) {
  const { client, sandbox, revision, onOpenSettings, onClose } = props;
  const [setup, setSetup] = useState<SetupStatus | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [checking, setChecking] = useState(false);

  const refresh = useCallback(async (): Promise<void> => {
    setChecking(true);
    const result = await client.request('setup.status', {});
    setChecking(false);
    if (result.ok) setSetup(result.value);
    else setError(result.error.message);
  }, [client]);

  // Checked again whenever the settings or the app's status change (`revision`); state is set only when the answer arrives.
  useEffect(() => {
    void client.request('setup.status', {}).then((result) => {
      if (result.ok) setSetup(result.value);
      else setError(result.error.message);
    });
  }, [client, revision]);

  const chooseFolder = async (folder: string): Promise<void> => {
    const result = await client.request('settings.set', { workspace: folder });
    setError(result.ok ? undefined : result.error.message);
    await refresh();
  };
  const prepareSandbox = async (): Promise<void> => {
    const result = await client.request('sandbox.prepare', {});
    if (!result.ok) setError(result.error.message);
  };

  const sandboxState: ItemState = sandbox === undefined || sandbox.state === 'checking' || sandbox.state === 'building-image' ? 'working' : sandbox.state === 'ready' ? 'ok' : 'todo';
  // The image can be built from here unless the message says this machine cannot (no root, no debootstrap, a named image).
  const buildable = sandbox?.state === 'image-missing' && /Build sandbox image/.test(sandbox.message);
  const allDone = setup !== undefined && setup.model.ok && setup.workspace.ok && setup.keychain.ok && sandboxState === 'ok';

  return (
    <section className="first-run" aria-label="First-run checklist" data-testid="first-run">
      <div className="first-run-head">
        <h2>{allDone ? 'Sophia is ready' : 'Before the first task'}</h2>
        <span>
          <button type="button" onClick={() => void refresh()} disabled={checking}>
            {checking ? 'Checking…' : 'Check again'}
          </button>{' '}
          <button type="button" onClick={onClose}>
            Close
          </button>
        </span>
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {setup === undefined ? (
        <p className="settings-note">Checking…</p>
      ) : (
        <ol className="checklist">
          <Item id="model" title="Model and key" state={setup.model.ok ? 'ok' : 'todo'} message={setup.model.message}>
            <button type="button" onClick={() => onOpenSettings('model')}>
              Open Settings → Model
            </button>
            {!setup.model.ok && /Credentials & role/.test(setup.model.message) && (
              <button type="button" onClick={() => onOpenSettings('credentials')} data-testid="checklist-open-credentials">
                Open Credentials &amp; role
              </button>
            )}
          </Item>
          <Item id="workspace" title="Workspace folder" state={setup.workspace.ok ? 'ok' : 'todo'} message={setup.workspace.message}>
            <FolderPicker client={client} onPick={(folder) => void chooseFolder(folder)} label={setup.workspace.ok ? 'Choose another folder…' : 'Choose a folder…'} />
          </Item>
          <Item
            id="sandbox"
            title="Docker and the sandbox image"
            state={sandboxState}
            message={sandbox ? sandbox.message : 'Looking for Docker…'}
          >
            {buildable && (
              <button type="button" onClick={() => void prepareSandbox()} data-testid="checklist-build-image">
                Build sandbox image
              </button>
            )}
            {sandbox && !buildable && ['docker-unavailable', 'failed', 'image-missing'].includes(sandbox.state) && (
              <button type="button" onClick={() => void prepareSandbox()}>
                Retry
              </button>
            )}
            <button type="button" onClick={() => onOpenSettings('sandbox')}>
              Open Settings → Sandbox
            </button>
          </Item>
          <Item id="keychain" title="OS keychain" state={setup.keychain.ok ? 'ok' : 'todo'} message={setup.keychain.message}>
            {!setup.keychain.ok && (
              <button type="button" onClick={() => void refresh()}>
                Retry
              </button>
            )}
          </Item>
        </ol>
      )}
    </section>
  );
}
