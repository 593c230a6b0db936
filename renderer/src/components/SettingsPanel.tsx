import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import {
  cortexModels,
  effortSettings,
  openAiCompatibleServers,
  snowflakeEnvironments,
  type AppSettings,
  type RequestOutput,
  type SafetyStatus,
  type SandboxSettings,
  type SnowflakeConnection,
  type SnowflakeEnvironment,
} from '../../../shared/contract';
import type { SophiaClient } from '../client/sophiaClient';
import { SafetyPanel } from '../safety/SafetyPanel';
import { EnginesSettings } from './EnginesSettings';
import { FolderPicker } from './FolderPicker';
import { HooksSettings } from './HooksSettings';
import { McpSettings } from './McpSettings';
import { RunSecretsSettings } from './RunSecretsSettings';
import { LogSourcesSettings } from './LogSourcesSettings';
import { TelemetrySettings } from './TelemetrySettings';
import SandboxWorkspaceImage from './SandboxWorkspaceImage';

/** The sections of Settings, in order; each saves on its own (MCP servers and credentials at once). */
export const settingsSections = [
  { id: 'model', title: 'Model' },
  { id: 'workspace', title: 'Workspace' },
  { id: 'sandbox', title: 'Sandbox' },
  { id: 'engines', title: 'Engines' },
  { id: 'git', title: 'Git and GitHub' },
  { id: 'pulumi', title: 'Pulumi' },
  { id: 'snowflake', title: 'Snowflake' },
  { id: 'links', title: 'Links' },
  { id: 'mcp', title: 'MCP servers' },
  { id: 'logs', title: 'Log sources' },
  { id: 'credentials', title: 'Credentials & role' },
  { id: 'hooks', title: 'Hooks' },
  { id: 'telemetry', title: 'Telemetry' },
] as const;
export type SettingsSectionId = (typeof settingsSections)[number]['id'];
type FormSection = Exclude<SettingsSectionId, 'engines' | 'mcp' | 'logs' | 'credentials' | 'hooks' | 'telemetry'>;

/** The settings each section's Save sends, and nothing else: one section's edits never ride along with another's. */
const sectionKeys: Record<FormSection, readonly (keyof AppSettings)[]> = {
  model: ['provider', 'anthropicModel', 'anthropicEffort', 'anthropicBaseUrl', 'ollamaHost', 'ollamaModel', 'openaiBaseUrl', 'openaiModel', 'cortexAccount', 'cortexModel'],
  workspace: ['workspace'],
  sandbox: ['sandbox'],
  git: ['gitAuthorName', 'gitAuthorEmail', 'gitRemoteUrl', 'githubRepository', 'githubApiUrl'],
  pulumi: ['pulumiProjectDir', 'pulumiBackendUrl'],
  snowflake: ['snowflake'],
  links: ['externalLinkHosts'],
};

const sectionElementId = (id: SettingsSectionId): string => `settings-section-${id}`;
/** Brings a section into view: by element id, so nothing reads the DOM during render. */
function scrollTo(id: SettingsSectionId): void {
  document.getElementById(sectionElementId(id))?.scrollIntoView({ block: 'start' });
}

interface SectionState {
  readonly message?: string;
  readonly error?: boolean;
  /** The field a refusal names (`workspace`), shown beside that field. */
  readonly field?: string;
}

type OllamaList = { readonly host: string; readonly models: RequestOutput<'ollama.models'>['models'] };

/**
 * Settings in sections, each with its own Save and its own status line beside it. Secrets
 * (the GitHub token, the Snowflake password too) are set under Credentials & role and never shown.
 */
export function SettingsPanel({
  client,
  onClose,
  section,
  safetyStatus,
  onShowChecklist,
  children,
}: {
  client: SophiaClient;
  onClose: () => void;
  /** The section to bring into view when the panel opens (or when it changes). */
  section?: SettingsSectionId | undefined;
  safetyStatus?: SafetyStatus | undefined;
  onShowChecklist?: () => void;
  children?: ReactNode;
}) {
  const [settings, setSettings] = useState<AppSettings | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [status, setStatus] = useState<Partial<Record<FormSection, SectionState>>>({});
  // The hosts as typed (a blank line while typing is kept here, not in the setting).
  const [linkHostsText, setLinkHostsText] = useState<string | undefined>();
  // The models the key can use (the Models API); a message in their place when they cannot be listed.
  const [models, setModels] = useState<{ list: readonly { id: string; displayName: string }[]; error?: string } | undefined>();
  const [ollama, setOllama] = useState<{ list?: OllamaList; message?: string; ok?: boolean; testing?: boolean }>({});
  const [sandboxConfig, setSandboxConfig] = useState<RequestOutput<'sandbox.config'> | undefined>();

  useEffect(() => {
    void client.request('settings.get', {}).then((result) => {
      if (result.ok) setSettings(result.value);
      else setLoadError(result.error.message);
    });
    void client.request('models.list', {}).then((result) => {
      setModels(result.ok ? { list: result.value.models } : { list: [], error: result.error.message });
    });
    void client.request('sandbox.config', {}).then((result) => {
      if (result.ok) setSandboxConfig(result.value);
    });
    void client.request('ollama.models', {}).then((result) => {
      if (result.ok) setOllama({ list: result.value });
    });
  }, [client]);

  useEffect(() => {
    if (section && settings) scrollTo(section);
  }, [section, settings]);

  const save = async (id: FormSection, event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!settings) return;
    const patch = Object.fromEntries(sectionKeys[id].map((key) => [key, settings[key]])) as Partial<AppSettings>;
    setStatus((current) => ({ ...current, [id]: { message: 'Saving…' } }));
    const result = await client.request('settings.set', patch);
    if (result.ok) {
      // Only this section's fields take the stored values (a `~` expanded); other sections keep their edits.
      setSettings((current) => current && { ...current, ...Object.fromEntries(sectionKeys[id].map((key) => [key, result.value[key]])) });
      setStatus((current) => ({ ...current, [id]: { message: 'Saved.' } }));
    } else {
      const data = result.error.data as { field?: unknown } | undefined;
      const field = typeof data?.field === 'string' ? data.field : undefined;
      setStatus((current) => ({ ...current, [id]: { message: result.error.message, error: true, ...(field ? { field } : {}) } }));
    }
  };

  const testOllama = async (): Promise<void> => {
    if (!settings) return;
    setOllama((current) => ({ ...current, testing: true, message: `Connecting to ${settings.ollamaHost}…` }));
    const result = await client.request('ollama.models', { host: settings.ollamaHost });
    if (result.ok) {
      const count = result.value.models.length;
      setOllama({ list: result.value, ok: true, message: `Connected to ${result.value.host}: ${count === 1 ? '1 model' : `${count} models`}.` });
    } else {
      setOllama((current) => ({ ...current, testing: false, ok: false, message: result.error.message }));
    }
  };

  const set = <K extends keyof AppSettings>(key: K, value: AppSettings[K]): void => setSettings((current) => current && { ...current, [key]: value });
  const setSandbox = <K extends keyof SandboxSettings>(key: K, value: SandboxSettings[K]): void =>
    setSettings((current) => current && { ...current, sandbox: { ...current.sandbox, [key]: value } });
  const setSnowflake = (environment: SnowflakeEnvironment, key: keyof SnowflakeConnection, value: string): void =>
    setSettings((current) => current && { ...current, snowflake: { ...current.snowflake, [environment]: { ...current.snowflake[environment], [key]: value } } });
  const overridden = (field: keyof SandboxSettings): string | undefined => sandboxConfig?.overrides.find((override) => override.field === field)?.variable;

  /** A section's Save and its status line, side by side. */
  const saveRow = (id: FormSection, title: string) => (
    <div className="settings-save-row">
      <button type="submit" className="save-button">
        Save {title.toLowerCase()}
      </button>
      {status[id]?.message && (
        <span className={status[id]?.error ? 'settings-message settings-error' : 'settings-message'} role="status" data-testid="settings-status">
          {status[id]?.message}
        </span>
      )}
    </div>
  );
  const workspaceError = status.workspace?.error && status.workspace.field === 'workspace' ? status.workspace.message : undefined;
  const ollamaListed = ollama.list?.models;

  return (
    <div className="settings" role="dialog" aria-label="Settings" data-testid="settings">
      <div className="settings-header">
        <h2>Settings</h2>
        <span>
          {onShowChecklist && (
            <button type="button" onClick={onShowChecklist} data-testid="settings-show-checklist">
              First-run checklist
            </button>
          )}{' '}
          <button type="button" onClick={onClose}>
            Close
          </button>
        </span>
      </div>
      <nav className="settings-nav" aria-label="Settings sections">
        {settingsSections.map((entry) => (
          <button key={entry.id} type="button" className="link-button" onClick={() => scrollTo(entry.id)}>
            {entry.title}
          </button>
        ))}
      </nav>
      {loadError && <p className="settings-message settings-error">{loadError}</p>}
      {settings && (
        <>
          <form id={sectionElementId('model')} onSubmit={(event) => void save('model', event)} data-testid="settings-model" aria-label="Model">
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
                  {models.error}{' '}
                  {/* The notice names where the key goes, and takes the person there. */}
                  {/Credentials & role/.test(models.error) && (
                    <button type="button" className="link-button" onClick={() => scrollTo('credentials')} data-testid="model-list-open-credentials">
                      Open Credentials &amp; role
                    </button>
                  )}
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
              <div className="settings-inline">
                <button type="button" onClick={() => void testOllama()} disabled={ollama.testing} data-testid="ollama-test">
                  Test connection
                </button>
                {ollama.message && (
                  <span className={ollama.ok ? 'settings-ok' : 'settings-error'} role="status" data-testid="ollama-status">
                    {ollama.ok ? '✓ ' : ollama.ok === false ? '✗ ' : ''}
                    {ollama.message}
                  </span>
                )}
              </div>
              <label>
                Ollama model
                {ollamaListed && ollamaListed.length > 0 ? (
                  <select data-testid="ollama-model-picker" value={settings.ollamaModel} onChange={(event) => set('ollamaModel', event.target.value)}>
                    {/* The saved model stays selectable when the server does not have it (yet): `ollama pull` it. */}
                    {!ollamaListed.some((model) => model.name === settings.ollamaModel) && <option value={settings.ollamaModel}>{settings.ollamaModel} (not on the server)</option>}
                    {ollamaListed.map((model) => (
                      <option key={model.name} value={model.name}>
                        {model.name}
                        {model.parameterSize ? ` (${model.parameterSize})` : ''}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input value={settings.ollamaModel} onChange={(event) => set('ollamaModel', event.target.value)} spellCheck={false} />
                )}
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
              <p className="settings-note">
                Keys are credentials kept in the OS keychain: &quot;anthropic-api-key&quot;, &quot;openai-api-key&quot; (a server on this machine needs none) and
                &quot;snowflake-cortex-token&quot; (a programmatic access token) under{' '}
                <button type="button" className="link-button" onClick={() => scrollTo('credentials')}>
                  Credentials &amp; role
                </button>
                .
              </p>
              {saveRow('model', 'Model')}
            </fieldset>
          </form>

          <form id={sectionElementId('workspace')} onSubmit={(event) => void save('workspace', event)} data-testid="settings-workspace" aria-label="Workspace">
            <fieldset>
              <legend>Workspace</legend>
              <label>
                Folder
                <input
                  value={settings.workspace}
                  onChange={(event) => set('workspace', event.target.value)}
                  placeholder="~/projects/app or /home/me/project"
                  aria-invalid={workspaceError ? true : undefined}
                  aria-describedby={workspaceError ? 'workspace-error' : undefined}
                  spellCheck={false}
                />
              </label>
              {workspaceError && (
                <p id="workspace-error" className="field-error" role="alert" data-testid="workspace-error">
                  {workspaceError}
                </p>
              )}
              <FolderPicker client={client} start={settings.workspace || undefined} onPick={(picked) => set('workspace', picked)} />
              {saveRow('workspace', 'Workspace')}
            </fieldset>
          </form>

          <form id={sectionElementId('sandbox')} onSubmit={(event) => void save('sandbox', event)} data-testid="settings-sandbox" aria-label="Sandbox">
            <fieldset>
              <legend>Sandbox</legend>
              <p className="settings-note">Every task runs in its own Docker container with these limits. Read when Sophia starts: a change applies at the next start.</p>
              <SandboxNumber label="Memory per sandbox (MB)" min={64} max={8192} step={64} value={settings.sandbox.memoryMb} variable={overridden('memoryMb')} onChange={(value) => setSandbox('memoryMb', value)} />
              <SandboxNumber label="CPUs per sandbox" min={0.1} max={4} step={0.1} value={settings.sandbox.cpus} variable={overridden('cpus')} onChange={(value) => setSandbox('cpus', value)} />
              <SandboxNumber label="Processes per sandbox" min={32} max={4096} step={1} value={settings.sandbox.pids} variable={overridden('pids')} onChange={(value) => setSandbox('pids', value)} />
              <SandboxNumber label="Warm sandboxes kept ready (0: none)" min={0} max={8} step={1} value={settings.sandbox.poolSize} variable={overridden('poolSize')} onChange={(value) => setSandbox('poolSize', value)} />
              <SandboxText label="Image" placeholder="empty: the default image, built on this machine" value={settings.sandbox.image} variable={overridden('image')} onChange={(value) => setSandbox('image', value)} />
              <SandboxText
                label="Debian mirror (to build the default image)"
                placeholder="empty: the mirror apt uses here"
                value={settings.sandbox.debianMirror}
                variable={overridden('debianMirror')}
                onChange={(value) => setSandbox('debianMirror', value)}
              />
              {sandboxConfig && (
                <p className="settings-note" data-testid="sandbox-in-use">
                  In use since start: {sandboxConfig.inUse.memoryMb} MB, {sandboxConfig.inUse.cpus} CPU, {sandboxConfig.inUse.pids} processes, {sandboxConfig.inUse.poolSize} warm,
                  image {sandboxConfig.inUse.image || 'default'}.
                </p>
              )}
              {saveRow('sandbox', 'Sandbox')}
            </fieldset>
          </form>
          <SandboxWorkspaceImage client={client} />
          <section id={sectionElementId('engines')} aria-label="Engines">
            <EnginesSettings client={client} />
          </section>

          <form id={sectionElementId('git')} onSubmit={(event) => void save('git', event)} aria-label="Git and GitHub">
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
              <p className="settings-note">The GitHub token is a credential: set &quot;github-token&quot; under Credentials &amp; role; it stays in the OS keychain.</p>
              {saveRow('git', 'Git')}
            </fieldset>
          </form>

          <form id={sectionElementId('pulumi')} onSubmit={(event) => void save('pulumi', event)} aria-label="Pulumi">
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
              <p className="settings-note">
                Stacks are named in the request (&quot;preview staging&quot;) and listed from the backend. The access token and the config passphrase are credentials:
                &quot;pulumi-access-token&quot; and &quot;pulumi-config-passphrase&quot; under Credentials &amp; role.
              </p>
              {saveRow('pulumi', 'Pulumi')}
            </fieldset>
          </form>

          <form id={sectionElementId('snowflake')} onSubmit={(event) => void save('snowflake', event)} aria-label="Snowflake">
            <fieldset data-testid="settings-snowflake">
              <legend>Snowflake</legend>
              {snowflakeEnvironments.map((environment) => (
                <SnowflakeConnectionFields key={environment} environment={environment} connection={settings.snowflake[environment]} onChange={(key, value) => setSnowflake(environment, key, value)} />
              ))}
              <p className="settings-note">An environment with no account is not configured. The password or private key is a credential (&quot;snowflake-password&quot;, &quot;snowflake-private-key&quot;) kept in the OS keychain.</p>
              {saveRow('snowflake', 'Snowflake')}
            </fieldset>
          </form>

          <form id={sectionElementId('links')} onSubmit={(event) => void save('links', event)} aria-label="Links">
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
              <p className="settings-note">In the desktop app, a link to any other host is not opened. Only https links open.</p>
              {saveRow('links', 'Links')}
            </fieldset>
          </form>

          <section id={sectionElementId('mcp')} aria-label="MCP servers">
            <McpSettings client={client} />
          </section>
          <section id={sectionElementId('logs')} aria-label="Log sources"><LogSourcesSettings client={client} /></section>

          <section id={sectionElementId('credentials')} className="settings-credentials" aria-label="Credentials & role" data-testid="settings-credentials">
            <fieldset>
              <legend>Credentials &amp; role</legend>
              <p className="settings-note">Each credential is saved to the OS keychain as soon as you press its own Save; a role applies at once.</p>
              <SafetyPanel client={client} status={safetyStatus} />
            </fieldset>
          </section>
          <RunSecretsSettings client={client} />

          <section id={sectionElementId('hooks')} aria-label="Hooks">
            <HooksSettings client={client} />
          </section>

          <section id={sectionElementId('telemetry')} aria-label="Telemetry">
            <TelemetrySettings client={client} />
          </section>
        </>
      )}
      {children}
    </div>
  );
}

function OverrideNote({ variable }: { variable: string | undefined }) {
  if (!variable) return null;
  return (
    <span className="settings-note settings-override" data-testid="sandbox-override">
      Set by the environment variable {variable}, which overrides this field.
    </span>
  );
}

function SandboxNumber(props: { label: string; min: number; max: number; step: number; value: number; variable: string | undefined; onChange: (value: number) => void }) {
  const { label, min, max, step, value, variable, onChange } = props;
  return (
    <label>
      {label}
      <input type="number" min={min} max={max} step={step} value={value} disabled={variable !== undefined} required onChange={(event) => onChange(event.target.valueAsNumber)} />
      <OverrideNote variable={variable} />
    </label>
  );
}

function SandboxText(props: { label: string; placeholder: string; value: string; variable: string | undefined; onChange: (value: string) => void }) {
  const { label, placeholder, value, variable, onChange } = props;
  return (
    <label>
      {label}
      <input value={value} placeholder={placeholder} disabled={variable !== undefined} spellCheck={false} onChange={(event) => onChange(event.target.value)} />
      <OverrideNote variable={variable} />
    </label>
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
