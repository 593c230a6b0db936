/**
 * The credentials Sophia uses (Anthropic key, GitHub token, Snowflake and Pulumi secrets),
 * kept only in the OS keychain. A value goes in from the settings page and never back out
 * to a renderer: the list says which names are set, nothing more. Every known value is
 * handed to the redactor, so it is cut from whatever is shown, logged or stored.
 */
import { secretNames, type SecretName } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { AuditSink } from '../audit/auditLog';
import { createLogger } from '../log';
import type { Keychain, KeychainStatus } from '../keychain/keychain';
import type { SecretRedactor } from '../keychain/redactor';

const log = createLogger('secretStore');

export const secretLabels: Record<SecretName, string> = {
  'anthropic-api-key': 'Anthropic API key',
  'openai-api-key': 'OpenAI-compatible API key',
  'snowflake-cortex-token': 'Snowflake Cortex programmatic access token',
  'github-token': 'GitHub token',
  'snowflake-password': 'Snowflake password',
  'snowflake-private-key': 'Snowflake private key (PEM)',
  'pulumi-access-token': 'Pulumi access token',
  'pulumi-config-passphrase': 'Pulumi config passphrase',
  'otlp-headers': 'OTLP telemetry headers (Name=value,Name2=value2)',
};

/** The keychain account a secret is stored under. */
export const secretAccount = (name: SecretName): string => `secret.${name}`;
const account = secretAccount;

export interface SecretList {
  readonly keychain: KeychainStatus;
  readonly secrets: { name: SecretName; label: string; set: boolean }[];
}

export class SecretStore {
  constructor(
    private readonly keychain: Keychain,
    private readonly redactor: SecretRedactor,
    private readonly audit?: AuditSink,
  ) {}

  /** Reads every stored value once so the redactor knows them. Without a keychain, nothing. */
  loadIntoRedactor(): void {
    const status = this.keychain.status();
    if (!status.available) return;
    for (const name of secretNames) {
      try {
        const value = this.keychain.get(account(name));
        if (value) this.redactor.add(name, value);
      } catch (error) {
        log.warn('could not read a stored credential', { name, error });
      }
    }
  }

  list(): SecretList {
    const keychain = this.keychain.status();
    const secrets = secretNames.map((name) => {
      let set = false;
      if (keychain.available) {
        try {
          const value = this.keychain.get(account(name));
          set = value !== null && value !== '';
          if (value) this.redactor.add(name, value);
        } catch (error) {
          log.warn('could not read a stored credential', { name, error });
        }
      }
      return { name, label: secretLabels[name], set };
    });
    return { keychain, secrets };
  }

  /** Stores a value in the keychain, or refuses: there is no fallback to a file. */
  set(name: SecretName, value: string): void {
    const status = this.keychain.status();
    if (!status.available) throw new SophiaError('unavailable', status.message);
    // Known before it is stored, so not even a failure message can carry it.
    this.redactor.add(name, value);
    const previous = this.#read(name);
    this.keychain.set(account(name), value);
    if (previous && previous !== value) this.redactor.forget(previous);
    log.info('credential stored', { name });
    this.audit?.record({ kind: 'secret', actor: 'user', summary: `${secretLabels[name]} was saved to the keychain`, data: { name, action: 'set' } });
  }

  remove(name: SecretName): boolean {
    const status = this.keychain.status();
    if (!status.available) throw new SophiaError('unavailable', status.message);
    const removed = this.keychain.remove(account(name));
    log.info('credential removed', { name, removed });
    this.audit?.record({ kind: 'secret', actor: 'user', summary: `${secretLabels[name]} was removed from the keychain`, data: { name, action: 'remove', removed } });
    // The old value stays in the redactor: it may still sit in a scrollback or a log line.
    return removed;
  }

  /** For the main process only (model providers, git, infrastructure); never for a renderer. */
  get(name: SecretName): string | undefined {
    const value = this.#read(name);
    if (value) this.redactor.add(name, value);
    return value ?? undefined;
  }

  #read(name: SecretName): string | null {
    return this.keychain.get(account(name));
  }
}
