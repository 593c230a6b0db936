/**
 * The user's settings in SQLite, validated by the contract's schema on the way in and on
 * the way out: a value that no longer validates (an older build wrote it, or someone edited
 * the file) falls back to its default and is logged, never trusted.
 */
import { appSettings, type AppSettings, type SnowflakeConnection } from '../../shared/contract';
import type { SqliteDatabase } from '../db/sqlite';
import { createLogger } from '../log';
import { defaultOllamaHost } from '../models/ollamaProvider';

const log = createLogger('settings');

const unsetSnowflake: SnowflakeConnection = { account: '', username: '', warehouse: '', database: '', schema: '', role: '', accessUrl: '' };

export const defaultSettings: AppSettings = {
  provider: 'anthropic',
  anthropicModel: 'claude-sonnet-5-5',
  anthropicEffort: 'default',
  ollamaHost: defaultOllamaHost,
  ollamaModel: 'qwen3:8b',
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
};

export class SettingsStore {
  readonly #all;
  readonly #put;
  #cache: AppSettings | undefined;

  constructor(db: SqliteDatabase) {
    this.#all = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM settings');
    this.#put = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  get(): AppSettings {
    if (this.#cache) return this.#cache;
    const merged: Record<string, unknown> = { ...defaultSettings };
    for (const row of this.#all.all()) {
      if (!(row.key in defaultSettings)) continue;
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
    this.#cache = appSettings.parse(merged);
    return this.#cache;
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
