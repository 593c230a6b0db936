/**
 * Settings → Engines: where sandboxes run. This machine is always there; the person adds a
 * Docker engine over mutual TLS, one over SSH, Podman's API socket or another local socket,
 * checks it, saves it (the main process checks it again and refuses a failing one), and
 * chooses the one tasks use. Keys and certificates are write-only: once saved they show
 * "set" and a Replace button, never their text, and the text leaves this component's state
 * as soon as it was sent. An SSH engine is saved only after the person trusted the host key
 * the server presented.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { engineProfile, localEngineId, type EngineCheckView, type EngineKind, type EngineListView, type EngineMaterial, type EngineMaterialField, type EngineProfile, type EngineView } from '../../../shared/contract';
import { engineAddress, engineMaterialFieldsFor, engineProfileProblem } from '../../../shared/engineProfiles';
import type { SophiaClient } from '../client/sophiaClient';
import './enginesSettings.css';

/** The kinds a person adds; `local` here is another Docker socket on this machine. */
const kindLabels: Record<EngineKind, string> = {
  tls: 'Docker over TCP with mutual TLS',
  ssh: 'Docker over SSH',
  podman: 'Podman (its Docker-compatible API socket)',
  local: 'Another Docker socket on this machine',
};
const kindOrder: readonly EngineKind[] = ['tls', 'ssh', 'podman', 'local'];

const materialLabels: Record<EngineMaterialField, string> = {
  ca: 'CA certificate (PEM)',
  cert: 'Client certificate (PEM)',
  key: 'Client key (PEM)',
  sshKey: 'SSH private key (OpenSSH or PEM, no passphrase)',
};

interface Draft {
  readonly mode: 'add' | 'edit';
  readonly id: string;
  /** The id follows the name until the person edits it. */
  readonly idEdited: boolean;
  readonly name: string;
  readonly kind: EngineKind;
  readonly host: string;
  readonly port: string;
  readonly user: string;
  readonly sshAuth: 'agent' | 'key';
  /** The host key the person trusted (or the stored pin, when editing). */
  readonly hostKey: string | undefined;
  readonly socketPath: string;
  /** Text typed for each field; '' is "keep what the keychain holds" for a field that is set. */
  readonly material: Readonly<Record<EngineMaterialField, string>>;
  /** Fields set in the keychain whose Replace the person pressed. */
  readonly replacing: readonly EngineMaterialField[];
}

const noMaterial: Record<EngineMaterialField, string> = { ca: '', cert: '', key: '', sshKey: '' };

function newDraft(): Draft {
  return { mode: 'add', id: '', idEdited: false, name: '', kind: 'tls', host: '', port: '', user: '', sshAuth: 'agent', hostKey: undefined, socketPath: '', material: noMaterial, replacing: [] };
}

function draftOf(profile: EngineProfile): Draft {
  return {
    mode: 'edit',
    id: profile.id,
    idEdited: true,
    name: profile.name,
    kind: profile.kind,
    host: profile.host ?? '',
    port: profile.port === undefined ? '' : String(profile.port),
    user: profile.user ?? '',
    sshAuth: profile.sshAuth ?? 'agent',
    hostKey: profile.hostKey,
    socketPath: profile.socketPath ?? '',
    material: noMaterial,
    replacing: [],
  };
}

/** An id from a name: lower case, digits and -, at most 32. */
function idFromName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
}

/** The profile the draft describes, with only its kind's fields; or why it is not one yet. */
function profileOf(draft: Draft): { profile: EngineProfile } | { problem: string } {
  const text = (value: string): string | undefined => (value.trim() === '' ? undefined : value.trim());
  const port = draft.port.trim() === '' ? undefined : Number(draft.port);
  const fields: Record<string, unknown> = { id: draft.id, name: draft.name, kind: draft.kind };
  if (draft.kind === 'tls' || draft.kind === 'ssh') Object.assign(fields, { host: text(draft.host), port });
  if (draft.kind === 'ssh') Object.assign(fields, { user: text(draft.user), sshAuth: draft.sshAuth, hostKey: draft.hostKey });
  if (draft.kind !== 'tls') fields['socketPath'] = text(draft.socketPath);
  const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  const parsed = engineProfile.safeParse(defined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: issue ? `${issue.path.join('.') || 'profile'}: ${issue.message}` : 'The profile is not complete.' };
  }
  const problem = engineProfileProblem(parsed.data);
  return problem ? { problem } : { profile: parsed.data };
}

/** The material to send: what was typed for the kind's fields (an empty field sends nothing). */
function materialOf(draft: Draft, profile: EngineProfile): EngineMaterial {
  const material: EngineMaterial = {};
  for (const field of engineMaterialFieldsFor(profile)) if (draft.material[field].trim() !== '') material[field] = draft.material[field];
  return material;
}

/** The check's own words say what it found (version, API, round trip, the hardened run); only a hardening failure is added when the words leave it out. */
function checkSummary(check: EngineCheckView): string {
  return check.hardened === false && !/hardening/.test(check.message) ? `${check.message} A hardened container did not run there.` : check.message;
}

export function EnginesSettings({ client }: { client: SophiaClient }) {
  const [list, setList] = useState<EngineListView | undefined>();
  const [message, setMessage] = useState<{ text: string; error: boolean } | undefined>();
  const [draft, setDraft] = useState<Draft | undefined>();
  const [check, setCheck] = useState<EngineCheckView | undefined>();
  const [formError, setFormError] = useState<string | undefined>();
  // What is under way, in words (a check can take seconds: an SSH log-in and a container run); undefined when idle.
  const [working, setWorking] = useState<string | undefined>();
  const busy = working !== undefined;
  const [confirmRemove, setConfirmRemove] = useState<string | undefined>();

  const refresh = useCallback(
    () =>
      client.request('engines.list', {}).then((result) => {
        if (result.ok) setList(result.value);
        else setMessage({ text: result.error.message, error: true });
      }),
    [client],
  );

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const stored = draft?.mode === 'edit' ? list?.engines.find((engine) => engine.profile.id === draft.id) : undefined;

  /** A change to where the engine is, or how it is reached, voids the last check (and a trusted host key). */
  const change = (patch: Partial<Draft>): void => {
    setDraft((current) => {
      if (!current) return current;
      const next = { ...current, ...patch };
      if (patch.name !== undefined && current.mode === 'add' && !current.idEdited) return { ...next, id: idFromName(patch.name) };
      const moved = ['kind', 'host', 'port', 'user'].some((key) => key in patch);
      return moved ? { ...next, hostKey: undefined } : next;
    });
    setCheck(undefined);
    setFormError(undefined);
  };

  const close = (): void => {
    // The typed keys leave the renderer's state with the form.
    setDraft(undefined);
    setCheck(undefined);
    setFormError(undefined);
  };

  const runCheck = async (): Promise<void> => {
    if (!draft) return;
    const built = profileOf(draft);
    if ('problem' in built) {
      setFormError(built.problem);
      return;
    }
    setWorking('Checking the engine…');
    setCheck(undefined);
    setFormError(undefined);
    const result = await client.request('engines.check', { profile: built.profile, material: materialOf(draft, built.profile) });
    setWorking(undefined);
    if (result.ok) setCheck(result.value);
    else setFormError(result.error.message);
  };

  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!draft) return;
    const built = profileOf(draft);
    if ('problem' in built) {
      setFormError(built.problem);
      return;
    }
    setWorking('Checking the engine again before saving…');
    setFormError(undefined);
    const result = await client.request('engines.save', { profile: built.profile, material: materialOf(draft, built.profile), replace: draft.mode === 'edit' });
    setWorking(undefined);
    if (!result.ok) {
      setFormError(result.error.message);
      const data = result.error.data as { check?: EngineCheckView } | undefined;
      if (data?.check) setCheck(data.check);
      return;
    }
    setList(result.value.engines);
    setMessage({ text: `${built.profile.name} was saved after its check passed: ${checkSummary(result.value.check)}`, error: false });
    close();
  };

  const remove = async (engine: EngineView): Promise<void> => {
    setConfirmRemove(undefined);
    setWorking('Removing the engine and its keys…');
    const result = await client.request('engines.remove', { id: engine.profile.id });
    setWorking(undefined);
    if (!result.ok) {
      setMessage({ text: result.error.message, error: true });
      return;
    }
    setList(result.value);
    setMessage({ text: `${engine.profile.name} was removed, with its keys in the keychain.`, error: false });
  };

  const select = async (engine: EngineView): Promise<void> => {
    setWorking('Switching the engine tasks run on…');
    const result = await client.request('engines.select', { id: engine.profile.id });
    setWorking(undefined);
    if (!result.ok) {
      setMessage({ text: result.error.message, error: true });
      return;
    }
    setList(result.value);
    setMessage({ text: `Tasks run on ${engine.profile.name} from now.`, error: false });
  };

  const built = draft ? profileOf(draft) : undefined;
  const needsTrust = draft?.kind === 'ssh' && (!draft.hostKey || (check?.hostKey !== undefined && check.hostKey !== draft.hostKey));
  const canSave = draft !== undefined && !busy && !needsTrust;

  return (
    <fieldset className="engines" data-testid="settings-engines" aria-busy={busy}>
      <legend>Engines</legend>
      <p className="settings-note">
        Where sandboxes run. Every engine but this machine gets the workspace as an archive (no bind mount) and sends back only what an approved step wrote. An engine is checked
        before it is saved; its keys and certificates are kept in the OS keychain and never shown again.
      </p>
      {list && !list.keychain.available && <p className="settings-error">{list.keychain.message}</p>}
      <ul className="engine-list" aria-label="Engines">
        {list?.engines.map((engine) => {
          const { profile } = engine;
          const active = list.active === profile.id;
          const fields = engineMaterialFieldsFor(profile);
          return (
            <li key={profile.id} className="engine" data-testid={`engine-${profile.id}`} aria-label={profile.name}>
              <strong>{profile.name}</strong>
              <span className="settings-note">{profile.kind}</span>
              <code className="engine-address">{engineAddress(profile)}</code>
              {active && (
                <span className="engine-active" data-testid="engine-active">
                  Active
                </span>
              )}
              {fields.length > 0 && (
                <span className="settings-note">{fields.map((field) => `${materialLabels[field].split(' (')[0]}: ${engine.material[field] ? 'set' : 'not set'}`).join('; ')}</span>
              )}
              <span className="engine-actions">
                {!active && (
                  <button type="button" disabled={busy} onClick={() => void select(engine)} aria-label={`Use ${profile.name} for tasks`}>
                    Use for tasks
                  </button>
                )}
                {profile.id !== localEngineId && (
                  <>
                    <button type="button" disabled={busy} onClick={() => setDraft(draftOf(profile))} aria-label={`Edit ${profile.name}`}>
                      Edit
                    </button>
                    <button type="button" disabled={busy} onClick={() => setConfirmRemove(profile.id)} aria-label={`Remove ${profile.name}`}>
                      Remove
                    </button>
                  </>
                )}
              </span>
              {confirmRemove === profile.id && (
                <div className="engine-confirm" role="alertdialog" aria-label={`Remove ${profile.name}?`}>
                  <span>
                    Remove {profile.name} and its keys from the keychain?{active ? ' Tasks will run on this machine.' : ''}
                  </span>
                  <button type="button" onClick={() => void remove(engine)}>
                    Remove engine
                  </button>
                  <button type="button" onClick={() => setConfirmRemove(undefined)}>
                    Keep it
                  </button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {!draft && (
        <button type="button" disabled={busy || (list?.engines.length ?? 0) > 16} onClick={() => setDraft(newDraft())}>
          Add an engine
        </button>
      )}
      {draft && (
        <form className="engine-form" onSubmit={(event) => void save(event)} aria-label="Engine profile" noValidate>
          <h4>{draft.mode === 'add' ? 'New engine' : `Edit ${stored?.profile.name ?? draft.id}`}</h4>
          <label>
            Name
            <input value={draft.name} onChange={(event) => change({ name: event.target.value })} placeholder="Build host" autoComplete="off" />
          </label>
          {draft.mode === 'add' && (
            <label>
              Id
              <input value={draft.id} onChange={(event) => change({ id: event.target.value, idEdited: true })} placeholder="build-host" autoComplete="off" spellCheck={false} />
            </label>
          )}
          {draft.mode === 'add' && (
            <div role="radiogroup" aria-label="Kind of engine">
              {kindOrder.map((kind) => (
                <label key={kind} className="settings-inline">
                  <input type="radio" name="engine-kind" checked={draft.kind === kind} onChange={() => change({ kind })} /> {kindLabels[kind]}
                </label>
              ))}
            </div>
          )}
          {(draft.kind === 'tls' || draft.kind === 'ssh') && (
            <>
              {draft.kind === 'ssh' && (
                <label>
                  User
                  <input value={draft.user} onChange={(event) => change({ user: event.target.value })} placeholder="builder" autoComplete="off" spellCheck={false} />
                </label>
              )}
              <label>
                Host
                <input value={draft.host} onChange={(event) => change({ host: event.target.value })} placeholder="build.example.com" autoComplete="off" spellCheck={false} />
              </label>
              <label>
                Port
                <input inputMode="numeric" value={draft.port} onChange={(event) => change({ port: event.target.value })} placeholder={draft.kind === 'tls' ? '2376' : '22'} autoComplete="off" />
              </label>
            </>
          )}
          {draft.kind === 'ssh' && (
            <div role="radiogroup" aria-label="Log in with">
              <label className="settings-inline">
                <input type="radio" name="engine-ssh-auth" checked={draft.sshAuth === 'agent'} onChange={() => change({ sshAuth: 'agent' })} /> The SSH agent
              </label>
              <label className="settings-inline">
                <input type="radio" name="engine-ssh-auth" checked={draft.sshAuth === 'key'} onChange={() => change({ sshAuth: 'key' })} /> A key kept in the keychain
              </label>
            </div>
          )}
          {draft.kind !== 'tls' && (
            <label>
              {draft.kind === 'ssh' ? 'Remote Docker socket (empty: the engine\'s default)' : 'Socket path'}
              <input
                value={draft.socketPath}
                onChange={(event) => change({ socketPath: event.target.value })}
                placeholder={draft.kind === 'podman' ? '/run/user/1000/podman/podman.sock' : '/var/run/docker.sock'}
                autoComplete="off"
                spellCheck={false}
              />
            </label>
          )}
          {engineMaterialFieldsFor({ kind: draft.kind, sshAuth: draft.sshAuth }).map((field) => {
            const isSet = stored?.material[field] === true && !draft.replacing.includes(field);
            return isSet ? (
              <div key={field} className="settings-inline" data-testid={`engine-material-${field}`}>
                <span>{materialLabels[field]}: set</span>
                <button type="button" onClick={() => change({ replacing: [...draft.replacing, field] })} aria-label={`Replace ${materialLabels[field]}`}>
                  Replace
                </button>
              </div>
            ) : (
              <label key={field}>
                {materialLabels[field]}
                <textarea
                  rows={4}
                  value={draft.material[field]}
                  onChange={(event) => change({ material: { ...draft.material, [field]: event.target.value } })}
                  spellCheck={false}
                  autoComplete="off"
                  className={field === 'key' || field === 'sshKey' ? 'engine-material engine-material-secret' : 'engine-material'}
                />
              </label>
            );
          })}
          <div className="settings-save-row">
            <button type="button" disabled={busy} onClick={() => void runCheck()}>
              Check
            </button>
            <button type="submit" disabled={!canSave}>
              Save engine
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
          {working && <p className="settings-note">{working}</p>}
          {check && (
            <p className={check.ok ? 'settings-ok' : 'settings-error'} role="status" data-testid="engine-check">
              {check.ok ? 'Check passed: ' : 'Check failed: '}
              {checkSummary(check)}
            </p>
          )}
          {draft.kind === 'ssh' && check?.hostKey && (
            <div className="engine-host-key">
              <span>
                The server presented the host key <code data-testid="engine-host-key">{check.hostKey}</code>. Compare it with the server&apos;s own (<code>ssh-keygen -lf</code> on
                its host key) before you trust it.
              </span>
              {draft.hostKey === check.hostKey ? (
                <span className="settings-ok">Trusted.</span>
              ) : (
                <button type="button" onClick={() => setDraft({ ...draft, hostKey: check.hostKey })}>
                  Trust this host key
                </button>
              )}
            </div>
          )}
          {draft.kind === 'ssh' && needsTrust && !check?.hostKey && <p className="settings-note">Check the engine, then trust its host key, before saving.</p>}
          {built && 'problem' in built && draft.name !== '' && <p className="settings-note">{built.problem}</p>}
          {formError && (
            <p className="field-error" role="alert" data-testid="engine-error">
              {formError}
            </p>
          )}
        </form>
      )}
      {working && !draft && <p className="settings-note">{working}</p>}
      {message && (
        <p className={message.error ? 'settings-message settings-error' : 'settings-message'} role="status" data-testid="engines-status">
          {message.text}
        </p>
      )}
    </fieldset>
  );
}
