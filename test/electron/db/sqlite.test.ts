import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, MigrationError, openDatabase, schemaVersion, type Migration } from '../../../electron/db/sqlite';

const tmp = (): Promise<string> => mkdtemp(path.join(os.tmpdir(), 'sophia-db-'));

const first: Migration = { version: 1, name: 'notes', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)') };
const second: Migration = { version: 2, name: 'notes.tag', up: (db) => db.exec("ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT ''") };

describe('sqlite migrations', () => {
  it('applies migrations in order, once, on a real database file', async () => {
    const file = path.join(await tmp(), 'a.db');
    const db = openDatabase(file, { migrations: [first] });
    db.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
    expect(schemaVersion(db)).toBe(1);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();

    const upgraded = openDatabase(file, { migrations: [first, second] });
    expect(schemaVersion(upgraded)).toBe(2);
    expect(upgraded.prepare('SELECT text, tag FROM notes').all()).toEqual([{ text: 'kept', tag: '' }]);
    expect(migrate(upgraded, [first, second])).toEqual({ from: 2, to: 2 });
    upgraded.close();
  });

  it('rolls back a failing migration and keeps the version it had', async () => {
    const file = path.join(await tmp(), 'b.db');
    openDatabase(file, { migrations: [first] }).close();
    const broken: Migration = {
      version: 2,
      name: 'broken',
      up: (db) => {
        db.exec('CREATE TABLE half (id INTEGER)');
        throw new Error('disk full');
      },
    };
    expect(() => openDatabase(file, { migrations: [first, broken] })).toThrow('disk full');
    const db = openDatabase(file, { migrations: [first] });
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });

  it('refuses gaps in numbering and a database newer than the build', async () => {
    const file = path.join(await tmp(), 'c.db');
    expect(() => openDatabase(file, { migrations: [second] })).toThrow(MigrationError);
    openDatabase(file, { migrations: [first, second] }).close();
    expect(() => openDatabase(file, { migrations: [first] })).toThrow(/newer than this build/);
  });
});
