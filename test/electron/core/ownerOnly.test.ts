/**
 * The data folder, `sophia.db` and `audit.db` hold conversations, tool output and the audit
 * trail: owner-only, also when they already exist with looser modes (an older build, a copy).
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import { MissingKeychain } from '../keychain/keychainSupport';

const modeOf = (file: string): number => statSync(file).mode & 0o777;

describe.skipIf(process.platform === 'win32')('owner-only data', () => {
  let core: SophiaCore | undefined;
  afterEach(async () => {
    await core?.close();
    core = undefined;
  });

  it('creates the data folder 0700 and both databases (and their WAL files) 0600', async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-modes-')), 'data');
    core = createSophiaCore({ host: 'browser', dataDir, keychain: new MissingKeychain(), managedPolicyFile: path.join(dataDir, 'none.yaml') });
    core.safety.audit.record({ kind: 'audit', actor: 'test', summary: 'one entry' });
    expect(modeOf(dataDir)).toBe(0o700);
    for (const file of ['sophia.db', 'audit.db', 'audit.db-wal', 'sophia.db-wal']) expect(modeOf(path.join(dataDir, file)), file).toBe(0o600);
  });

  it('tightens a folder and databases that already exist with world-readable modes', async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-modes-')), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    for (const file of ['sophia.db', 'audit.db', 'audit.db-wal']) {
      writeFileSync(path.join(dataDir, file), '');
      chmodSync(path.join(dataDir, file), 0o644);
    }
    core = createSophiaCore({ host: 'browser', dataDir, keychain: new MissingKeychain(), managedPolicyFile: path.join(dataDir, 'none.yaml') });
    expect(modeOf(dataDir)).toBe(0o700);
    for (const file of ['sophia.db', 'audit.db', 'audit.db-wal']) expect(modeOf(path.join(dataDir, file)), file).toBe(0o600);
  });
});
