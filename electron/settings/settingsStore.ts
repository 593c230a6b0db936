/**
 * The user's settings in SQLite, validated by the contract's schema on the way in and on
 * the way out: a value that no longer validates (an older build wrote it, or someone edited
 * the file) falls back to its default and is logged, never trusted.
 */
import { appSettings, type AppSettings, type SnowflakeConnection } from '../../shared/contract';
import type { SqliteDatabase } from '../db/sqlite';
import { createLogger } from '../log';
import { defaultOllamaHost, defaultOpenAiBaseUrl, ollamaHostFromEnv } from '../models/endpoints';

const log = createLogger('settings');

const unsetSnowflake: SnowflakeConnection = { account: '', username: '', warehouse: '', database: '', schema: '', role: '', accessUrl: '' };

export const defaultSettings: AppSettings = {
  provider: 'anthropic',
  anthropicModel: 'claude-sonnet-5-5',
  anthropicBaseUrl: '',
  anthropicEffort: 'default',
  ollamaHost: defaultOllamaHost,
  ollamaModel: 'qwen3:8b',
  openaiBaseUrl: defaultOpenAiBaseUrl,
  openaiModel: 'gpt-5.5',
  cortexAccount: '',
  cortexModel: 'claude-sonnet-4-5',
  workspace: '',
  gitAuthorName: '',
  gitAuthorEmail: '',
  gitRemoteUrl: '',
  githubRepository: '',
  githubApiUrl: 'https://api.github.com',
  pulumiProjectDir: 'infra',
  pulumiBackendUrl: '',
  snowflake: { staging: unsetSnowflake, production: unsetSnowflake },
  mcpServers: [],
  mcpPins: [],
  // The documentation of the services Sophia talks to; the person adds others in Settings.
  // The limits the sandbox has always had (hardening.ts's defaults); the environment variables override them.
  sandbox: { image: '', poolSize: 2, memoryMb: 1024, cpus: 1, pids: 256, debianMirror: '' },
  logSources: [],
  sandboxWorkspaceImages: [],
  externalLinkHosts: ['github.com', 'docs.github.com', 'docs.anthropic.com', 'www.pulumi.com', 'docs.snowflake.com', 'ollama.com', 'modelcontextprotocol.io'],
  // Off until the person turns it on, and then without content unless they ask for it.
  telemetry: { enabled: false, endpoint: '', captureContent: false },
  // This machine's socket only, until the person adds an engine in Settings → Engines.
  engines: [],
  activeEngine: 'local',
};

/**
 * The defaults on this machine: the standard environment variables a person already set for
 * their tools (OLLAMA_HOST) stand in for the built-in value until a saved setting replaces it.
 */
export function settingsDefaults(env: NodeJS.ProcessEnv = process.env): AppSettings {
  const ollamaHost = ollamaHostFromEnv(env['OLLAMA_HOST']);
  if (env['OLLAMA_HOST'] && !ollamaHost) log.warn('OLLAMA_HOST is not an address; using the default', { ollamaHost: defaultOllamaHost });
  return { ...defaultSettings, ...(ollamaHost ? { ollamaHost } : {}) };
}

export class SettingsStore {
  readonly #all;
  readonly #put;
  readonly #count;
  readonly #defaults: AppSettings;
  #cache: AppSettings | undefined;

  constructor(db: SqliteDatabase, defaults: AppSettings = settingsDefaults()) {
    this.#defaults = defaults;
    this.#all = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM settings');
    this.#count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM settings');
    this.#put = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  get(): AppSettings {
    if (this.#cache) return this.#cache;
    const merged: Record<string, unknown> = { ...this.#defaults };
    for (const row of this.#all.all()) {
      if (!(row.key in this.#defaults)) continue;
      const key = row.key as keyof AppSettings;
      let value: unknown;
      try {
        value = JSON.parse(row.value);
      } catch {
        value = undefined;
      }
      const checked = appSettings.shape[key].safeParse(value);
      if (checked.success) merged[key] = checked.data;
      else log.warn('stored setting is invalid; using the default', { key });
    }
    const parsed = appSettings.parse(merged);
    // The active engine must be one that exists: a store whose profile list was dropped (or edited) runs tasks here.
    if (parsed.activeEngine !== 'local' && !parsed.engines.some((profile) => profile.id === parsed.activeEngine)) {
      log.warn('the active engine is not among the stored profiles; using this machine', { activeEngine: parsed.activeEngine });
      parsed.activeEngine = 'local';
    }
    this.#cache = parsed;
    return this.#cache;
  }

  /** Nothing was ever saved (a new data folder): the first-run checklist opens by itself. */
  neverSaved(): boolean {
    return (this.#count.get()?.n ?? 0) === 0;
  }

  update(patch: Partial<AppSettings>): AppSettings {
    const next = appSettings.parse({ ...this.get(), ...patch });
    for (const [key, value] of Object.entries(patch)) {
      if (value !== undefined) this.#put.run(key, JSON.stringify(next[key as keyof AppSettings]));
    }
    this.#cache = next;
    return next;
  }
}
