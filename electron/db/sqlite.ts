/**
 * SQLite through better-sqlite3: WAL, foreign keys, and numbered migrations kept in
 * `PRAGMA user_version`. Each migration runs in its own transaction, so a crash leaves the
 * database at the last version that finished. A database newer than this build refuses to
 * open rather than being misread.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { createLogger } from '../log';

const log = createLogger('sqlite');

export type SqliteDatabase = Database.Database;

export interface Migration {
  /** 1, 2, 3, … with no gaps; never renumber or edit one that has shipped. */
  readonly version: number;
  readonly name: string;
  up(db: SqliteDatabase): void;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: SqliteDatabase, migrations: readonly Migration[]): { from: number; to: number } {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new MigrationError(`Migration "${migration.name}" is numbered ${migration.version}; expected ${index + 1}.`);
    }
  });
  const from = schemaVersion(db);
  const latest = migrations.length;
  if (from > latest) {
    throw new MigrationError(
      `This database is at schema version ${from}, newer than this build of Sophia knows (${latest}). Update Sophia.`,
    );
  }
  for (const migration of migrations.slice(from)) {
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
    log.info('migrated', { version: migration.version, name: migration.name });
  }
  return { from, to: latest };
}

export interface OpenOptions {
  readonly migrations: readonly Migration[];
  readonly readonly?: boolean;
}

/**
 * A database holds conversations, tool output and the audit trail: owner-only (0600), also
 * when the file, its WAL or its shared-memory file already exist with a looser mode. SQLite
 * creates the WAL and shm files with the database file's mode; an older one is set here.
 */
export function restrictToOwner(file: string): void {
  if (file === '' || file === ':memory:' || process.platform === 'win32') return;
  closeSync(openSync(file, 'a', 0o600));
  for (const each of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(each)) chmodSync(each, 0o600);
  }
}

export function openDatabase(file: string, options: OpenOptions): SqliteDatabase {
  if (!options.readonly) restrictToOwner(file);
  const db = new Database(file, { readonly: options.readonly ?? false });
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      // WAL with NORMAL survives a crash of the app (the writes are in the OS); FULL would
      // also survive a power cut, at a cost per commit.
      db.pragma('synchronous = NORMAL');
      migrate(db, options.migrations);
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
