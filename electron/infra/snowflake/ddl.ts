/**
 * Snowflake DDL as Sophia checks it before anything reaches Snowflake: split into
 * statements (quotes and comments respected) with the line each starts on, parsed with
 * node-sql-parser's Snowflake dialect, and classified: additive (a new table or column),
 * destructive (DROP, TRUNCATE, a dropped column, CREATE OR REPLACE of a table, a column type
 * narrowed) or changing (renames, other alterations). Column type changes (`ALTER COLUMN ...
 * SET DATA TYPE`), which the parser's dialect does not know, are recognised here.
 * Only DDL is accepted: queries and data changes belong elsewhere.
 */
import type nodeSqlParser from 'node-sql-parser';
import { onDemand } from '../../core/onDemand';

type Parser = InstanceType<typeof nodeSqlParser.Parser>;

// node-sql-parser (every dialect's grammar, tens of megabytes) loads with the first DDL, not at
// start. It is CommonJS: its named exports are read off the default export, which every loader
// we run under (rolldown, vitest, vite's module runner for the crash test) agrees on.
const sqlParser = onDemand('node-sql-parser', async () => (await import('node-sql-parser')).default.Parser);

export type DdlClass = 'additive' | 'destructive' | 'changing';

export type DdlAction =
  | { readonly kind: 'create-table'; readonly table: string; readonly replace: boolean }
  | { readonly kind: 'add-column'; readonly table: string; readonly column: string; readonly dataType: string }
  | { readonly kind: 'drop-column'; readonly table: string; readonly column: string }
  | { readonly kind: 'alter-type'; readonly table: string; readonly column: string; readonly dataType: string }
  | { readonly kind: 'rename'; readonly table: string }
  | { readonly kind: 'drop-table'; readonly table: string }
  | { readonly kind: 'truncate'; readonly table: string }
  | { readonly kind: 'other'; readonly table: string | undefined };

export interface DdlStatement {
  /** 1-based line of the statement's first character in the submitted text. */
  readonly line: number;
  readonly sql: string;
  readonly action: DdlAction;
  readonly classification: DdlClass;
  readonly reason: string;
}

export interface DdlError {
  readonly line: number;
  readonly message: string;
}

export interface ParsedDdl {
  readonly statements: readonly DdlStatement[];
  readonly errors: readonly DdlError[];
}

export const ddlLimits = { chars: 200_000, statements: 200 } as const;

/** Splits on `;` outside quotes, identifiers and comments; each piece keeps the line it starts on. */
export function splitStatements(text: string): { sql: string; line: number }[] {
  const out: { sql: string; line: number }[] = [];
  let line = 1;
  let start = 0;
  let startLine = 1;
  let i = 0;
  const push = (end: number): void => {
    const raw = text.slice(start, end);
    const lead = /^(?:\s|--[^\n]*(?:\n|$)|\/\/[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/.exec(raw)?.[0] ?? '';
    const sql = raw.slice(lead.length).trim();
    if (sql) out.push({ sql, line: startLine + (lead.match(/\n/g)?.length ?? 0) });
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '\n') line += 1;
    if (c === "'" || c === '"') {
      i += 1;
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\n') line += 1;
        if (text[i] === '\\' && c === "'") i += 1;
        i += 1;
      }
    } else if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    } else if (c === '/' && next === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') line += 1;
        i += 1;
      }
      i += 1;
    } else if (c === ';') {
      push(i);
      start = i + 1;
      startLine = line;
    }
    i += 1;
  }
  push(text.length);
  return out;
}

const ident = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*)){0,2}`;
const alterType = new RegExp(String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(${ident})\s+(?:ALTER|MODIFY)\s+(?:COLUMN\s+)?(${ident})\s+(?:SET\s+DATA\s+)?TYPE\s+([A-Za-z_]+(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?)\s*$`, 'i');
const notDdl = /^(SELECT|INSERT|UPDATE|DELETE|MERGE|COPY|PUT|GET|CALL|EXECUTE|GRANT|REVOKE|USE|SET|UNSET|BEGIN|COMMIT|ROLLBACK|WITH|SHOW|DESCRIBE|DESC)\b/i;

const unquote = (name: string): string => name.split('.').map((part) => (part.startsWith('"') ? part.slice(1, -1) : part.toUpperCase())).join('.');

function tableOf(node: unknown): string | undefined {
  const list = Array.isArray(node) ? node : [node];
  const first = list[0] as { table?: unknown; db?: unknown } | undefined;
  if (!first || typeof first.table !== 'string') return undefined;
  // Database and schema qualifiers are the connection's: the table is named by its own name.
  return unquote(first.table);
}

function dataTypeOf(definition: { dataType?: string; length?: number; scale?: number } | undefined): string {
  if (!definition?.dataType) return '';
  if (definition.length === undefined) return definition.dataType.toUpperCase();
  return `${definition.dataType.toUpperCase()}(${definition.length}${definition.scale === undefined ? '' : `,${definition.scale}`})`;
}

function classify(action: DdlAction): { classification: DdlClass; reason: string } {
  switch (action.kind) {
    case 'create-table':
      return action.replace ? { classification: 'destructive', reason: `CREATE OR REPLACE drops the existing ${action.table} and its rows` } : { classification: 'additive', reason: `creates ${action.table}` };
    case 'add-column':
      return { classification: 'additive', reason: `adds ${action.column} to ${action.table}` };
    case 'drop-column':
      return { classification: 'destructive', reason: `drops the column ${action.column} of ${action.table} with its data` };
    case 'alter-type':
      // Whether it narrows is known only against the current definition: the plan decides.
      return { classification: 'changing', reason: `changes the type of ${action.table}.${action.column} to ${action.dataType}` };
    case 'rename':
      return { classification: 'changing', reason: `renames in ${action.table}` };
    case 'drop-table':
      return { classification: 'destructive', reason: `drops the table ${action.table}` };
    case 'truncate':
      return { classification: 'destructive', reason: `deletes every row of ${action.table}` };
    case 'other':
      return { classification: 'changing', reason: action.table ? `alters ${action.table}` : 'changes the schema' };
  }
}

function actionOf(sql: string, parser: Parser): DdlAction {
  const typed = alterType.exec(sql.replace(/\s+/g, ' ').trim());
  if (typed) return { kind: 'alter-type', table: unquote(typed[1] ?? ''), column: unquote(typed[2] ?? ''), dataType: (typed[3] ?? '').replace(/\s+/g, '').toUpperCase() };
  const ast = parser.astify(sql, { database: 'snowflake' });
  const node = (Array.isArray(ast) ? ast[0] : ast) as unknown as Record<string, unknown> | undefined;
  const type = String(node?.['type'] ?? '').toLowerCase();
  const table = tableOf(node?.['table']);
  if (type === 'create' && String(node?.['keyword'] ?? '').toLowerCase() === 'table' && table) {
    return { kind: 'create-table', table, replace: /^CREATE\s+OR\s+REPLACE\b/i.test(sql) };
  }
  if (type === 'drop' && String(node?.['keyword'] ?? '').toLowerCase() === 'table' && table) return { kind: 'drop-table', table: tableOf(node?.['name']) ?? table };
  if (type === 'drop' && node?.['name']) {
    const name = tableOf(node['name']);
    if (String(node['keyword'] ?? '').toLowerCase() === 'table' && name) return { kind: 'drop-table', table: name };
  }
  if (type === 'truncate' && (table ?? tableOf(node?.['name']))) return { kind: 'truncate', table: (table ?? tableOf(node?.['name'])) as string };
  if (type === 'alter' && table) {
    const expr = ((node?.['expr'] as Record<string, unknown>[] | undefined) ?? [])[0];
    const column = (expr?.['column'] as { column?: unknown } | undefined)?.column;
    const columnName = typeof column === 'string' ? unquote(column) : typeof column === 'object' && column && 'expr' in column ? unquote(String((column as { expr: { value: unknown } }).expr.value)) : '';
    if (expr?.['action'] === 'add' && expr['resource'] === 'column') return { kind: 'add-column', table, column: columnName, dataType: dataTypeOf(expr['definition'] as never) };
    if (expr?.['action'] === 'drop' && expr['resource'] === 'column') return { kind: 'drop-column', table, column: columnName };
    if (expr?.['action'] === 'rename') return { kind: 'rename', table };
  }
  return { kind: 'other', table };
}

/** Parses and classifies; every problem names the line it is on. */
export async function parseDdl(text: string): Promise<ParsedDdl> {
  if (text.length > ddlLimits.chars) return { statements: [], errors: [{ line: 1, message: `The DDL is longer than ${ddlLimits.chars} characters.` }] };
  const parser = new (await sqlParser())();
  const statements: DdlStatement[] = [];
  const errors: DdlError[] = [];
  const pieces = splitStatements(text);
  if (pieces.length === 0) errors.push({ line: 1, message: 'There is no statement.' });
  if (pieces.length > ddlLimits.statements) errors.push({ line: pieces[ddlLimits.statements]?.line ?? 1, message: `More than ${ddlLimits.statements} statements.` });
  for (const piece of pieces.slice(0, ddlLimits.statements)) {
    if (notDdl.test(piece.sql)) {
      errors.push({ line: piece.line, message: `Line ${piece.line}: only DDL is applied here (CREATE, ALTER, DROP, TRUNCATE, COMMENT); "${piece.sql.split(/\s+/)[0]?.toUpperCase()}" is not.` });
      continue;
    }
    try {
      const action = actionOf(piece.sql, parser);
      statements.push({ line: piece.line, sql: piece.sql, action, ...classify(action) });
    } catch (error) {
      const location = (error as { location?: { start?: { line?: number; column?: number } } }).location?.start;
      const line = piece.line + (location?.line ?? 1) - 1;
      const near = location?.column !== undefined ? ` near "${(piece.sql.split('\n')[(location.line ?? 1) - 1] ?? '').slice(Math.max(0, location.column - 1), location.column + 19) || 'the end'}"` : '';
      errors.push({ line, message: `Line ${line}: syntax error${near}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 300)}` });
    }
  }
  return { statements, errors };
}

/** A Snowflake column type in comparable form: family and size. */
export interface ColumnType {
  readonly family: 'text' | 'number' | 'float' | 'boolean' | 'date' | 'time' | 'timestamp' | 'binary' | 'semi' | 'other';
  readonly length?: number | undefined;
  readonly precision?: number | undefined;
  readonly scale?: number | undefined;
}

export function columnType(text: string): ColumnType {
  const match = /^([A-Z_]+)(?:\((\d+)(?:,(\d+))?\))?$/.exec(text.replace(/\s+/g, '').toUpperCase());
  const name = match?.[1] ?? '';
  const a = match?.[2] === undefined ? undefined : Number(match[2]);
  const b = match?.[3] === undefined ? undefined : Number(match[3]);
  if (['VARCHAR', 'STRING', 'TEXT', 'CHAR', 'CHARACTER', 'NVARCHAR', 'NCHAR'].includes(name)) return { family: 'text', length: a ?? (name.startsWith('CHAR') || name === 'NCHAR' ? 1 : 16_777_216) };
  if (['NUMBER', 'DECIMAL', 'NUMERIC', 'FIXED'].includes(name)) return { family: 'number', precision: a ?? 38, scale: b ?? 0 };
  if (['INT', 'INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT', 'BYTEINT'].includes(name)) return { family: 'number', precision: 38, scale: 0 };
  if (['FLOAT', 'FLOAT4', 'FLOAT8', 'DOUBLE', 'REAL'].includes(name) || name === 'DOUBLEPRECISION') return { family: 'float' };
  if (name === 'BOOLEAN') return { family: 'boolean' };
  if (name === 'DATE') return { family: 'date' };
  if (name === 'TIME') return { family: 'time' };
  if (name.startsWith('TIMESTAMP') || name === 'DATETIME') return { family: 'timestamp' };
  if (['BINARY', 'VARBINARY'].includes(name)) return { family: 'binary', length: a };
  if (['VARIANT', 'OBJECT', 'ARRAY'].includes(name)) return { family: 'semi' };
  return { family: 'other' };
}

/** Why going from `from` to `to` can lose data, or undefined when it cannot. */
export function narrowing(from: ColumnType, to: ColumnType): string | undefined {
  if (from.family !== to.family) return `from ${from.family} to ${to.family}`;
  if (from.family === 'text' && (to.length ?? 0) < (from.length ?? 0)) return `text length ${from.length} to ${to.length}`;
  if (from.family === 'number') {
    const intDigits = (t: ColumnType): number => (t.precision ?? 38) - (t.scale ?? 0);
    if (intDigits(to) < intDigits(from) || (to.scale ?? 0) < (from.scale ?? 0)) return `NUMBER(${from.precision},${from.scale}) to NUMBER(${to.precision},${to.scale})`;
  }
  if (from.family === 'binary' && (to.length ?? Infinity) < (from.length ?? Infinity)) return `binary length ${from.length} to ${to.length}`;
  return undefined;
}
