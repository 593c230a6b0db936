/**
 * Settings → Run secrets: credentials a sandboxed command may be given as environment
 * variables (`NOTION_TOKEN`, say), for one approved run at a time. Values go to the OS
 * keychain and never come back: the list shows names and whether each is set.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { RequestOutput } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';

type RunSecretList = RequestOutput<'runSecrets.list'>;
const namePattern = /^[A-Z_][A-Z0-9_]{0,63}$/;

export function RunSecretsSettings({ client }: { client: SophiaClient }) {
  const [list, setList] = useState<RunSecretList | undefined>(undefined);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(
    () =>
      client.request('runSecrets.list', {}).then((result) => {
        if (result.ok) setList(result.value);
        else setMessage(result.error.message);
      }),
    [client],
  );

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    const result = await client.request('runSecrets.set', { name, value });
    // The value leaves the renderer's memory as soon as it is sent.
    setValue('');
    setBusy(false);
    if (result.ok) {
      setMessage(`${result.value.name} was saved to the keychain.`);
      setName('');
    } else {
      setMessage(result.error.message);
    }
    await refresh();
  };

  const remove = async (secret: string): Promise<void> => {
    const result = await client.request('runSecrets.remove', { name: secret });
    setMessage(result.ok ? `${secret} was removed from the keychain.` : result.error.message);
    await refresh();
  };

  const available = list?.keychain.available ?? false;
  const nameOk = namePattern.test(name);
  return (
    <section id="settings-section-run-secrets" className="settings-credentials" aria-label="Run secrets" data-testid="settings-run-secrets">
      <fieldset>
        <legend>Run secrets</legend>
        <p className="settings-note">
          A run secret is given to one sandboxed command as an environment variable of the same name, only when the agent names it in <code>run_command</code> and you
          approve that run on its card. The value stays in the OS keychain; the model never sees it, and it is cut from the command&apos;s output (also base64- and
          URL-encoded).
        </p>
        <p className={available ? 'settings-note' : 'settings-error'} data-testid="run-secrets-keychain">
          {list ? list.keychain.message : 'Checking the keychain…'}
        </p>
        <ul className="secret-list" aria-label="Run secrets">
          {list?.secrets.map((secret) => (
            <li key={secret.name} data-testid={`run-secret-${secret.name}`}>
              <code className="secret-label">{secret.name}</code>
              <span className={secret.set ? 'secret-set' : 'secret-unset'}>{secret.set ? 'Set' : 'Not set'}</span>
              <span className="secret-actions">
                <button type="button" disabled={!available} onClick={() => void remove(secret.name)}>
                  Remove
                </button>
              </span>
            </li>
          ))}
          {list && list.secrets.length === 0 && <li className="settings-note">No run secrets yet.</li>}
        </ul>
        <form className="secret-form" onSubmit={(event) => void save(event)} aria-label="Add a run secret">
          <input aria-label="Run secret name" placeholder="NOTION_TOKEN" value={name} onChange={(event) => setName(event.target.value.toUpperCase())} spellCheck={false} />
          <input type="password" autoComplete="off" aria-label="Run secret value" placeholder="value" value={value} onChange={(event) => setValue(event.target.value)} />
          <button type="submit" disabled={!available || busy || !nameOk || value.length === 0}>
            Save run secret
          </button>
        </form>
        {name !== '' && !nameOk && <p className="settings-error">A name is capitals, digits and _, starting with a letter or _ (say NOTION_TOKEN).</p>}
        {message && (
          <p className="settings-message" role="status" data-testid="run-secrets-message">
            {message}
          </p>
        )}
      </fieldset>
    </section>
  );
}
