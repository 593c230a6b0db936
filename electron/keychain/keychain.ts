/**
 * The OS keychain behind a small interface: Secret Service on Linux, Keychain on macOS,
 * Credential Manager on Windows, through @napi-rs/keyring. On Linux the store is pinned to
 * the Secret Service: the library would otherwise fall back to the kernel keyring, which
 * forgets everything at logout, and a credential that silently vanishes is worse than a
 * clear "no keychain". When no keychain answers, callers are told so and nothing is stored
 * anywhere else.
 */
import { Entry, type EntryOptions } from '@napi-rs/keyring';
import { SophiaError } from '../../shared/errors';
import { createLogger } from '../log';

const log = createLogger('keychain');

export interface KeychainStatus {
  readonly available: boolean;
  /** In words for the user: which keychain, or why there is none. */
  readonly message: string;
}

export interface Keychain {
  status(): KeychainStatus;
  /** The stored value, or null when none is stored. Throws `unavailable` without a keychain. */
  get(account: string): string | null;
  set(account: string, value: string): void;
  /** True when something was removed. */
  remove(account: string): boolean;
}

export const keychainUnavailableMessage =
  'No OS keychain is available, so Sophia will not store credentials (it never keeps them in clear). On Linux, start a Secret Service such as gnome-keyring or KWallet and unlock it.';

export function keychainError(error: unknown): SophiaError {
  // The library's message names the store and the failure; it never contains the secret.
  const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '').slice(0, 300) : 'unknown error';
  return new SophiaError('unavailable', `${keychainUnavailableMessage} (${detail})`);
}

function platformName(): string {
  switch (process.platform) {
    case 'darwin':
      return 'the macOS Keychain';
    case 'win32':
      return 'the Windows Credential Manager';
    default:
      return 'the Secret Service';
  }
}

const probeAccount = 'sophia.keychain-probe';

/**
 * The service name Sophia's entries are grouped under: `Sophia`, or SOPHIA_KEYCHAIN_SERVICE
 * (letters, digits, `.`, `_`, `-`), so that test runs and a second profile keep apart from a
 * person's own entries. It names where secrets go; they still go only to the OS keychain.
 */
export function keychainService(env: NodeJS.ProcessEnv = process.env): string {
  const named = env['SOPHIA_KEYCHAIN_SERVICE'];
  if (named === undefined || named === '') return 'Sophia';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(named)) {
    throw new SophiaError('bad_request', 'SOPHIA_KEYCHAIN_SERVICE must be 1 to 100 letters, digits, dots, underscores or dashes.');
  }
  return named;
}

export class OsKeychain implements Keychain {
  readonly #options: EntryOptions = { linux: { store: 'secret-service' } };

  /** `service` groups Sophia's entries in the keychain; tests use their own. */
  constructor(readonly service: string = keychainService()) {}

  #entry(account: string): Entry {
    try {
      return new Entry(this.service, account, this.#options);
    } catch (error) {
      throw keychainError(error);
    }
  }

  status(): KeychainStatus {
    try {
      this.#entry(probeAccount).getPassword();
      return { available: true, message: `Credentials are kept in ${platformName()}.` };
    } catch (error) {
      const reason = error instanceof SophiaError ? error.message : keychainError(error).message;
      log.warn('no keychain', { reason });
      return { available: false, message: reason };
    }
  }

  get(account: string): string | null {
    try {
      return this.#entry(account).getPassword();
    } catch (error) {
      throw error instanceof SophiaError ? error : keychainError(error);
    }
  }

  set(account: string, value: string): void {
    try {
      this.#entry(account).setPassword(value);
    } catch (error) {
      throw error instanceof SophiaError ? error : keychainError(error);
    }
  }

  remove(account: string): boolean {
    try {
      return this.#entry(account).deleteCredential();
    } catch (error) {
      throw error instanceof SophiaError ? error : keychainError(error);
    }
  }
}
