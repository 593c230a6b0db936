/**
 * A loopback stand-in for Snowflake's REST protocol as snowflake-sdk speaks it:
 * `POST /session/v1/login-request` (token, masterToken, sessionId, parameters; code 390100
 * for a wrong password), `POST /queries/v1/query-request` (result `rowtype` + `rowset`,
 * errors with Snowflake's codes, messages and SQL states: 002003 for an unknown object,
 * 001003 for a syntax error), queries that run long answered with 333334 and a
 * `getResultUrl` the driver polls, `POST /queries/{id}/abort-request` ending such a query
 * with 000604 "SQL execution canceled", and `POST /session?delete=true`.
 *
 * It keeps a small catalogue (tables and their columns) and understands the statements
 * Sophia sends: INFORMATION_SCHEMA.COLUMNS lookups, CURRENT_TIMESTAMP (with a table's
 * INFORMATION_SCHEMA.TABLES.RETENTION_TIME beside it), CREATE TABLE (also
 * CLONE), ALTER TABLE ADD/DROP COLUMN and SET DATA TYPE, DROP, UNDROP and TRUNCATE TABLE.
 * It lives in test/, never in the product.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface StandInColumn {
  name: string;
  type: string;
  nullable: boolean;
}

export interface SnowflakeStandIn {
  readonly accessUrl: string;
  /** Every SQL text that reached "Snowflake", in order. */
  readonly statements: string[];
  readonly tables: Map<string, StandInColumn[]>;
  readonly dropped: Map<string, StandInColumn[]>;
  /** Statements matching this are held (running) until aborted or released. */
  hold: RegExp | undefined;
  /** Statements matching this fail with "insufficient privileges". */
  refuse: RegExp | undefined;
  /** Each table's DATA_RETENTION_TIME_IN_DAYS, as INFORMATION_SCHEMA.TABLES.RETENTION_TIME reports it (1 when not set). */
  readonly retention: Map<string, number>;
  readonly aborted: string[];
  readonly loginCount: () => number;
  close(): Promise<void>;
}

const account = { user: 'SOPHIA_DEPLOY', password: 'correct horse battery staple' };

function ok(data: Record<string, unknown>): Record<string, unknown> {
  return { data, code: null, message: null, success: true };
}

function sqlError(code: string, message: string, sqlState: string, queryId: string): Record<string, unknown> {
  return { data: { internalError: false, errorCode: code, age: 0, sqlState, queryId, line: -1, pos: -1, type: 'COMPILATION' }, code, message, success: false };
}

const textColumn = (name: string) => ({ name, database: '', schema: '', table: '', byteLength: 16_777_216, length: 16_777_216, type: 'text', scale: null, precision: null, nullable: true, collation: null });

function resultOf(queryId: string, columns: string[], rows: (string | null)[][]): Record<string, unknown> {
  return ok({
    parameters: [{ name: 'TIMEZONE', value: 'UTC' }],
    rowtype: columns.map(textColumn),
    rowset: rows,
    total: rows.length,
    returned: rows.length,
    queryId,
    databaseProvider: null,
    finalDatabaseName: 'PAYROLL',
    finalSchemaName: 'HR',
    finalWarehouseName: 'DEPLOY_WH',
    finalRoleName: 'SYSADMIN',
    numberOfBinds: 0,
    arrayBindSupported: false,
    statementTypeId: 0x6000,
    version: 1,
    sendResultTime: Date.now(),
    queryResultFormat: 'json',
  });
}

let queries = 0;

export async function startSnowflakeStandIn(initial: Record<string, StandInColumn[]> = {}): Promise<SnowflakeStandIn> {
  const tables = new Map(Object.entries(initial).map(([name, columns]) => [name.toUpperCase(), columns.map((column) => ({ ...column }))]));
  const dropped = new Map<string, StandInColumn[]>();
  const statements: string[] = [];
  const aborted: string[] = [];
  const retention = new Map<string, number>();
  let logins = 0;
  const held = new Map<string, { sql: string; respond: (body: Record<string, unknown>) => void; waiting?: ServerResponse }>();

  const run = (sql: string, queryId: string): Record<string, unknown> => {
    const text = sql.replace(/\s+/g, ' ').trim().replace(/;$/, '');
    const name = (raw: string) => raw.replace(/"/g, '').split('.').pop()!.toUpperCase();
    let m: RegExpExecArray | null;
    if (/^SELECT .* FROM INFORMATION_SCHEMA\.COLUMNS/i.test(text)) {
      const wanted = [...text.matchAll(/'([^']+)'/g)].map((match) => match[1]!.toUpperCase());
      // Snowflake reports the type family and its sizes in separate columns: TEXT 100, NUMBER 10 2.
      const described = (type: string): (string | null)[] => {
        const [, family = '', a, b] = /^([A-Z_]+)(?:\((\d+)(?:,(\d+))?\))?$/.exec(type.replace(/\s+/g, '').toUpperCase()) ?? [];
        if (['VARCHAR', 'STRING', 'TEXT', 'CHAR'].includes(family)) return ['TEXT', a ?? '16777216', null, null];
        if (['NUMBER', 'DECIMAL', 'NUMERIC', 'INT', 'INTEGER'].includes(family)) return ['NUMBER', null, a ?? '38', b ?? '0'];
        return [family, null, null, null];
      };
      const rows = [...tables.entries()].filter(([table]) => wanted.includes(table)).flatMap(([table, columns]) => columns.map((column) => [table, column.name, ...described(column.type), column.nullable ? 'YES' : 'NO']));
      return resultOf(queryId, ['TABLE_NAME', 'COLUMN_NAME', 'DATA_TYPE', 'CHARACTER_MAXIMUM_LENGTH', 'NUMERIC_PRECISION', 'NUMERIC_SCALE', 'IS_NULLABLE'], rows);
    }
    if ((m = /^SELECT CURRENT_TIMESTAMP\(\), \(SELECT RETENTION_TIME FROM INFORMATION_SCHEMA\.TABLES WHERE .* TABLE_NAME = '([^']+)'\) AS RETENTION_DAYS$/i.exec(text))) {
      const table = m[1]!.toUpperCase();
      const days = tables.has(table) ? String(retention.get(table) ?? 1) : null;
      return resultOf(queryId, ['CURRENT_TIMESTAMP()', 'RETENTION_DAYS'], [[new Date().toISOString(), days]]);
    }
    if (/^SELECT CURRENT_TIMESTAMP\(\)/i.test(text)) return resultOf(queryId, ['CURRENT_TIMESTAMP()'], [[new Date().toISOString()]]);
    const missing = (table: string) => sqlError('002003', `SQL compilation error:\nTable '${table}' does not exist or not authorized.`, '42S02', queryId);
    const done = (message = 'Statement executed successfully.') => resultOf(queryId, ['status'], [[message]]);
    if ((m = /^CREATE (?:OR REPLACE )?TABLE (\S+) CLONE (\S+)$/i.exec(text))) {
      const source = tables.get(name(m[2]!));
      if (!source) return missing(name(m[2]!));
      tables.set(name(m[1]!), source.map((column) => ({ ...column })));
      return done(`Table ${name(m[1]!)} successfully created.`);
    }
    if ((m = /^CREATE (OR REPLACE )?TABLE (\S+) \((.*)\)$/i.exec(text))) {
      const table = name(m[2]!);
      if (tables.has(table) && !m[1]) return sqlError('002002', `SQL compilation error:\nObject '${table}' already exists.`, '42710', queryId);
      const columns = m[3]!.split(/,(?![^(]*\))/).map((part) => part.trim().split(/\s+/)).map(([col, type, ...rest]) => ({ name: name(col!), type: type!.toUpperCase(), nullable: !/NOT NULL/i.test(rest.join(' ')) }));
      tables.set(table, columns);
      return done(`Table ${table} successfully created.`);
    }
    if ((m = /^ALTER TABLE (\S+) ADD (?:COLUMN )?(\S+) (.+)$/i.exec(text))) {
      const columns = tables.get(name(m[1]!));
      if (!columns) return missing(name(m[1]!));
      if (columns.some((column) => column.name === name(m![2]!))) return sqlError('002028', `SQL compilation error:\nambiguous column name '${name(m[2]!)}'`, '42601', queryId);
      columns.push({ name: name(m[2]!), type: m[3]!.split(/\s+/)[0]!.toUpperCase(), nullable: !/NOT NULL/i.test(m[3]!) });
      return done();
    }
    if ((m = /^ALTER TABLE (\S+) DROP (?:COLUMN )?(\S+)$/i.exec(text))) {
      const columns = tables.get(name(m[1]!));
      if (!columns) return missing(name(m[1]!));
      tables.set(name(m[1]!), columns.filter((column) => column.name !== name(m![2]!)));
      return done();
    }
    if ((m = /^ALTER TABLE (\S+) (?:ALTER|MODIFY) (?:COLUMN )?(\S+) (?:SET DATA )?TYPE (.+)$/i.exec(text))) {
      const column = tables.get(name(m[1]!))?.find((item) => item.name === name(m![2]!));
      if (!column) return missing(name(m[1]!));
      column.type = m[3]!.replace(/\s+/g, '').toUpperCase();
      return done();
    }
    if ((m = /^DROP TABLE (?:IF EXISTS )?(\S+)$/i.exec(text))) {
      const table = name(m[1]!);
      const columns = tables.get(table);
      if (!columns) return missing(table);
      tables.delete(table);
      dropped.set(table, columns);
      return done(`${table} successfully dropped.`);
    }
    if ((m = /^UNDROP TABLE (\S+)$/i.exec(text))) {
      const table = name(m[1]!);
      const columns = dropped.get(table);
      if (!columns) return sqlError('002003', `SQL compilation error:\nTable '${table}' does not exist or not authorized.`, '02000', queryId);
      dropped.delete(table);
      tables.set(table, columns);
      return done(`Table ${table} successfully restored.`);
    }
    if ((m = /^TRUNCATE (?:TABLE )?(\S+)$/i.exec(text))) {
      if (!tables.has(name(m[1]!))) return missing(name(m[1]!));
      return done();
    }
    return sqlError('001003', `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${text.split(' ')[0]}'.`, '42000', queryId);
  };

  const readBody = async (request: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let raw = Buffer.concat(chunks);
    if (request.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
    return raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
  };

  const send = (response: ServerResponse, body: Record<string, unknown>): void => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const body = await readBody(request);
      if (url.pathname === '/session/v1/login-request') {
        const data = (body['data'] ?? {}) as Record<string, unknown>;
        if (data['LOGIN_NAME'] !== account.user || data['PASSWORD'] !== account.password) {
          return send(response, { data: { nextAction: 'RETRY_LOGIN', authnMethod: 'USERNAME_PASSWORD', loginName: data['LOGIN_NAME'] }, code: '390100', message: 'Incorrect username or password was specified.', success: false });
        }
        logins += 1;
        return send(response, ok({ masterToken: 'master-token', token: 'session-token', validityInSeconds: 3600, masterValidityInSeconds: 14_400, displayUserName: account.user, serverVersion: '9.0.0', firstLogin: false, remMeToken: null, remMeValidityInSeconds: 0, healthCheckInterval: 45, newClientForUpgrade: null, sessionId: 1_234_567, parameters: [{ name: 'CLIENT_PREFETCH_THREADS', value: 4 }], sessionInfo: { databaseName: url.searchParams.get('databaseName'), schemaName: url.searchParams.get('schemaName'), warehouseName: url.searchParams.get('warehouse'), roleName: url.searchParams.get('roleName') }, idToken: null, idTokenValidityInSeconds: 0, responseData: null, mfaToken: null, mfaTokenValidityInSeconds: 0 }));
      }
      if (request.headers['authorization'] !== 'Snowflake Token="session-token"') {
        return send(response, { data: null, code: '390104', message: 'User must login again to access the service.', success: false });
      }
      if (url.pathname === '/queries/v1/query-request') {
        const sql = String(body['sqlText'] ?? '');
        statements.push(sql);
        const queryId = `01b2c3d4-0000-${String(++queries).padStart(4, '0')}-0000-0001a2b3c4d5`;
        if (stand.refuse?.test(sql)) return send(response, sqlError('003001', 'SQL access control error:\nInsufficient privileges to operate on table.', '42501', queryId));
        if (stand.hold?.test(sql)) {
          held.set(queryId, { sql, respond: () => undefined });
          return send(response, { data: { queryId, getResultUrl: `/queries/${queryId}/result`, queryAbortsAfterSecs: 300, progressDesc: null }, code: '333334', message: 'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.', success: true });
        }
        return send(response, run(sql, queryId));
      }
      const result = /^\/queries\/([^/]+)\/result$/.exec(url.pathname);
      if (result) {
        const entry = held.get(result[1]!);
        if (!entry) return send(response, sqlError('000709', `Statement ${result[1]} not found`, '02000', result[1]!));
        entry.respond = (reply) => send(response, reply);
        return;
      }
      const abort = /^\/queries\/([^/]+)\/abort-request$/.exec(url.pathname);
      if (abort || url.pathname === '/queries/v1/abort-request') {
        const queryId = abort?.[1] ?? [...held.keys()][0] ?? '';
        const entry = held.get(queryId);
        if (entry) {
          held.delete(queryId);
          aborted.push(entry.sql);
          entry.respond(sqlError('000604', 'SQL execution canceled', '57014', queryId));
        }
        return send(response, ok({}));
      }
      if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') return send(response, ok({}));
      if (url.pathname === '/session/heartbeat') return send(response, ok({}));
      if (url.pathname.startsWith('/telemetry/')) return send(response, ok({}));
      response.writeHead(404).end();
    })().catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stand: SnowflakeStandIn = {
    accessUrl: `http://127.0.0.1:${port}`,
    statements,
    tables,
    dropped,
    hold: undefined,
    refuse: undefined,
    retention,
    aborted,
    loginCount: () => logins,
    close: () =>
      new Promise((resolve) => {
        for (const entry of held.values()) entry.respond(sqlError('000604', 'SQL execution canceled', '57014', ''));
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return stand;
}

export const snowflakeStandInAccount = account;

export const employeesTable: StandInColumn[] = [
  { name: 'ID', type: 'NUMBER(38,0)', nullable: false },
  { name: 'NAME', type: 'VARCHAR(100)', nullable: true },
  { name: 'SALARY', type: 'NUMBER(10,2)', nullable: true },
  { name: 'MANAGER_ID', type: 'NUMBER(38,0)', nullable: true },
];
