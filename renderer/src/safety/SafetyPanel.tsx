/**
 * Credentials, role and policy. Credentials are set and removed here and live only in the OS
 * keychain: the panel shows names and whether each is set, never a value. Without a
 * keychain it says so, and nothing can be stored.
 */
import { useCallback, useEffect, useState } from 'react';
import { roleNames, type RequestOutput, type RoleName, type SafetyStatus, type SecretName } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import './safety.css';

type SecretList = RequestOutput<'secrets.list'>;

export function SafetyPanel({ client, status }: { client: SophiaClient; status: SafetyStatus | undefined }) {
  const [list, setList] = useState<SecretList | undefined>(undefined);
  const [editing, setEditing] = useState<SecretName | undefined>(undefined);
  const [value, setValue] = useState('');
  const [message, setMessage] = useState<string | undefined>(undefined);

  const refresh = useCallback(
    () =>
      client.request('secrets.list', {}).then((result) => {
        if (result.ok) setList(result.value);
        else setMessage(result.error.message);
      }),
    [client],
  );

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const save = async (name: SecretName): Promise<void> => {
    const result = await client.request('secrets.set', { name, value });
    // The value leaves the renderer's memory as soon as it is sent.
    setValue('');
    setEditing(undefined);
    setMessage(result.ok ? 'Saved to the keychain.' : result.error.message);
    await refresh();
  };

  const remove = async (name: SecretName): Promise<void> => {
    const result = await client.request('secrets.remove', { name });
    setMessage(result.ok ? 'Removed from the keychain.' : result.error.message);
    await refresh();
  };

  const setRole = async (role: RoleName): Promise<void> => {
    const result = await client.request('safety.setRole', { role });
    if (!result.ok) setMessage(result.error.message);
  };

  const available = list?.keychain.available ?? false;
  return (
    <section className="safety-panel" aria-label="Safety settings" data-testid="safety-panel">
      <h2>Credentials</h2>
      <p className={available ? 'safety-note' : 'safety-warning'} data-testid="keychain-status">
        {list ? list.keychain.message : 'Checking the keychain…'}
      </p>
      {status && (
        <p className={status.audit.signed ? 'safety-note' : 'safety-warning'} data-testid="audit-signing">
          {status.audit.message}
        </p>
      )}
      <ul className="secret-list">
        {list?.secrets.map((secret) => (
          <li key={secret.name} data-testid={`secret-${secret.name}`}>
            <span className="secret-label">{secret.label}</span>
            <span className={secret.set ? 'secret-set' : 'secret-unset'}>{secret.set ? 'Set' : 'Not set'}</span>
            {editing === secret.name ? (
              <form
                className="secret-form"
                onSubmit={(event) => {
                  event.preventDefault();
                  void save(secret.name);
                }}
              >
                <input type="password" autoComplete="off" aria-label={`${secret.label} value`} value={value} onChange={(event) => setValue(event.target.value)} />
                <button type="submit" disabled={value.length === 0}>
                  Save
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setValue('');
                    setEditing(undefined);
                  }}
                >
                  Cancel
                </button>
              </form>
            ) : (
              <span className="secret-actions">
                <button type="button" disabled={!available} onClick={() => setEditing(secret.name)}>
                  {secret.set ? 'Replace' : 'Set'}
                </button>
                {secret.set && (
                  <button type="button" disabled={!available} onClick={() => void remove(secret.name)}>
                    Remove
                  </button>
                )}
              </span>
            )}
          </li>
        ))}
      </ul>
      {message && (
        <p className="safety-note" role="status">
          {message}
        </p>
      )}

      <h2>Role and approvals</h2>
      {status ? (
        <>
          <label className="safety-row">
            Role
            <select aria-label="Role" value={status.role} onChange={(event) => void setRole(event.target.value as RoleName)} data-testid="role-select">
              {roleNames.map((role) => (
                <option key={role} value={role} disabled={roleNames.indexOf(role) > roleNames.indexOf(status.maxRole)}>
                  {role}
                </option>
              ))}
            </select>
          </label>
          <p className="safety-note">
            Calls at or above <strong>{status.approvalThreshold}</strong> risk wait for you; high and critical always do.
          </p>
          {status.notices.length > 0 && (
            <>
              <h3>Policy lines not applied</h3>
              <ul className="policy-notices" data-testid="policy-notices">
                {status.notices.map((notice, index) => (
                  <li key={index}>
                    <code>
                      {notice.layer} {notice.source}
                      {notice.line === undefined ? '' : `:${notice.line}`}
                    </code>{' '}
                    {notice.message}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      ) : (
        <p className="safety-note">Loading the policy…</p>
      )}
    </section>
  );
}
