/** SOPHIA_KEYCHAIN_SERVICE: the keychain service Sophia's entries are grouped under. */
import { describe, expect, it } from 'vitest';
import { keychainService, OsKeychain } from '../../../electron/keychain/keychain';

describe('the keychain service name', () => {
  it('is Sophia unless SOPHIA_KEYCHAIN_SERVICE names another', () => {
    expect(keychainService({})).toBe('Sophia');
    expect(keychainService({ SOPHIA_KEYCHAIN_SERVICE: '' })).toBe('Sophia');
    expect(keychainService({ SOPHIA_KEYCHAIN_SERVICE: 'sophia-e2e-1f2e.run_3' })).toBe('sophia-e2e-1f2e.run_3');
  });

  it('refuses a name that is not letters, digits, dots, underscores or dashes, instead of using another', () => {
    for (const bad of ['has space', 'a/b', 'x'.repeat(101), 'tab\there', 'Sophia\n']) {
      expect(() => keychainService({ SOPHIA_KEYCHAIN_SERVICE: bad })).toThrow(/SOPHIA_KEYCHAIN_SERVICE/);
    }
  });

  it('is what an OsKeychain made without a name uses', () => {
    const saved = process.env['SOPHIA_KEYCHAIN_SERVICE'];
    process.env['SOPHIA_KEYCHAIN_SERVICE'] = 'sophia-service-name-test';
    try {
      expect(new OsKeychain().service).toBe('sophia-service-name-test');
    } finally {
      if (saved === undefined) delete process.env['SOPHIA_KEYCHAIN_SERVICE'];
      else process.env['SOPHIA_KEYCHAIN_SERVICE'] = saved;
    }
  });
});
