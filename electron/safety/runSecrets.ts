/**
 * Run secrets: credentials the person keeps for sandboxed commands (`NOTION_TOKEN`, say),
 * each exposed as an environment variable to ONE approved `run_command` that names it. The
 * values live only in the OS keychain, under accounts of their own (`run-secret.<NAME>`),
 * apart from the provider keys; which names exist is kept there too (one index entry, names
 * only). Nothing here returns a value to a renderer or to the model: the list says which
 * names are set, and `readForRun` is for the command executor, which hands the values to the
 * command's own exec and to the redactor, never to the model.
 */
import { SophiaError } from '../../shared/errors';
import type { AuditSink } from '../audit/auditLog';
import type { Keychain, KeychainStatus } from '../keychain/keychain';
import type { SecretRedactor } from '../keychain/redactor';
import { createLogger } from '../log';

const log = createLogger('runSecrets');

export const runSecretNamePattern = /^[A-Z_][A-Z0-9_]{0,63}$/;
/** Names a run secret may not take: they would change how the sandbox itself works. */
export const reservedRunSecretNames = new Set(['PATH', 'HOME', 'LANG', 'SHELL', 'USER', 'PWD', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'NODE_OPTIONS']);
export const runSecretLimits = { count: 64, minValue: 8, maxValue: 16 * 1024 } as const;

const indexAccount = 'run-secrets.index';
const account = (name: string): string => `run-secret.${name}`;

export interface RunSecretList {
  readonly keychain: KeychainStatus;
  readonly secrets: { name: string; set: boolean }[];
}

export function checkRunSecretName(name: string): void {
  if (!runSecretNamePattern.test(name)) {
    throw new SophiaError('bad_request', `"${name.slice(0, 80)}" is not a run secret name: use capitals, digits and _, starting with a letter or _ (say NOTION_TOKEN), at most 64 characters.`);
  }
  if (reservedRunSecretNames.has(name)) throw new SophiaError('bad_request', `${name} is reserved for the sandbox itself; choose another name.`);
}

export class RunSecretStore {
  constructor(
    private readonly keychain: Keychain,
    private readonly redactor: SecretRedactor,
    private readonly audit?: AuditSink,
  ) {}

  /** Teaches the redactor every stored value (and its encodings) at start. */
  loadIntoRedactor(): void {
    if (!this.keychain.status().available) return;
    for (const name of this.#names()) {
      try {
        const value = this.keychain.get(account(name));
        if (value) this.redactor.addWithEncodings(name, value);
      } catch (error) {
        log.warn('could not read a run secret', { name, error });
      }
    }
  }

  list(): RunSecretList {
    const keychain = this.keychain.status();
    if (!keychain.available) return { keychain, secrets: [] };
    const secrets = this.#names().map((name) => {
      let set = false;
      try {
        const value = this.keychain.get(account(name));
        set = value !== null && value !== '';
        if (value) this.redactor.addWithEncodings(name, value);
      } catch (error) {
        log.warn('could not read a run secret', { name, error });
      }
      return { name, set };
    });
    return { keychain, secrets };
  }

  set(name: string, value: string): void {
    checkRunSecretName(name);
    const status = this.keychain.status();
    if (!status.available) throw new SophiaError('unavailable', status.message);
    // Known before it is stored, so not even a failure message can carry it.
    this.redactor.addWithEncodings(name, value);
    if (value.length < runSecretLimits.minValue) throw new SophiaError('bad_request', `A run secret is at least ${runSecretLimits.minValue} characters (shorter values could not be told apart in output to redact them).`);
    if (value.length > runSecretLimits.maxValue) throw new SophiaError('bad_request', `A run secret is at most ${runSecretLimits.maxValue / 1024} KiB.`);
    if (/[\0\n\r]/.test(value)) throw new SophiaError('bad_request', 'A run secret cannot hold a NUL or a line break (it becomes one environment variable).');
    const names = this.#names();
    if (!names.includes(name) && names.length >= runSecretLimits.count) throw new SophiaError('refused', `At most ${runSecretLimits.count} run secrets can be kept.`);
    this.keychain.set(account(name), value);
    if (!names.includes(name)) this.#saveNames([...names, name]);
    log.info('run secret stored', { name });
    this.audit?.record({ kind: 'secret', actor: 'user', summary: `Run secret ${name} was saved to the keychain`, data: { name, action: 'set', scope: 'run' } });
  }

  remove(name: string): boolean {
    checkRunSecretName(name);
    const status = this.keychain.status();
    if (!status.available) throw new SophiaError('unavailable', status.message);
    const removed = this.keychain.remove(account(name));
    this.#saveNames(this.#names().filter((other) => other !== name));
    log.info('run secret removed', { name, removed });
    this.audit?.record({ kind: 'secret', actor: 'user', summary: `Run secret ${name} was removed from the keychain`, data: { name, action: 'remove', removed, scope: 'run' } });
    // The old value stays in the redactor: it may still sit in a scrollback or a log line.
    return removed;
  }

  /**
   * The values of the named secrets, for one approved command: the executor passes them to
   * that command's exec only. A name that is not set is a clear error before anything runs.
   */
  readForRun(names: readonly string[]): Map<string, string> {
    const status = this.keychain.status();
    if (!status.available) throw new SophiaError('unavailable', status.message);
    const values = new Map<string, string>();
    const missing: string[] = [];
    for (const name of names) {
      checkRunSecretName(name);
      const value = this.keychain.get(account(name));
      if (value === null || value === '') missing.push(name);
      else {
        this.redactor.addWithEncodings(name, value);
        values.set(name, value);
      }
    }
    if (missing.length > 0) {
      throw new SophiaError('bad_request', `The run secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set. The person adds run secrets in Settings → Run secrets; nothing was run.`);
    }
    return values;
  }

  #names(): string[] {
    const raw = this.keychain.get(indexAccount);
    if (!raw) return [];
    try {
      const parsed: unknown = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter((name): name is string => typeof name === 'string' && runSecretNamePattern.test(name)).sort() : [];
    } catch {
      log.warn('the run secret index in the keychain is not readable; starting a new one');
      return [];
    }
  }

  #saveNames(names: readonly string[]): void {
    this.keychain.set(indexAccount, JSON.stringify([...new Set(names)].sort()));
  }
}
