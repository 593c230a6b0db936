/** Against the real Secret Service (gnome-keyring in a D-Bus session), as CI runs it. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditInput } from '../../../electron/audit/auditLog';
import { OsKeychain } from '../../../electron/keychain/keychain';
import { SecretRedactor } from '../../../electron/keychain/redactor';
import { SecretStore } from '../../../electron/safety/secretStore';
import { secretNames } from '../../../shared/contract';
import { MissingKeychain, testKeychain } from './keychainSupport';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('the OS keychain', () => {
  it('stores, reads and removes a value in the Secret Service', () => {
    const keychain = testKeychain();
    cleanups.push(() => keychain.remove('token'));
    expect(keychain.get('token')).toBeNull();
    keychain.set('token', 'ghp_example-value-1');
    expect(keychain.get('token')).toBe('ghp_example-value-1');
    // Another handle on the same service sees it: it is in the store, not in this object.
    expect(new OsKeychain(keychain.service).get('token')).toBe('ghp_example-value-1');
    expect(keychain.remove('token')).toBe(true);
    expect(keychain.get('token')).toBeNull();
    expect(keychain.remove('token')).toBe(false);
  });
});

describe('the secret store', () => {
  it('lists names and whether each is set, never a value, and audits names only', () => {
    const keychain = testKeychain();
    const audit: AuditInput[] = [];
    const redactor = new SecretRedactor();
    const store = new SecretStore(keychain, redactor, { record: (entry) => audit.push(entry) });
    cleanups.push(() => {
      for (const name of secretNames) store.remove(name);
    });
    const value = 'sk-ant-api03-canary-0123456789abcdef';
    store.set('anthropic-api-key', value);
    const listed = store.list();
    expect(listed.keychain.available).toBe(true);
    expect(listed.secrets.find((secret) => secret.name === 'anthropic-api-key')).toEqual({ name: 'anthropic-api-key', label: 'Anthropic API key', set: true });
    expect(listed.secrets.filter((secret) => secret.set)).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(value);
    expect(JSON.stringify(audit)).not.toContain(value);
    expect(audit.map((entry) => entry.summary)).toEqual(['Anthropic API key was saved to the keychain']);
    expect(store.get('anthropic-api-key')).toBe(value);
    expect(redactor.redact(`key=${value}`)).toBe('key=[redacted:anthropic-api-key]');

    // A fresh store finds stored values at startup and redacts them from the first line.
    const restarted = new SecretRedactor();
    new SecretStore(keychain, restarted).loadIntoRedactor();
    expect(restarted.redact(value)).toBe('[redacted:anthropic-api-key]');

    store.remove('anthropic-api-key');
    expect(store.list().secrets.every((secret) => !secret.set)).toBe(true);
    expect(store.get('anthropic-api-key')).toBeUndefined();
  });

  it('refuses to store a secret without a keychain, says so, and writes it nowhere', () => {
    const keychain = new MissingKeychain();
    const redactor = new SecretRedactor();
    const store = new SecretStore(keychain, redactor);
    const listed = store.list();
    expect(listed.keychain).toEqual({ available: false, message: expect.stringContaining('will not store credentials') });
    expect(listed.secrets.every((secret) => !secret.set)).toBe(true);
    expect(() => store.set('github-token', 'ghp_never-stored')).toThrow(expect.objectContaining({ code: 'unavailable', message: expect.stringContaining('never keeps them in clear') }));
    expect(keychain.writes).toEqual([]);
    expect(() => store.remove('github-token')).toThrow(expect.objectContaining({ code: 'unavailable' }));
  });
});

describe('the redactor', () => {
  it('cuts known values, their JSON-escaped form, and common token shapes', () => {
    const redactor = new SecretRedactor();
    redactor.add('snowflake-password', 'pa"ss\\word!');
    expect(redactor.redact('password pa"ss\\word! here')).toBe('password [redacted:snowflake-password] here');
    expect(redactor.redactDeep({ nested: ['pa"ss\\word!'] })).toEqual({ nested: ['[redacted:snowflake-password]'] });
    expect(redactor.redact('token ghp_0123456789abcdefghijklmnopqrstuvwxyz12')).toBe('token [redacted]');
    expect(redactor.redact('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----')).toBe('[redacted]');
    redactor.add('github-token', 'abc'); // too short to redact without mangling ordinary text
    expect(redactor.redact('abc')).toBe('abc');
  });
});
