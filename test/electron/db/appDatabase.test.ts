/** The app database's own migrations, on a real file: an older database is upgraded in place. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationStore } from '../../../electron/agent/conversationStore';
import { appMigrations, openAppDatabase } from '../../../electron/db/appDatabase';
import { openDatabase, schemaVersion } from '../../../electron/db/sqlite';

describe('app database migrations', () => {
  it('long conversations: a database from before it gains kept tool outputs and summaries, its conversations untouched, and both go with their conversation', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'sophia-appdb-')), 'sophia.db');
    const index = appMigrations.findIndex((migration) => migration.name === 'long conversations');
    expect(index).toBeGreaterThan(0);
    const old = openDatabase(file, { migrations: appMigrations.slice(0, index) });
    old.prepare('INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)').run('c1', 'older conversation', 1000, 1000);
    old.prepare('INSERT INTO model_messages (conversation_id, seq, role, content) VALUES (?, ?, ?, ?)').run('c1', 1, 'user', JSON.stringify([{ type: 'text', text: 'hello' }]));
    old.close();

    const db = openAppDatabase(file);
    expect(schemaVersion(db)).toBe(appMigrations.length);
    const store = new ConversationStore(db);
    expect(store.messages('c1')).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
    store.saveToolOutput('c1', 'call_1', 'run_command', 'x'.repeat(50_000));
    store.addCompaction('c1', 1, 'first summary');
    store.addCompaction('c1', 1, 'second summary');
    expect(store.toolOutput('c1', 'call_1')?.content).toHaveLength(50_000);
    expect(store.toolOutput('c2', 'call_1')).toBeUndefined();
    expect(store.latestCompaction('c1')).toEqual({ uptoSeq: 1, summary: 'second summary' });

    db.pragma('foreign_keys = ON');
    db.prepare('DELETE FROM conversations WHERE id = ?').run('c1');
    expect(db.prepare('SELECT COUNT(*) AS n FROM tool_outputs').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM conversation_compactions').get()).toEqual({ n: 0 });
    db.close();
  });

  it('memory and infrastructure state: a database from before it gains the tables, its conversations untouched, and a bad kind is refused', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'sophia-appdb-')), 'sophia.db');
    const index = appMigrations.findIndex((migration) => migration.name === 'memory and infrastructure state');
    expect(index).toBeGreaterThan(0);
    const old = openDatabase(file, { migrations: appMigrations.slice(0, index) });
    old.prepare('INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)').run('c1', 'older conversation', 1000, 1000);
    old.close();

    const db = openAppDatabase(file);
    expect(schemaVersion(db)).toBe(appMigrations.length);
    expect(new ConversationStore(db).list().map((item) => item.id)).toEqual(['c1']);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name);
    expect(tables).toEqual(expect.arrayContaining(['memory_entries', 'infra_plans', 'infra_stacks', 'infra_deployments', 'snowflake_recovery_points']));
    db.prepare('INSERT INTO memory_entries (id, workspace, kind, text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run('mem-000000000001', '/ws', 'decision', 'kept', 1, 1);
    expect(() => db.prepare('INSERT INTO memory_entries (id, workspace, kind, text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run('mem-000000000002', '/ws', 'instruction', 'x', 1, 1)).toThrow(/CHECK constraint/);
    db.close();
  });
});
