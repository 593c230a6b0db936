import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import { schemaVersion } from '../../../electron/db/sqlite';
import { defaultSettings, SettingsStore } from '../../../electron/settings/settingsStore';
import { tempDataDir } from '../../support/hostFixture';

describe('app database migrations', () => {
  it('1 conversations, 2 settings and 3 cache tokens and unpriced calls, on a real file', () => {
    const db = openAppDatabase(path.join(tempDataDir(), 'sophia.db'));
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
});
