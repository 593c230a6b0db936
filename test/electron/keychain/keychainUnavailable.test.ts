/**
 * The real OS keychain on a machine where no Secret Service answers: this file points the
 * D-Bus address at nothing before the keychain is first used (each test file runs in its
 * own process), so @napi-rs/keyring fails as it would there.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSophiaCore } from '../../../electron/app/sophiaCore';
import { dispatch } from '../../../electron/ipc/dispatch';
import { OsKeychain } from '../../../electron/keychain/keychain';

beforeAll(() => {
  process.env['DBUS_SESSION_BUS_ADDRESS'] = 'unix:path=/nonexistent/sophia-test-bus';
});

describe('without a keychain', () => {
  it('the OS keychain says it is unavailable, in words', () => {
    const keychain = new OsKeychain(`sophia-test-${process.pid}`);
    expect(keychain.status()).toEqual({ available: false, message: expect.stringContaining('No OS keychain is available') });
    expect(() => keychain.set('x', 'secret-value')).toThrow(expect.objectContaining({ code: 'unavailable' }));
  });

  it('the app says so, refuses to store a secret in clear, and its audit head is unsigned', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sophia-nokeychain-'));
    const core = createSophiaCore({ host: 'browser', dataDir, keychain: new OsKeychain(`sophia-test-${process.pid}`), managedPolicyFile: path.join(dataDir, 'managed.yaml') });
    try {
      const listed = await dispatch(core.handlers, 'secrets.list', {}, { transport: 'test' });
      expect(listed).toMatchObject({ ok: true, value: { keychain: { available: false } } });
      const stored = await dispatch(core.handlers, 'secrets.set', { name: 'github-token', value: 'ghp_must-not-land-anywhere' }, { transport: 'test' });
      expect(stored).toMatchObject({ ok: false, error: { code: 'unavailable', message: expect.stringContaining('never keeps them in clear') } });
      const status = await dispatch(core.handlers, 'safety.status', {}, { transport: 'test' });
      // The UI is told the audit log cannot be signed now (the status bar and the safety panel show it).
      expect(status).toMatchObject({ ok: true, value: { keychain: { available: false }, audit: { signed: false, message: expect.stringContaining('cannot be signed now') } } });
      expect(core.safety.audit.verify()).toMatchObject({ ok: true, headSigned: false });
    } finally {
      await core.close();
    }
  });
});
