import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appMigrations, openAppDatabase } from '../../../electron/db/appDatabase';
import { openDatabase, schemaVersion } from '../../../electron/db/sqlite';
import { defaultSettings, SettingsStore } from '../../../electron/settings/settingsStore';
import { tempDataDir } from '../../support/hostFixture';

describe('app database migrations', () => {
  it('1 conversations, 2 settings and 3 cache tokens and unpriced calls, on a real file', () => {
    // Later migrations have tests of their own (test/electron/db/appDatabase.test.ts).
    const db = openDatabase(path.join(tempDataDir(), 'sophia.db'), { migrations: appMigrations.slice(0, 3) });
    expect(schemaVersion(db)).toBe(3);
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(conversations)').all().map((column) => column.name);
    expect(columns).toEqual(expect.arrayContaining(['cache_read_tokens', 'cache_write_tokens', 'unpriced_calls']));
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    expect(tables).toEqual([{ name: 'conversation_events' }, { name: 'conversations' }, { name: 'model_messages' }, { name: 'settings' }]);
    // Events and messages belong to their conversation.
    expect(() => db.prepare("INSERT INTO conversation_events VALUES ('nope', 1, 't', '{}', 0)").run()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});

describe('settings', () => {
  it('start from defaults, persist, and survive a reopen', () => {
    const file = path.join(tempDataDir(), 'sophia.db');
    const db = openAppDatabase(file);
    const store = new SettingsStore(db);
    expect(store.get()).toEqual(defaultSettings);
    store.update({ provider: 'ollama', ollamaModel: 'llama3.2:3b' });
    db.close();
    const reopened = new SettingsStore(openAppDatabase(file));
    expect(reopened.get()).toMatchObject({ provider: 'ollama', ollamaModel: 'llama3.2:3b', anthropicModel: defaultSettings.anthropicModel });
  });

  it('refuse invalid values and ignore a tampered stored value', () => {
    const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
    const store = new SettingsStore(db);
    expect(() => store.update({ ollamaHost: 'not a url' })).toThrow();
    db.prepare("INSERT INTO settings (key, value) VALUES ('provider', '\"evil\"')").run();
    expect(new SettingsStore(db).get().provider).toBe(defaultSettings.provider);
  });

  it('keep the hosts links may open, which the person extends; a URL or a path is not a host', () => {
    const store = new SettingsStore(openAppDatabase(path.join(tempDataDir(), 'sophia.db')));
    expect(store.get().externalLinkHosts).toContain('github.com');
    expect(store.update({ externalLinkHosts: ['Docs.Example.com', '*.corp.example'] }).externalLinkHosts).toEqual(['docs.example.com', '*.corp.example']);
    for (const bad of ['https://evil.example', 'evil.example/path', 'evil.example:443', '*', '*.com', 'user@evil.example']) {
      expect(() => store.update({ externalLinkHosts: [bad] }), bad).toThrow();
    }
  });
});
