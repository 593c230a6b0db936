/**
 * Snowflake DDL from draft to database: `plan` parses, validates and classifies the DDL and
 * dry-runs it on a shadow copy of the affected tables (nothing of the DDL reaches Snowflake;
 * only their definitions are read); `apply` runs exactly the planned DDL after approval.
 * Before each destructive statement a recovery point is recorded, a zero-copy clone of the
 * table and the Time Travel timestamp; without one the statement is refused. `restore`
 * puts a table back from its recovery point in one step.
 */
import { createHash, randomUUID } from 'node:crypto';
import { snowflakeEnvironments, type DeploymentPlan, type DeploymentStep, type SnowflakeEnvironment, type SophiaEvent, type StoppedItem } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import type { AuditSink } from '../../audit/auditLog';
import { createLogger } from '../../log';
import { parseDdl, type DdlError, type DdlStatement } from './ddl';
import { shadowDryRun, type TableDefinition } from './shadowDryRun';
import type { Row, SnowflakeClient, SnowflakeSession } from './snowflakeClient';
import { defaultRetentionDays, type InfraStateStore, type StoredRecoveryPoint } from '../infraState';

const log = createLogger('snowflakeService');

export interface SnowflakeServiceOptions {
  readonly client: SnowflakeClient;
  readonly publish: (event: SophiaEvent) => void;
  readonly audit: AuditSink;
  readonly guard: () => void;
  /** Where DDL plans, applied DDL and recovery points are kept across restarts (`sophia.db`); in memory only without it. */
  readonly state?: InfraStateStore;
}

/** A recovery point as kept (infraState.ts holds its fields), of one of this service's environments. */
export interface RecoveryPoint extends Omit<StoredRecoveryPoint, 'environment'> {
  readonly environment: SnowflakeEnvironment;
}

interface PlanRecord {
  readonly plan: DeploymentPlan;
  readonly environment: SnowflakeEnvironment;
  readonly hash: string;
  readonly statements: readonly DdlStatement[];
  readonly destructive: ReadonlyMap<number, string>;
  readonly existing: ReadonlySet<string>;
}

export interface DdlPlanResult {
  readonly plan: DeploymentPlan;
  readonly errors: readonly DdlError[];
}

export interface ApplyResult {
  readonly ok: boolean;
  readonly message: string;
  readonly applied: number;
  readonly recoveries: readonly RecoveryPoint[];
}

const hashOf = (ddl: string): string => createHash('sha256').update(ddl.trim()).digest('hex');
const maxPlans = 50;

function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export class SnowflakeService {
  readonly #plans = new Map<string, PlanRecord>();
  readonly #recoveries = new Map<string, RecoveryPoint>();
  #cancelled = false;

  constructor(private readonly options: SnowflakeServiceOptions) {
    // Plans made before a restart: apply still runs exactly the planned DDL (its hash), nothing else.
    for (const record of options.state?.plans('snowflake', planRecordOf) ?? []) this.#plans.set(record.plan.deploymentId, record);
  }

  planOf(planId: string): { plan: DeploymentPlan; environment: SnowflakeEnvironment; statements: readonly DdlStatement[]; destructive: ReadonlyMap<number, string> } | undefined {
    return this.#plans.get(planId);
  }

  /** A recovery point of this launch or, from the database, of an earlier one. */
  recovery(id: string): RecoveryPoint | undefined {
    const known = this.#recoveries.get(id);
    if (known) return known;
    const stored = this.#persisted(() => this.options.state?.recoveryPoint(id));
    if (stored && isEnvironment(stored.environment)) {
      const point: RecoveryPoint = { ...stored, environment: stored.environment };
      this.#recoveries.set(id, point);
      return point;
    }
    return undefined;
  }

  /** Every recovery point kept, newest first. */
  recoveries(): RecoveryPoint[] {
    const stored = this.#persisted(() => this.options.state?.recoveryPoints()) ?? [];
    const byId = new Map<string, RecoveryPoint>(stored.filter((point) => isEnvironment(point.environment)).map((point) => [point.id, point as RecoveryPoint]));
    for (const point of this.#recoveries.values()) byId.set(point.id, point);
    return [...byId.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Parses, classifies and dry-runs; nothing of the DDL is sent to Snowflake. */
  async plan(environment: SnowflakeEnvironment, ddl: string): Promise<DdlPlanResult> {
    this.options.guard();
    const deploymentId = `plan-${randomUUID().slice(0, 12)}`;
    const parsed = await parseDdl(ddl);
    let errors: DdlError[] = [...parsed.errors];
    let destructive = new Map<number, string>();
    let existing = new Set<string>();
    if (errors.length === 0) {
      const tables = [...new Set(parsed.statements.map((statement) => statement.action.table?.split('.').pop()).filter((name): name is string => Boolean(name)))];
      const definitions = await this.#definitions(environment, tables);
      existing = new Set(definitions.map((table) => table.name));
      const dryRun = await shadowDryRun(definitions, parsed.statements);
      errors = [...dryRun.errors];
      destructive = new Map(dryRun.narrowed);
    }
    for (const statement of parsed.statements) if (statement.classification === 'destructive') destructive.set(statement.line, statement.reason);
    const steps: DeploymentStep[] = parsed.statements.map((statement) => ({
      urn: `ddl:${deploymentId}:${statement.line}`,
      type: `line ${statement.line}`,
      name: statement.sql.replace(/\s+/g, ' ').slice(0, 200),
      op: destructive.has(statement.line) ? 'destructive' : statement.classification,
      status: 'planned',
      diffs: [],
      message: (destructive.get(statement.line) ?? statement.reason).slice(0, 2000),
    }));
    const count = (kind: string) => steps.filter((step) => step.op === kind).length;
    const summary = errors.length
      ? `${errors.length} error(s): not sent to Snowflake`
      : `${steps.length} statement(s): ${count('additive')} additive, ${count('changing')} changing, ${count('destructive')} destructive`;
    const plan: DeploymentPlan = {
      deploymentId,
      phase: 'ddl',
      target: environment,
      at: Date.now(),
      counts: { create: count('additive'), update: count('changing'), delete: count('destructive'), replace: 0, same: 0 },
      summary,
      steps,
      cost: null,
      diagnostics: errors.map((error) => error.message.slice(0, 2000)),
    };
    this.options.publish({ type: 'deployment.plan', plan });
    this.options.publish({ type: 'deployment.event', deploymentId, phase: 'ddl', status: errors.length ? 'failed' : 'succeeded', message: `Plan for ${environment}: ${summary}`, target: environment });
    if (errors.length === 0) {
      const record: PlanRecord = { plan, environment, hash: hashOf(ddl), statements: parsed.statements, destructive, existing };
      this.#plans.set(deploymentId, record);
      this.#persisted(() => this.options.state?.savePlan('snowflake', deploymentId, environment, storedPlan(record), plan.at));
      while (this.#plans.size > maxPlans) this.#forget(this.#plans.keys().next().value ?? '');
    }
    return { plan, errors };
  }

  /** Runs exactly the planned DDL. A destructive statement without a recovery point does not run. */
  async apply(environment: SnowflakeEnvironment, planId: string, ddl: string): Promise<ApplyResult> {
    this.options.guard();
    const record = this.#plans.get(planId);
    if (!record) throw new SophiaError('bad_request', `There is no DDL plan ${planId.slice(0, 64)}: run snowflake_plan first.`);
    if (record.environment !== environment) throw new SophiaError('bad_request', `Plan ${planId} is for ${record.environment}, not ${environment}.`);
    if (record.hash !== hashOf(ddl)) throw new SophiaError('bad_request', 'The DDL differs from the planned DDL: plan it again (snowflake_plan) so it is validated and dry-run.');
    this.#forget(planId);
    this.#cancelled = false;
    const deploymentId = `ddl-${randomUUID().slice(0, 12)}`;
    const publishStep = (statement: DdlStatement, status: DeploymentStep['status'], extra: Partial<DeploymentStep> = {}) =>
      this.options.publish({
        type: 'deployment.resource',
        deploymentId,
        step: { urn: `ddl:${deploymentId}:${statement.line}`, type: `line ${statement.line}`, name: statement.sql.replace(/\s+/g, ' ').slice(0, 200), op: record.destructive.has(statement.line) ? 'destructive' : statement.classification, status, diffs: [], ...extra },
      });
    const phase = (status: 'running' | 'succeeded' | 'failed' | 'cancelled', message: string) =>
      this.options.publish({ type: 'deployment.event', deploymentId, phase: 'ddl', status, message: message.slice(0, 60_000), target: environment });
    this.options.audit.record({ kind: 'infrastructure', actor: 'system', summary: `Applying DDL plan ${planId} to Snowflake ${environment}: ${record.plan.summary}`, data: { planId, deploymentId, environment, statements: record.statements.map((statement) => ({ line: statement.line, sql: statement.sql, classification: statement.classification })) } });
    phase('running', `Applying ${record.statements.length} statement(s) to ${environment}`);
    const recoveries: RecoveryPoint[] = [];
    let applied = 0;
    let session: SnowflakeSession | undefined;
    try {
      session = await this.options.client.connect(environment);
      for (const statement of record.statements) {
        this.options.guard();
        const table = statement.action.table?.split('.').pop();
        if (record.destructive.has(statement.line) && table && record.existing.has(table)) {
          try {
            recoveries.push(await this.#recoveryPoint(session, environment, table, statement));
          } catch (error) {
            const message = `Line ${statement.line} refused: no recovery point could be recorded for ${table} (${errorText(error)}), so the destructive statement was not run.`;
            publishStep(statement, 'failed', { message });
            phase('failed', `${message} ${applied} statement(s) applied before it.`);
            this.options.audit.record({ kind: 'refusal', actor: 'system', summary: `Destructive DDL refused without a recovery point (line ${statement.line})`, data: { planId, environment, line: statement.line, sql: statement.sql, error: errorText(error) } });
            return { ok: false, message, applied, recoveries };
          }
        }
        publishStep(statement, 'running');
        const started = Date.now();
        try {
          await session.execute(statement.sql);
        } catch (error) {
          const cancelled = this.#cancelled;
          const message = cancelled ? `Line ${statement.line} cancelled by the emergency stop.` : `Line ${statement.line}: Snowflake refused it: ${errorText(error)}`;
          publishStep(statement, 'failed', { durationMs: Date.now() - started, message });
          this.#keepDeployment(deploymentId, environment, cancelled ? 'cancelled' : 'failed', `${message} ${applied} statement(s) applied before it.`);
          phase(cancelled ? 'cancelled' : 'failed', `${message} ${applied} statement(s) applied before it.`);
          return { ok: false, message, applied, recoveries };
        }
        applied += 1;
        publishStep(statement, 'done', { durationMs: Date.now() - started });
      }
      const undo = recoveries.length ? ` Recovery point(s): ${recoveries.map((point) => `${point.id} (${point.table} -> ${point.clone})`).join(', ')}.` : '';
      const message = `Applied ${applied} statement(s) to ${environment}.${undo}`;
      this.#keepDeployment(deploymentId, environment, 'succeeded', message);
      phase('succeeded', message);
      return { ok: true, message, applied, recoveries };
    } catch (error) {
      const message = errorText(error);
      phase('failed', message);
      return { ok: false, message, applied, recoveries };
    } finally {
      await session?.close();
    }
  }

  /** Puts the table back as it was at the recovery point: `CREATE OR REPLACE TABLE t CLONE <clone>`. */
  async restore(recoveryId: string): Promise<{ ok: boolean; message: string }> {
    this.options.guard();
    const point = this.recovery(recoveryId);
    if (!point) throw new SophiaError('bad_request', `There is no recovery point ${recoveryId.slice(0, 64)}.`);
    const session = await this.options.client.connect(point.environment);
    try {
      await session.execute(restoreSql(point));
      const restoredAt = Date.now();
      this.#recoveries.set(point.id, { ...point, restoredAt });
      this.#persisted(() => this.options.state?.markRestored(point.id, restoredAt));
      this.#keepDeployment(`restore-${point.id}`, point.environment, 'succeeded', `Restored ${point.table} from ${point.clone}`);
      this.options.audit.record({ kind: 'infrastructure', actor: 'system', summary: `Restored ${point.table} on ${point.environment} from ${point.clone}`, data: point });
      this.options.publish({ type: 'deployment.event', deploymentId: `restore-${randomUUID().slice(0, 12)}`, phase: 'rollback', status: 'succeeded', message: `Restored ${point.table} from ${point.clone} (as of ${point.at})`, target: point.environment });
      return { ok: true, message: `Restored ${point.table} from ${point.clone}, as it was at ${point.at} before line ${point.line}.` };
    } catch (error) {
      return { ok: false, message: `The restore failed: ${errorText(error)}. By Time Travel: CREATE OR REPLACE TABLE ${point.table} CLONE ${point.table} AT(TIMESTAMP => '${point.at}'::TIMESTAMP_LTZ) (or UNDROP TABLE ${point.table} for a dropped table).` };
    } finally {
      await session.close();
    }
  }

  async stopAll(): Promise<StoppedItem[]> {
    this.#cancelled = true;
    const cancelled = await this.options.client.cancelAll();
    return cancelled.map((sql, index) => ({ kind: 'ddl', id: `query-${index + 1}`, label: sql.replace(/\s+/g, ' ').slice(0, 200), outcome: 'stopped' }));
  }

  async #recoveryPoint(session: SnowflakeSession, environment: SnowflakeEnvironment, table: string, statement: DdlStatement): Promise<RecoveryPoint> {
    // The timestamp Time Travel reaches, and how long it reaches it: the table's RETENTION_TIME in days.
    const literal = `'${table.replace(/'/g, "''").toUpperCase()}'`;
    const rows = await session.execute(
      `SELECT CURRENT_TIMESTAMP(), (SELECT RETENTION_TIME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = CURRENT_SCHEMA() AND TABLE_NAME = ${literal}) AS RETENTION_DAYS`,
    );
    const at = String(Object.values(rows[0] ?? {})[0] ?? '');
    if (!at) throw new Error('Snowflake returned no timestamp');
    const reported = Number(rows[0]?.['RETENTION_DAYS']);
    const retentionKnown = rows[0]?.['RETENTION_DAYS'] !== null && rows[0]?.['RETENTION_DAYS'] !== undefined && Number.isInteger(reported) && reported >= 0;
    const clone = `${table}_SOPHIA_${stamp()}_L${statement.line}`;
    await session.execute(`CREATE TABLE ${clone} CLONE ${table}`);
    const point: RecoveryPoint = {
      id: `rp-${randomUUID().slice(0, 12)}`,
      environment,
      table,
      clone,
      at,
      line: statement.line,
      sql: statement.sql,
      retentionDays: retentionKnown ? reported : defaultRetentionDays,
      retentionKnown,
      createdAt: Date.now(),
      restoredAt: null,
    };
    this.#recoveries.set(point.id, point);
    // The only way back from the statement: kept before the statement runs. A point that cannot be kept is no point.
    this.options.state?.saveRecoveryPoint(point);
    this.options.audit.record({ kind: 'infrastructure', actor: 'system', summary: `Recovery point ${point.id}: ${table} cloned to ${clone} before line ${statement.line}`, data: point });
    log.info('recovery point recorded', { id: point.id, table, clone });
    return point;
  }

  async #definitions(environment: SnowflakeEnvironment, tables: readonly string[]): Promise<TableDefinition[]> {
    if (tables.length === 0) return [];
    const session = await this.options.client.connect(environment);
    let rows: Row[];
    try {
      const names = tables.map((name) => `'${name.replace(/'/g, "''").toUpperCase()}'`).join(', ');
      rows = await session.execute(
        `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = CURRENT_SCHEMA() AND TABLE_NAME IN (${names}) ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      );
    } finally {
      await session.close();
    }
    const byTable = new Map<string, TableDefinition['columns'][number][]>();
    for (const row of rows) {
      const table = String(row['TABLE_NAME']);
      const family = String(row['DATA_TYPE']).toUpperCase();
      const type =
        family === 'TEXT' && present(row['CHARACTER_MAXIMUM_LENGTH'])
          ? `VARCHAR(${String(row['CHARACTER_MAXIMUM_LENGTH'])})`
          : family === 'NUMBER' && present(row['NUMERIC_PRECISION'])
            ? `NUMBER(${String(row['NUMERIC_PRECISION'])},${String(row['NUMERIC_SCALE'] ?? 0)})`
            : family;
      const columns = byTable.get(table) ?? [];
      columns.push({ name: String(row['COLUMN_NAME']), type, nullable: String(row['IS_NULLABLE']).toUpperCase() === 'YES' });
      byTable.set(table, columns);
    }
    return [...byTable.entries()].map(([name, columns]) => ({ name, columns }));
  }

  #forget(planId: string): void {
    this.#plans.delete(planId);
    this.#persisted(() => this.options.state?.deletePlan(planId));
  }

  #keepDeployment(id: string, environment: SnowflakeEnvironment, status: string, summary: string): void {
    this.#persisted(() => this.options.state?.saveDeployment({ id, system: 'snowflake', target: environment, phase: 'ddl', status, summary, outputs: {}, at: Date.now() }));
  }

  /** Keeping the state is a record, not a condition (except for a recovery point): a failed write is logged. */
  #persisted<T>(work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      log.error('infrastructure state could not be read or saved', { error });
      return undefined;
    }
  }
}

const isEnvironment = (value: string): value is SnowflakeEnvironment => (snowflakeEnvironments as readonly string[]).includes(value);

/** A plan record as JSON: its maps and sets as arrays. */
function storedPlan(record: PlanRecord): unknown {
  return { ...record, destructive: [...record.destructive.entries()], existing: [...record.existing] };
}

function planRecordOf(value: unknown): PlanRecord | undefined {
  const raw = value as { plan?: DeploymentPlan; environment?: string; hash?: string; statements?: DdlStatement[]; destructive?: [number, string][]; existing?: string[] } | null;
  if (!raw || typeof raw !== 'object' || !raw.plan || typeof raw.plan.deploymentId !== 'string' || typeof raw.hash !== 'string') return undefined;
  if (typeof raw.environment !== 'string' || !isEnvironment(raw.environment) || !Array.isArray(raw.statements) || !Array.isArray(raw.destructive) || !Array.isArray(raw.existing)) return undefined;
  return { plan: raw.plan, environment: raw.environment, hash: raw.hash, statements: raw.statements, destructive: new Map(raw.destructive), existing: new Set(raw.existing) };
}

export function restoreSql(point: RecoveryPoint): string {
  return `CREATE OR REPLACE TABLE ${point.table} CLONE ${point.clone}`;
}

const present = (value: unknown): boolean => value !== null && value !== undefined && value !== '';

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 1000);
}
