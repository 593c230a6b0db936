/** Keychains for tests: the real OS keychain under a throwaway service name, and one that is not there. */
import { randomUUID } from 'node:crypto';
import { OsKeychain, keychainError, type Keychain, type KeychainStatus } from '../../../electron/keychain/keychain';

/** The real Secret Service, under a service name no other test or person uses. */
export function testKeychain(): OsKeychain {
  const keychain = new OsKeychain(`sophia-test-${randomUUID()}`);
  const status = keychain.status();
  if (!status.available) {
    throw new Error(`The keychain tests need a Secret Service: run them inside dbus-run-session with an unlocked gnome-keyring (see .ci/run). ${status.message}`);
  }
  return keychain;
}

/** A keychain that does not answer, as on a machine with no Secret Service. */
export class MissingKeychain implements Keychain {
  readonly writes: string[] = [];
  status(): KeychainStatus {
    return { available: false, message: keychainError(new Error('no Secret Service on the bus')).message };
  }
  get(): string | null {
    throw keychainError(new Error('no Secret Service on the bus'));
  }
  set(account: string): void {
    this.writes.push(account);
    throw keychainError(new Error('no Secret Service on the bus'));
  }
  remove(): boolean {
    throw keychainError(new Error('no Secret Service on the bus'));
  }
}
