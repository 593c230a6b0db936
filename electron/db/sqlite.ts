/**
 * SQLite through better-sqlite3: WAL, foreign keys, and numbered migrations kept in
 * `PRAGMA user_version`. Each migration runs in its own transaction, so a crash leaves the
 * database at the last version that finished. A database newer than this build refuses to
 * open rather than being misread.
 */
import Database from 'better-sqlite3';
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

export function openDatabase(file: string, options: OpenOptions): SqliteDatabase {
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
