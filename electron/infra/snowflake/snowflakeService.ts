/**
 * Snowflake DDL from draft to database: `plan` parses, validates and classifies the DDL and
 * dry-runs it on a shadow copy of the affected tables (nothing of the DDL reaches Snowflake;
 * only their definitions are read); `apply` runs exactly the planned DDL after approval.
 * Before each destructive statement a recovery point is recorded, a zero-copy clone of the
 * table and the Time Travel timestamp; without one the statement is refused. `restore`
 * puts a table back from its recovery point in one step.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { DeploymentPlan, DeploymentStep, SnowflakeEnvironment, SophiaEvent, StoppedItem } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import type { AuditSink } from '../../audit/auditLog';
import { createLogger } from '../../log';
import { parseDdl, type DdlError, type DdlStatement } from './ddl';
import { shadowDryRun, type TableDefinition } from './shadowDryRun';
import type { Row, SnowflakeClient, SnowflakeSession } from './snowflakeClient';

const log = createLogger('snowflakeService');

export interface SnowflakeServiceOptions {
  readonly client: SnowflakeClient;
  readonly publish: (event: SophiaEvent) => void;
  readonly audit: AuditSink;
  readonly guard: () => void;
}

export interface RecoveryPoint {
  readonly id: string;
  readonly environment: SnowflakeEnvironment;
  readonly table: string;
  /** The zero-copy clone taken just before the statement. */
  readonly clone: string;
  /** Snowflake's CURRENT_TIMESTAMP() just before the statement: `AT(TIMESTAMP => ...)` reaches it too. */
  readonly at: string;
  readonly line: number;
  readonly sql: string;
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

  constructor(private readonly options: SnowflakeServiceOptions) {}

  planOf(planId: string): { plan: DeploymentPlan; environment: SnowflakeEnvironment; statements: readonly DdlStatement[]; destructive: ReadonlyMap<number, string> } | undefined {
    return this.#plans.get(planId);
  }

  recovery(id: string): RecoveryPoint | undefined {
    return this.#recoveries.get(id);
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
      this.#plans.set(deploymentId, { plan, environment, hash: hashOf(ddl), statements: parsed.statements, destructive, existing });
      while (this.#plans.size > maxPlans) this.#plans.delete(this.#plans.keys().next().value ?? '');
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
    this.#plans.delete(planId);
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
          phase(cancelled ? 'cancelled' : 'failed', `${message} ${applied} statement(s) applied before it.`);
          return { ok: false, message, applied, recoveries };
        }
        applied += 1;
        publishStep(statement, 'done', { durationMs: Date.now() - started });
      }
      const undo = recoveries.length ? ` Recovery point(s): ${recoveries.map((point) => `${point.id} (${point.table} -> ${point.clone})`).join(', ')}.` : '';
      const message = `Applied ${applied} statement(s) to ${environment}.${undo}`;
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
    const point = this.#recoveries.get(recoveryId);
    if (!point) throw new SophiaError('bad_request', `There is no recovery point ${recoveryId.slice(0, 64)} in this session.`);
    const session = await this.options.client.connect(point.environment);
    try {
      await session.execute(restoreSql(point));
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
    const rows = await session.execute('SELECT CURRENT_TIMESTAMP()');
    const at = String(Object.values(rows[0] ?? {})[0] ?? '');
    if (!at) throw new Error('Snowflake returned no timestamp');
    const clone = `${table}_SOPHIA_${stamp()}_L${statement.line}`;
    await session.execute(`CREATE TABLE ${clone} CLONE ${table}`);
    const point: RecoveryPoint = { id: `rp-${randomUUID().slice(0, 12)}`, environment, table, clone, at, line: statement.line, sql: statement.sql };
    this.#recoveries.set(point.id, point);
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
}

export function restoreSql(point: RecoveryPoint): string {
  return `CREATE OR REPLACE TABLE ${point.table} CLONE ${point.clone}`;
}

const present = (value: unknown): boolean => value !== null && value !== undefined && value !== '';

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 1000);
}
