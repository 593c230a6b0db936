/**
 * The app's own database (`sophia.db`): conversations, settings, memory and infrastructure state. The audit log keeps a
 * database of its own. Migrations are numbered and never edited once shipped.
 */
import { openDatabase, type Migration, type SqliteDatabase } from './sqlite';

export const appMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'conversations',
    up: (db) =>
      db.exec(`
        CREATE TABLE conversations (
          id TEXT PRIMARY KEY,
          title TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          input_tokens INTEGER NOT NULL DEFAULT 0,
          output_tokens INTEGER NOT NULL DEFAULT 0,
          cost_usd REAL NOT NULL DEFAULT 0
        );
        CREATE INDEX conversations_updated ON conversations (updated_at DESC);
        -- What the chat showed, as contract events, replayed on reopening.
        CREATE TABLE conversation_events (
          conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          type TEXT NOT NULL,
          payload TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (conversation_id, seq)
        );
        -- What the model saw: the context a conversation continues from.
        CREATE TABLE model_messages (
          conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
          content TEXT NOT NULL,
          PRIMARY KEY (conversation_id, seq)
        );
      `),
  },
  {
    version: 2,
    name: 'settings',
    up: (db) => db.exec('CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)'),
  },
  {
    version: 3,
    name: 'conversation cache tokens and unpriced calls',
    up: (db) =>
      db.exec(`
        ALTER TABLE conversations ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE conversations ADD COLUMN unpriced_calls INTEGER NOT NULL DEFAULT 0;
      `),
  },
  {
    version: 4,
    name: 'long conversations',
    up: (db) =>
      db.exec(`
        -- A tool's whole output when the model was given only part of it (read_tool_output reads it).
        CREATE TABLE tool_outputs (
          conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
          call_id TEXT NOT NULL,
          tool TEXT NOT NULL,
          content TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (conversation_id, call_id)
        );
        -- A summary that stands in for the model messages up to and including upto_seq.
        CREATE TABLE conversation_compactions (
          conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          upto_seq INTEGER NOT NULL,
          summary TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (conversation_id, seq)
        );
      `),
  },
  {
    version: 5,
    name: 'memory and infrastructure state',
    up: (db) =>
      db.exec(`
        -- What the person accepted from the remember tool, per workspace folder.
        CREATE TABLE memory_entries (
          id TEXT PRIMARY KEY,
          workspace TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('preference', 'decision', 'pattern')),
          text TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE INDEX memory_entries_workspace ON memory_entries (workspace, updated_at DESC);
        -- Previews (Pulumi) and DDL plans (Snowflake) that may still be applied: the service's own record, as JSON.
        CREATE TABLE infra_plans (
          id TEXT PRIMARY KEY,
          system TEXT NOT NULL CHECK (system IN ('pulumi', 'snowflake')),
          target TEXT NOT NULL,
          record TEXT NOT NULL,
          created_at INTEGER NOT NULL
        );
        -- Pulumi stacks as last seen, per project folder.
        CREATE TABLE infra_stacks (
          project_dir TEXT NOT NULL,
          name TEXT NOT NULL,
          last_update TEXT,
          resource_count INTEGER,
          seen_at INTEGER NOT NULL,
          PRIMARY KEY (project_dir, name)
        );
        -- Deployments that ran (Pulumi up, refresh; Snowflake DDL), with their outputs.
        CREATE TABLE infra_deployments (
          id TEXT PRIMARY KEY,
          system TEXT NOT NULL CHECK (system IN ('pulumi', 'snowflake')),
          target TEXT NOT NULL,
          project_dir TEXT,
          phase TEXT NOT NULL,
          status TEXT NOT NULL,
          summary TEXT NOT NULL,
          outputs TEXT NOT NULL,
          at INTEGER NOT NULL
        );
        CREATE INDEX infra_deployments_target ON infra_deployments (system, target, at DESC);
        -- Snowflake recovery points: the clone and the Time Travel timestamp before a destructive statement.
        CREATE TABLE snowflake_recovery_points (
          id TEXT PRIMARY KEY,
          environment TEXT NOT NULL,
          table_name TEXT NOT NULL,
          clone TEXT NOT NULL,
          at TEXT NOT NULL,
          line INTEGER NOT NULL,
          sql TEXT NOT NULL,
          retention_days INTEGER NOT NULL,
          retention_known INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          restored_at INTEGER
        );
      `),
  },
];

export function openAppDatabase(file: string): SqliteDatabase {
  return openDatabase(file, { migrations: appMigrations });
}
