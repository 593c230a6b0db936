import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { cortexModels, effortSettings, openAiCompatibleServers, snowflakeEnvironments, type AppSettings, type SnowflakeConnection, type SnowflakeEnvironment } from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import { McpSettings } from './McpSettings';

/** Model, workspace, git, Pulumi and Snowflake settings. Secrets (the GitHub token, the Snowflake password too) are set elsewhere and never shown here. */
export function SettingsPanel({ client, onClose, children }: { client: SophiaClient; onClose: () => void; children?: ReactNode }) {
  const [settings, setSettings] = useState<AppSettings | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  // The hosts as typed (a blank line while typing is kept here, not in the setting).
  const [linkHostsText, setLinkHostsText] = useState<string | undefined>();
  // The models the key can use (the Models API); a message in their place when they cannot be listed.
  const [models, setModels] = useState<{ list: readonly { id: string; displayName: string }[]; error?: string } | undefined>();

  useEffect(() => {
    void client.request('settings.get', {}).then((result) => {
      if (result.ok) setSettings(result.value);
      else setMessage(result.error.message);
    });
    void client.request('models.list', {}).then((result) => {
      setModels(result.ok ? { list: result.value.models } : { list: [], error: result.error.message });
    });
  }, [client]);

  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!settings) return;
    // Outside MCP servers and pins change only through their own section (checked, audited), never through Save.
    const { mcpServers: _servers, mcpPins: _pins, ...form } = settings;
    const result = await client.request('settings.set', form);
    if (result.ok) {
      setSettings(result.value);
      setMessage('Saved.');
    } else {
      setMessage(result.error.message);
    }
  };

  const set = <K extends keyof AppSettings>(key: K, value: AppSettings[K]): void => setSettings((current) => current && { ...current, [key]: value });
  const setSnowflake = (environment: SnowflakeEnvironment, key: keyof SnowflakeConnection, value: string): void =>
    setSettings((current) => current && { ...current, snowflake: { ...current.snowflake, [environment]: { ...current.snowflake[environment], [key]: value } } });

  return (
    <div className="settings" role="dialog" aria-label="Settings" data-testid="settings">
      <div className="settings-header">
        <h2>Settings</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {settings && (
        <form onSubmit={(event) => void save(event)}>
          <fieldset>
            <legend>Model</legend>
            <label>
              <input type="radio" name="provider" checked={settings.provider === 'anthropic'} onChange={() => set('provider', 'anthropic')} /> Anthropic (cloud)
            </label>
            <label>
              <input type="radio" name="provider" checked={settings.provider === 'openai'} onChange={() => set('provider', 'openai')} /> OpenAI-compatible (OpenAI, Azure
              OpenAI, vLLM, LM Studio, llama.cpp, LiteLLM; offline when the address is on this machine)
            </label>
            <label>
              <input type="radio" name="provider" checked={settings.provider === 'cortex'} onChange={() => set('provider', 'cortex')} /> Snowflake Cortex (cloud)
            </label>
            <label>
              <input type="radio" name="provider" checked={settings.provider === 'ollama'} onChange={() => set('provider', 'ollama')} /> Ollama (offline: local
              model only)
            </label>
            <label>
              Anthropic model
              <select data-testid="model-picker" value={settings.anthropicModel} onChange={(event) => set('anthropicModel', event.target.value)}>
                {/* The saved model stays selectable even when the key's list does not have it (yet). */}
                {!models?.list.some((model) => model.id === settings.anthropicModel) && <option value={settings.anthropicModel}>{settings.anthropicModel}</option>}
                {models?.list.map((model) => (
                  <option key={model.id} value={model.id}>
                    {model.displayName} ({model.id})
                  </option>
                ))}
              </select>
            </label>
            {models === undefined && <p className="settings-note">Listing the models this key can use…</p>}
            {models?.error && (
              <p className="settings-note" data-testid="model-list-error">
                {models.error}
              </p>
            )}
            <label>
              Effort (how hard the model thinks)
              <select data-testid="effort-picker" value={settings.anthropicEffort} onChange={(event) => set('anthropicEffort', event.target.value as AppSettings['anthropicEffort'])}>
                {effortSettings.map((level) => (
                  <option key={level} value={level}>
                    {level === 'default' ? "the model's default" : level}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Anthropic API address
              <input
                value={settings.anthropicBaseUrl}
                onChange={(event) => set('anthropicBaseUrl', event.target.value)}
                placeholder="empty: ANTHROPIC_BASE_URL, else https://api.anthropic.com (a gateway such as LiteLLM, or a proxy)"
              />
            </label>
            <label>
              Ollama address
              <input value={settings.ollamaHost} onChange={(event) => set('ollamaHost', event.target.value)} />
            </label>
            <label>
              Ollama model
              <input value={settings.ollamaModel} onChange={(event) => set('ollamaModel', event.target.value)} />
            </label>
            <label>
              OpenAI-compatible address (base URL)
              <input value={settings.openaiBaseUrl} onChange={(event) => set('openaiBaseUrl', event.target.value)} list="openai-servers" spellCheck={false} />
              <datalist id="openai-servers">
                {openAiCompatibleServers.map((server) => (
                  <option key={server.baseUrl} value={server.baseUrl}>
                    {server.label}
                  </option>
                ))}
              </datalist>
            </label>
            <label>
              OpenAI-compatible model
              <input value={settings.openaiModel} onChange={(event) => set('openaiModel', event.target.value)} spellCheck={false} />
            </label>
            <label>
              Snowflake Cortex account
              <input value={settings.cortexAccount} onChange={(event) => set('cortexAccount', event.target.value)} placeholder="myorg-myaccount" spellCheck={false} />
            </label>
            <label>
              Snowflake Cortex model
              <input value={settings.cortexModel} onChange={(event) => set('cortexModel', event.target.value)} list="cortex-models" spellCheck={false} />
              <datalist id="cortex-models">
                {cortexModels.map((model) => (
                  <option key={model} value={model} />
                ))}
              </datalist>
            </label>
            <p className="settings-message">
              Keys are credentials kept in the OS keychain: &quot;openai-api-key&quot; (a server on this machine needs none) and &quot;snowflake-cortex-token&quot; (a
              programmatic access token) under Credentials &amp; role.
            </p>
          </fieldset>
          <fieldset>
            <legend>Workspace</legend>
            <label>
              Folder (absolute path)
              <input value={settings.workspace} onChange={(event) => set('workspace', event.target.value)} placeholder="/home/me/project" />
            </label>
          </fieldset>
          <fieldset data-testid="settings-git">
            <legend>Git and GitHub</legend>
            <label>
              Commit author name
              <input value={settings.gitAuthorName} onChange={(event) => set('gitAuthorName', event.target.value)} placeholder="empty: the repository's user.name" autoComplete="name" />
            </label>
            <label>
              Commit author email
              <input
                type="email"
                value={settings.gitAuthorEmail}
                onChange={(event) => set('gitAuthorEmail', event.target.value)}
                placeholder="empty: the repository's user.email"
                autoComplete="email"
              />
            </label>
            <label>
              Push to (HTTPS remote URL)
              <input value={settings.gitRemoteUrl} onChange={(event) => set('gitRemoteUrl', event.target.value)} placeholder="empty: the repository's origin" />
            </label>
            <label>
              GitHub repository (owner/name)
              <input value={settings.githubRepository} onChange={(event) => set('githubRepository', event.target.value)} placeholder="empty: read from the remote URL" />
            </label>
            <label>
              GitHub API address
              <input value={settings.githubApiUrl} onChange={(event) => set('githubApiUrl', event.target.value)} placeholder="https://api.github.com" />
            </label>
            <p className="settings-message">The GitHub token is a credential: set &quot;github-token&quot; under Credentials &amp; role; it stays in the OS keychain.</p>
          </fieldset>
          <fieldset data-testid="settings-pulumi">
            <legend>Pulumi</legend>
            <label>
              Project folder (inside the workspace)
              <input value={settings.pulumiProjectDir} onChange={(event) => set('pulumiProjectDir', event.target.value)} placeholder="empty: the workspace itself" />
            </label>
            <label>
              State backend URL
              <input value={settings.pulumiBackendUrl} onChange={(event) => set('pulumiBackendUrl', event.target.value)} placeholder="empty: the CLI's own login (file://, s3://, https://api.pulumi.com)" />
            </label>
            <p className="settings-message">
              Stacks are named in the request (&quot;preview staging&quot;) and listed from the backend. The access token and the config passphrase are credentials:
              &quot;pulumi-access-token&quot; and &quot;pulumi-config-passphrase&quot; under Credentials &amp; role.
            </p>
          </fieldset>
          <fieldset data-testid="settings-snowflake">
            <legend>Snowflake</legend>
            {snowflakeEnvironments.map((environment) => (
              <SnowflakeConnectionFields key={environment} environment={environment} connection={settings.snowflake[environment]} onChange={(key, value) => setSnowflake(environment, key, value)} />
            ))}
            <p className="settings-message">An environment with no account is not configured. The password or private key is a credential (&quot;snowflake-password&quot;, &quot;snowflake-private-key&quot;) kept in the OS keychain.</p>
          </fieldset>
          <fieldset data-testid="settings-links">
            <legend>Links</legend>
            <label>
              Hosts whose links open in your browser (one per line; *.example.com for its subdomains)
              <textarea
                rows={4}
                value={linkHostsText ?? settings.externalLinkHosts.join('\n')}
                onChange={(event) => {
                  setLinkHostsText(event.target.value);
                  set('externalLinkHosts', event.target.value.split('\n').map((line) => line.trim()).filter((line) => line !== ''));
                }}
              />
            </label>
            <p className="settings-message">In the desktop app, a link to any other host is not opened. Only https links open.</p>
          </fieldset>
          <button type="submit" className="save-button">
            Save
          </button>
          {message && (
            <span className="settings-message" role="status" data-testid="settings-status">
              {message}
            </span>
          )}
        </form>
      )}
      {settings && <McpSettings client={client} />}
      {children}
    </div>
  );
}

const snowflakeFields: readonly { key: keyof SnowflakeConnection; label: string; placeholder: string }[] = [
  { key: 'account', label: 'Account', placeholder: 'myorg-myaccount; empty: not configured' },
  { key: 'username', label: 'User', placeholder: 'SOPHIA_DEPLOY' },
  { key: 'warehouse', label: 'Warehouse', placeholder: 'empty: the user\'s default' },
  { key: 'database', label: 'Database', placeholder: 'empty: the user\'s default' },
  { key: 'schema', label: 'Schema', placeholder: 'empty: the user\'s default' },
  { key: 'role', label: 'Role', placeholder: 'empty: the user\'s default' },
  { key: 'accessUrl', label: 'Access URL', placeholder: 'empty: derived from the account' },
];

/** One environment's connection; the environment is its own group so each field's label is unambiguous within it. */
function SnowflakeConnectionFields({ environment, connection, onChange }: { environment: SnowflakeEnvironment; connection: SnowflakeConnection; onChange: (key: keyof SnowflakeConnection, value: string) => void }) {
  return (
    <fieldset data-testid={`settings-snowflake-${environment}`} aria-label={`Snowflake ${environment}`}>
      <legend>{environment === 'staging' ? 'Staging' : 'Production'}</legend>
      {snowflakeFields.map((field) => (
        <label key={field.key}>
          {field.label}
          <input value={connection[field.key]} onChange={(event) => onChange(field.key, event.target.value)} placeholder={field.placeholder} autoComplete="off" spellCheck={false} />
        </label>
      ))}
    </fieldset>
  );
}
