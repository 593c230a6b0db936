/**
 * Infrastructure state kept in `sophia.db` across restarts: the plans a preview or a DDL plan
 * made (each service's own record, so an approved plan can still be applied after a restart:
 * the services check it against what it was made from again before anything runs), Pulumi
 * stacks as last seen, deployments with their outputs, and Snowflake recovery points, the
 * only way back from a destructive statement.
 */
import type { InfraStateView, RecoveryPointView } from '../../shared/memory';
import type { SqliteDatabase } from '../db/sqlite';
import { createLogger } from '../log';

const log = createLogger('infraState');

export type InfraSystem = 'pulumi' | 'snowflake';

export interface DeploymentRecord {
  readonly id: string;
  readonly system: InfraSystem;
  readonly target: string;
  readonly projectDir?: string | undefined;
  readonly phase: string;
  readonly status: string;
  readonly summary: string;
  readonly outputs: Record<string, string>;
  readonly at: number;
}

/** A Snowflake recovery point: the zero-copy clone taken just before a destructive statement. */
export interface StoredRecoveryPoint {
  readonly id: string;
  readonly environment: string;
  readonly table: string;
  /** The zero-copy clone taken just before the statement. */
  readonly clone: string;
  /** Snowflake's CURRENT_TIMESTAMP() just before the statement: `AT(TIMESTAMP => ...)` reaches it too. */
  readonly at: string;
  readonly line: number;
  readonly sql: string;
  /** The table's Time Travel retention in days; `retentionKnown` false when Snowflake did not say and the default was assumed. */
  readonly retentionDays: number;
  readonly retentionKnown: boolean;
  readonly createdAt: number;
  /** When the table was put back from it (by this point), or null. */
  readonly restoredAt: number | null;
}

/** Snowflake's default DATA_RETENTION_TIME_IN_DAYS (Standard edition; Enterprise allows up to 90). */
export const defaultRetentionDays = 1;
const day = 24 * 60 * 60 * 1000;
const maxRows = 200;

/** When Time Travel to the recovery point's timestamp stops working. */
export function timeTravelExpiry(point: Pick<StoredRecoveryPoint, 'at' | 'createdAt' | 'retentionDays'>): number {
  const at = Date.parse(point.at);
  return (Number.isFinite(at) ? at : point.createdAt) + point.retentionDays * day;
}

export function recoveryView(point: StoredRecoveryPoint): RecoveryPointView {
  return { ...point, expiresAt: timeTravelExpiry(point) };
}

interface PointRow {
  id: string;
  environment: string;
  table_name: string;
  clone: string;
  at: string;
  line: number;
  sql: string;
  retention_days: number;
  retention_known: number;
  created_at: number;
  restored_at: number | null;
}

const pointOf = (row: PointRow): StoredRecoveryPoint => ({
  id: row.id,
  environment: row.environment,
  table: row.table_name,
  clone: row.clone,
  at: row.at,
  line: row.line,
  sql: row.sql,
  retentionDays: row.retention_days,
  retentionKnown: row.retention_known === 1,
  createdAt: row.created_at,
  restoredAt: row.restored_at,
});

export class InfraStateStore {
  constructor(private readonly db: SqliteDatabase) {}

  savePlan(system: InfraSystem, id: string, target: string, record: unknown, createdAt: number): void {
    this.db.prepare('INSERT OR REPLACE INTO infra_plans (id, system, target, record, created_at) VALUES (?, ?, ?, ?, ?)').run(id, system, target, JSON.stringify(record), createdAt);
    // As many as a service keeps in memory: the oldest go first.
    this.db.prepare('DELETE FROM infra_plans WHERE system = ? AND id NOT IN (SELECT id FROM infra_plans WHERE system = ? ORDER BY created_at DESC LIMIT 50)').run(system, system);
  }

  /** The stored records of one system, oldest first; one that cannot be read is dropped and logged. */
  plans<T>(system: InfraSystem, parse: (value: unknown) => T | undefined): T[] {
    const rows = this.db.prepare('SELECT id, record FROM infra_plans WHERE system = ? ORDER BY created_at, id').all(system) as { id: string; record: string }[];
    const out: T[] = [];
    for (const row of rows) {
      let parsed: T | undefined;
      try {
        parsed = parse(JSON.parse(row.record));
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined) {
        log.warn('a stored plan could not be read; it is dropped', { system, id: row.id });
        this.deletePlan(row.id);
      } else {
        out.push(parsed);
      }
    }
    return out;
  }

  deletePlan(id: string): void {
    this.db.prepare('DELETE FROM infra_plans WHERE id = ?').run(id);
  }

  saveStacks(projectDir: string, stacks: readonly { name: string; lastUpdate?: string | undefined; resourceCount?: number | undefined }[]): void {
    const now = Date.now();
    const upsert = this.db.prepare(
      'INSERT INTO infra_stacks (project_dir, name, last_update, resource_count, seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_dir, name) DO UPDATE SET last_update = excluded.last_update, resource_count = excluded.resource_count, seen_at = excluded.seen_at',
    );
    this.db.transaction(() => {
      for (const stack of stacks) upsert.run(projectDir, stack.name, stack.lastUpdate ?? null, stack.resourceCount ?? null, now);
    })();
  }

  saveDeployment(record: DeploymentRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO infra_deployments (id, system, target, project_dir, phase, status, summary, outputs, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(record.id, record.system, record.target, record.projectDir ?? null, record.phase, record.status, record.summary.slice(0, 2000), JSON.stringify(record.outputs), record.at);
  }

  saveRecoveryPoint(point: StoredRecoveryPoint): void {
    this.db
      .prepare('INSERT OR REPLACE INTO snowflake_recovery_points (id, environment, table_name, clone, at, line, sql, retention_days, retention_known, created_at, restored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(point.id, point.environment, point.table, point.clone, point.at, point.line, point.sql, point.retentionDays, point.retentionKnown ? 1 : 0, point.createdAt, point.restoredAt);
  }

  recoveryPoint(id: string): StoredRecoveryPoint | undefined {
    const row = this.db.prepare('SELECT * FROM snowflake_recovery_points WHERE id = ?').get(id) as PointRow | undefined;
    return row && pointOf(row);
  }

  recoveryPoints(): StoredRecoveryPoint[] {
    return (this.db.prepare('SELECT * FROM snowflake_recovery_points ORDER BY created_at DESC, id LIMIT ?').all(maxRows) as PointRow[]).map(pointOf);
  }

  markRestored(id: string, at = Date.now()): void {
    this.db.prepare('UPDATE snowflake_recovery_points SET restored_at = ? WHERE id = ?').run(at, id);
  }

  view(): InfraStateView {
    const stacks = this.db.prepare('SELECT project_dir, name, last_update, resource_count, seen_at FROM infra_stacks ORDER BY seen_at DESC, name LIMIT ?').all(maxRows) as { project_dir: string; name: string; last_update: string | null; resource_count: number | null; seen_at: number }[];
    const deployments = this.db.prepare('SELECT id, system, target, phase, status, summary, outputs, at FROM infra_deployments ORDER BY at DESC, id LIMIT ?').all(maxRows) as { id: string; system: InfraSystem; target: string; phase: string; status: string; summary: string; outputs: string; at: number }[];
    const plans = this.db.prepare('SELECT id, system, target, record, created_at FROM infra_plans ORDER BY created_at DESC, id LIMIT ?').all(maxRows) as { id: string; system: InfraSystem; target: string; record: string; created_at: number }[];
    return {
      stacks: stacks.map((row) => ({ projectDir: row.project_dir, name: row.name, lastUpdate: row.last_update, resourceCount: row.resource_count, seenAt: row.seen_at })),
      deployments: deployments.map((row) => ({ id: row.id, system: row.system, target: row.target, phase: row.phase, status: row.status, summary: row.summary, outputs: parseOutputs(row.outputs), at: row.at })),
      plans: plans.map((row) => ({ id: row.id, system: row.system, target: row.target, summary: planSummary(row.record), createdAt: row.created_at })),
      recoveryPoints: this.recoveryPoints().map(recoveryView),
    };
  }
}

function parseOutputs(text: string): Record<string, string> {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).slice(0, 200).map(([key, item]) => [key.slice(0, 200), String(item).slice(0, 2000)]));
  } catch {
    // Shown as none.
  }
  return {};
}

function planSummary(text: string): string {
  try {
    const summary = (JSON.parse(text) as { plan?: { summary?: unknown } }).plan?.summary;
    return typeof summary === 'string' ? summary.slice(0, 2000) : '';
  } catch {
    return '';
  }
}
