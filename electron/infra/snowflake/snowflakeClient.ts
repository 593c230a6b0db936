/**
 * Snowflake through snowflake-sdk: one connection per environment's settings, with the
 * password from the keychain, statements run one at a time, and every running statement
 * cancellable (the emergency stop calls `cancelAll`).
 */
import type { SnowflakeConnection, SnowflakeEnvironment } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import { onDemand } from '../../core/onDemand';
import { createLogger } from '../../log';
import type { SecretReader } from '../../keychain/secretReader';
import type { OfflineGuard } from '../../models/offlineGuard';

const log = createLogger('snowflakeClient');

// The driver (about a second and tens of megabytes) loads on the first connection, not at start.
const snowflakeDriver = onDemand('snowflake-sdk', async () => {
  const snowflake = (await import('snowflake-sdk')).default;
  // The driver's own log goes through ours (it masks secrets itself); warnings and errors only.
  snowflake.configure({
    logLevel: 'WARN',
    customLogger: {
      error: (message: string) => log.error('snowflake-sdk', { message }),
      warn: (message: string) => log.warn('snowflake-sdk', { message }),
      info: () => undefined,
      debug: () => undefined,
      trace: () => undefined,
    },
  });
  return snowflake;
});

export type Row = Record<string, unknown>;

export interface SnowflakeSession {
  /** Runs one statement; rejects with Snowflake's code and message. */
  execute(sql: string): Promise<Row[]>;
  close(): Promise<void>;
}

export class SnowflakeQueryError extends Error {
  override readonly name = 'SnowflakeQueryError';
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly sqlState: string | undefined,
  ) {
    super(message);
  }
}

export class SnowflakeClient {
  readonly #running = new Set<{ cancel: () => Promise<void>; sql: string }>();

  constructor(
    private readonly settings: (environment: SnowflakeEnvironment) => SnowflakeConnection,
    private readonly secrets: SecretReader,
    /** Offline mode: a Snowflake account off this machine is refused before it is reached. */
    private readonly offline?: OfflineGuard,
  ) {}

  async connect(environment: SnowflakeEnvironment): Promise<SnowflakeSession> {
    const config = this.settings(environment);
    if (!config.account || !config.username) {
      throw new SophiaError('unavailable', `Snowflake ${environment} is not set up: add its account and user in Settings.`);
    }
    this.offline?.check(config.accessUrl || `https://${config.account}.snowflakecomputing.com`, `Snowflake ${environment}`);
    const password = await this.secrets.get('snowflake-password');
    if (!password) throw new SophiaError('unavailable', 'There is no Snowflake password in the keychain (Credentials: snowflake-password).');
    const snowflake = await snowflakeDriver();
    const connection = snowflake.createConnection({
      account: config.account,
      username: config.username,
      password,
      application: 'Sophia',
      ...(config.warehouse ? { warehouse: config.warehouse } : {}),
      ...(config.database ? { database: config.database } : {}),
      ...(config.schema ? { schema: config.schema } : {}),
      ...(config.role ? { role: config.role } : {}),
      ...(config.accessUrl ? { accessUrl: config.accessUrl } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      // The callback form reports every failure; connectAsync alone resolves on some of them.
      connection.connect((error) => (error ? reject(new SophiaError('unavailable', `Could not sign in to Snowflake ${environment}: ${error.message}`)) : resolve()));
    });
    return {
      execute: (sql) =>
        new Promise<Row[]>((resolve, reject) => {
          const entry: { cancel: () => Promise<void>; sql: string } = { sql, cancel: async () => undefined };
          const statement = connection.execute({
            sqlText: sql,
            complete: (error, _statement, rows) => {
              this.#running.delete(entry);
              if (error) {
                const detail = error as Error & { code?: string | number; sqlState?: string };
                reject(new SnowflakeQueryError(detail.message, detail.code === undefined ? undefined : String(detail.code), detail.sqlState));
              } else {
                resolve((rows ?? []) as Row[]);
              }
            },
          });
          entry.cancel = () => new Promise<void>((done) => statement.cancel(() => done()));
          this.#running.add(entry);
        }),
      close: () =>
        new Promise<void>((resolve) => {
          connection.destroy((error) => {
            if (error) log.warn('closing the Snowflake connection failed', { error: error.message });
            resolve();
          });
        }),
    };
  }

  /** The emergency stop: cancels every running statement; resolves with how many. */
  async cancelAll(): Promise<string[]> {
    const running = [...this.#running];
    await Promise.all(running.map((entry) => entry.cancel().catch((error: unknown) => log.warn('cancel failed', { error }))));
    return running.map((entry) => entry.sql);
  }
}
