/**
 * The dry run: the affected tables' current definitions (columns and types, read from
 * Snowflake's INFORMATION_SCHEMA) are created in an in-memory DuckDB, and the DDL runs
 * there first. An unknown table or column, a duplicate column or a statement the engine
 * rejects is caught before Snowflake sees the DDL, with the line it is on. Snowflake's
 * types are mapped to DuckDB's; checks DuckDB cannot make (a narrowed column type) are made
 * here against the definitions.
 */
import { onDemand } from '../../core/onDemand';
import { createLogger } from '../../log';
import { columnType, narrowing, type DdlError, type DdlStatement } from './ddl';

const log = createLogger('shadowDryRun');

// DuckDB's native engine loads with the first dry run, not at start.
const duckDb = onDemand('@duckdb/node-api', () => import('@duckdb/node-api'));

export interface ColumnDefinition {
  readonly name: string;
  /** Snowflake's type, e.g. `VARCHAR(100)` or `NUMBER(10,2)`. */
  readonly type: string;
  readonly nullable: boolean;
}

export interface TableDefinition {
  readonly name: string;
  readonly columns: readonly ColumnDefinition[];
}

export interface DryRunResult {
  readonly errors: readonly DdlError[];
  /** Statements that narrow a column type: destructive, found against the definitions. */
  readonly narrowed: ReadonlyMap<number, string>;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Snowflake type names in a statement, as DuckDB spells them. Quoted text is left alone. */
export function toDuckDbTypes(sql: string): string {
  return sql
    .split(/('(?:[^'\\]|\\.)*'|"[^"]*")/)
    .map((part, index) => {
      if (index % 2 === 1) return part;
      return part
        .replace(/\b(?:NUMBER|NUMERIC|FIXED)\b(?!\s*\()/gi, 'DECIMAL(38,0)')
        .replace(/\b(?:NUMBER|NUMERIC|FIXED)\s*\(/gi, 'DECIMAL(')
        .replace(/\bSTRING\b/gi, 'VARCHAR')
        .replace(/\b(?:VARIANT|OBJECT|ARRAY)\b/gi, 'VARCHAR')
        .replace(/\bTIMESTAMP_NTZ\b/gi, 'TIMESTAMP')
        .replace(/\bTIMESTAMP_(?:LTZ|TZ)\b/gi, 'TIMESTAMPTZ')
        .replace(/\bBYTEINT\b/gi, 'TINYINT')
        .replace(/\bVARBINARY\b/gi, 'BLOB')
        .replace(/\bBINARY\b(\s*\(\s*\d+\s*\))?/gi, 'BLOB')
        .replace(/\bMODIFY\s+(COLUMN\s+)?/gi, 'ALTER COLUMN ')
        // The shadow has one schema: database and schema qualifiers of a table go.
        .replace(/\b(TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?)(?:(?:"[^"]+"|[A-Za-z_][\w$]*)\.){1,2}/gi, '$1');
    })
    .join('');
}

export async function shadowDryRun(definitions: readonly TableDefinition[], statements: readonly DdlStatement[]): Promise<DryRunResult> {
  const errors: DdlError[] = [];
  const narrowed = new Map<number, string>();
  const types = new Map<string, Map<string, string>>(definitions.map((table) => [table.name.toUpperCase(), new Map(table.columns.map((column) => [column.name.toUpperCase(), column.type]))]));
  const { DuckDBInstance } = await duckDb();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const table of definitions) {
      const columns = table.columns.map((column) => `${quote(column.name)} ${toDuckDbTypes(column.type)}${column.nullable ? '' : ' NOT NULL'}`);
      await connection.run(`CREATE TABLE ${quote(table.name)} (${columns.join(', ') || '"_" INTEGER'})`);
    }
    for (const statement of statements) {
      const { action } = statement;
      if (action.kind === 'alter-type') {
        const current = types.get(action.table.split('.').pop() ?? '')?.get(action.column);
        if (current) {
          const why = narrowing(columnType(current), columnType(action.dataType));
          if (why) narrowed.set(statement.line, `narrows ${action.table}.${action.column} (${why}): values that do not fit are lost or the change fails`);
        }
      }
      try {
        await connection.run(toDuckDbTypes(statement.sql));
      } catch (error) {
        const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.replace(/^[A-Za-z]+ Error: /, '') ?? 'rejected';
        errors.push({ line: statement.line, message: `Line ${statement.line}: ${message} (in the dry run on a shadow copy of ${describeTables(definitions)})` });
        // Later statements build on this one: their errors would only echo it.
        break;
      }
      if (action.kind === 'add-column') types.get(action.table.split('.').pop() ?? '')?.set(action.column, action.dataType);
      if (action.kind === 'alter-type') types.get(action.table.split('.').pop() ?? '')?.set(action.column, action.dataType);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  log.debug('dry run', { statements: statements.length, errors: errors.length });
  return { errors, narrowed };
}

function describeTables(definitions: readonly TableDefinition[]): string {
  return definitions.length ? definitions.map((table) => table.name).join(', ') : 'no existing table';
}
