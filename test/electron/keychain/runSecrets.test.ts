/**
 * Run secrets in the real OS keychain (Secret Service): names and whether set, never a value;
 * audited by name; checked names and values; a name that is not set fails before a run; the
 * redactor learns each value and its encodings as soon as it is known.
 */
import { describe, expect, it } from 'vitest';
import { SecretRedactor } from '../../../electron/keychain/redactor';
import { RunSecretStore } from '../../../electron/safety/runSecrets';
import { secretAccount } from '../../../electron/safety/secretStore';
import type { AuditInput } from '../../../electron/audit/auditLog';
import { testKeychain } from './keychainSupport';

describe('run secrets in the keychain', () => {
  it('stores values apart from the model keys, lists names only, audits names only, and reads them for a run', () => {
    const keychain = testKeychain();
    const redactor = new SecretRedactor();
    const audit: AuditInput[] = [];
    const store = new RunSecretStore(keychain, redactor, { record: (entry) => void audit.push(entry) });
    const value = 'ntn_RunSecretValue_0123456789';
    store.set('NOTION_TOKEN', value);
    store.set('API_KEY_2', 'another-value-42');
    expect(store.list().secrets).toEqual([
      { name: 'API_KEY_2', set: true },
      { name: 'NOTION_TOKEN', set: true },
    ]);
    expect(JSON.stringify(store.list())).not.toContain(value);
    expect(keychain.get('run-secret.NOTION_TOKEN')).toBe(value);
    expect(keychain.get(secretAccount('anthropic-api-key'))).toBeNull();
    expect(JSON.stringify(audit)).not.toContain(value);
    expect(audit.map((entry) => entry.summary)).toEqual(['Run secret NOTION_TOKEN was saved to the keychain', 'Run secret API_KEY_2 was saved to the keychain']);
    // Known to the redactor, with its encodings.
    expect(redactor.redact(`a ${value} b ${Buffer.from(`u:${value}`).toString('base64')} c ${encodeURIComponent(value)}`)).not.toMatch(/RunSecretValue|cnVuU2VjcmV0|UnVuU2VjcmV0/);
    expect([...store.readForRun(['NOTION_TOKEN'])]).toEqual([['NOTION_TOKEN', value]]);
    expect(() => store.readForRun(['NOTION_TOKEN', 'NOT_THERE'])).toThrow(/NOT_THERE is not set[\s\S]*Settings → Run secrets; nothing was run/);
    // A new store (a restart) finds the names in the keychain's index.
    const again = new RunSecretStore(keychain, new SecretRedactor());
    expect(again.list().secrets.map((secret) => secret.name)).toEqual(['API_KEY_2', 'NOTION_TOKEN']);
    expect(store.remove('NOTION_TOKEN')).toBe(true);
    store.remove('API_KEY_2');
    expect(store.list().secrets).toEqual([]);
    expect(keychain.get('run-secret.NOTION_TOKEN')).toBeNull();
  });

  it('refuses bad names, names the sandbox uses, and values too short to redact or holding a line break', () => {
    const store = new RunSecretStore(testKeychain(), new SecretRedactor());
    for (const name of ['notion_token', '1TOKEN', 'A-B', '', 'X'.repeat(65)]) expect(() => store.set(name, 'long-enough-value'), name).toThrow(/not a run secret name/);
    for (const name of ['PATH', 'HTTP_PROXY', 'HTTPS_PROXY', 'LD_PRELOAD', 'HOME']) expect(() => store.set(name, 'long-enough-value'), name).toThrow(/reserved/);
    expect(() => store.set('SHORT', 'abc1234')).toThrow(/at least 8 characters/);
    expect(() => store.set('NEWLINE', 'abcdefgh\nijk')).toThrow(/line break/);
    expect(store.list().secrets).toEqual([]);
  });
});
