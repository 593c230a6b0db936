/**
 * Settings → Sandbox: whether the open workspace's own Dockerfile or devcontainer.json gives
 * its sandbox image. The workspace may be written by anyone, so building it is the person's
 * choice, made here for this folder only, after seeing what would be built. The build runs
 * with no network and its result is hardened like the default image.
 */
import { useCallback, useEffect, useState } from 'react';
import type { RequestOutput, WorkspaceImagePlanView } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';

type Described = RequestOutput<'sandbox.workspaceImage'>;
type Choice = Described['chosen'];

export default function SandboxWorkspaceImage({ client }: { client: SophiaClient }) {
  const [described, setDescribed] = useState<Described | undefined>();
  const [choice, setChoice] = useState<Choice>('');
  const [message, setMessage] = useState<{ text: string; error?: boolean } | undefined>();

  const refresh = useCallback(async () => {
    const result = await client.request('sandbox.workspaceImage', {});
    if (result.ok) {
      setDescribed(result.value);
      setChoice(result.value.chosen);
    } else {
      setMessage({ text: result.error.message, error: true });
    }
  }, [client]);

  useEffect(() => {
    let live = true;
    void client.request('sandbox.workspaceImage', {}).then((result) => {
      if (!live) return;
      if (result.ok) {
        setDescribed(result.value);
        setChoice(result.value.chosen);
      } else {
        setMessage({ text: result.error.message, error: true });
      }
    });
    return () => {
      live = false;
    };
  }, [client]);

  const save = async (): Promise<void> => {
    if (!described?.workspace) return;
    setMessage({ text: 'Saving…' });
    const current = await client.request('settings.get', {});
    if (!current.ok) {
      setMessage({ text: current.error.message, error: true });
      return;
    }
    const others = current.value.sandboxWorkspaceImages.filter((entry) => entry.workspace !== described.workspace);
    const next = choice === '' ? others : [...others, { workspace: described.workspace, source: choice }];
    const result = await client.request('settings.set', { sandboxWorkspaceImages: next });
    if (result.ok) {
      setMessage({ text: choice === '' ? 'Saved: this workspace uses the default image.' : 'Saved: the next task builds (or reuses) this image.' });
      await refresh();
    } else {
      setMessage({ text: result.error.message, error: true });
    }
  };

  if (!described) return null;
  if (!described.workspace) {
    return (
      <p className="settings-note" data-testid="workspace-image">
        Open a workspace to choose its own sandbox image (its Dockerfile or .devcontainer/devcontainer.json).
      </p>
    );
  }
  return (
    <fieldset data-testid="workspace-image" aria-label="The workspace's own sandbox image">
      <legend>This workspace's sandbox image</legend>
      <p className="settings-note">
        A workspace may bring its own image. Its files may be written by anyone, so Sophia builds them only if you choose so here, for this folder. The build has no network
        and pulls nothing; the result is hardened like the default image (same users, no setuid files, not root), and lifecycle commands such as postCreateCommand never run.
      </p>
      <label className="settings-inline">
        <input type="radio" name="workspace-image" value="" checked={choice === ''} onChange={() => setChoice('')} data-testid="workspace-image-default" />
        The default image
      </label>
      {described.options.map((option) => (
        <PlanOption key={option.source} option={option} checked={choice === option.source} onChoose={() => setChoice(option.source)} />
      ))}
      <div className="settings-save-row">
        <button type="button" onClick={() => void save()} disabled={choice === described.chosen} data-testid="workspace-image-save">
          Save image choice
        </button>
        {message && (
          <span className={message.error ? 'settings-error' : 'settings-note'} role="status" data-testid="workspace-image-status">
            {message.text}
          </span>
        )}
      </div>
    </fieldset>
  );
}

function PlanOption({ option, checked, onChoose }: { option: WorkspaceImagePlanView; checked: boolean; onChoose: () => void }) {
  const usable = option.error === undefined;
  return (
    <div className="workspace-image-option" data-testid={`workspace-image-${option.source}`}>
      <label className="settings-inline">
        <input type="radio" name="workspace-image" value={option.source} checked={checked} disabled={!usable && !checked} onChange={onChoose} />
        {option.source === 'dockerfile' ? 'Build the workspace’s Dockerfile' : 'Use .devcontainer/devcontainer.json'}
      </label>
      {usable ? (
        <ul className="settings-note">
          {option.image && (
            <li>
              Image: <code>{option.image}</code> (used as it is, then hardened)
            </li>
          )}
          {option.dockerfile && (
            <li>
              Builds <code>{option.dockerfile}</code> with context <code>{option.context ?? '.'}</code>
              {option.target && (
                <>
                  {' '}
                  (stage <code>{option.target}</code>)
                </>
              )}
            </li>
          )}
          {option.baseImages.length > 0 && <li>From: {option.baseImages.join(', ')}</li>}
          {option.args.length > 0 && <li>Build arguments: {option.args.join(', ')}</li>}
          {option.containerEnv.length > 0 && <li>Environment: {option.containerEnv.join(', ')}</li>}
          {option.ignored.length > 0 && <li>Ignored (Sophia never runs or applies them): {option.ignored.join(', ')}</li>}
          {option.tag && (
            <li>
              Image tag <code>{option.tag}</code>, {option.built ? 'built' : 'not built yet (built when a task first needs it)'}
            </li>
          )}
        </ul>
      ) : (
        <p className="settings-note">{option.error}</p>
      )}
    </div>
  );
}
