/**
 * `npm run audit:verify` as built (out/main/auditVerify.js), against a real log signed with
 * the key in the real keychain (run inside the D-Bus session with gnome-keyring, as CI does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAuditHeadKey } from '../../../electron/audit/auditKey';
import { AuditLog, keychainAnchorStore } from '../../../electron/audit/auditLog';
import { OsKeychain } from '../../../electron/keychain/keychain';

const root = path.resolve(import.meta.dirname, '../../..');
const cli = path.join(root, 'out/main/auditVerify.js');
const dir = mkdtempSync(path.join(tmpdir(), 'sophia-audit-cli-'));
const file = path.join(dir, 'audit.db');

const run = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [cli, ...args], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });

beforeAll(() => {
  if (!existsSync(cli)) throw new Error('out/main/auditVerify.js is missing: run `npm run build` first (npm test does).');
  const { key, problem } = loadAuditHeadKey(new OsKeychain(), { create: true });
  if (!key) throw new Error(`The keychain tests need a Secret Service (run inside dbus-run-session with gnome-keyring): ${problem}`);
  const log = AuditLog.open(file, { headKey: key });
  for (let i = 0; i < 200; i += 1) log.record({ kind: 'tool.call', actor: 'agent', summary: `call ${i}`, risk: 'low' });
  log.close();
});

describe('npm run audit:verify', () => {
  it('verifies an intact log with the key from the keychain, and exports JSON Lines', () => {
    const out = path.join(dir, 'export.jsonl');
    const result = run(['--db', file, '--export', out]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('All 200 entries verify, and the signed head matches.');
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(200);
  });

  it('names the first bad entry and fails', () => {
    const copy = path.join(dir, 'edited.db');
    const db = new Database(file);
    db.exec(`VACUUM INTO '${copy}'`);
    db.close();
    const edited = new Database(copy);
    edited.prepare("UPDATE audit_entries SET summary = 'harmless' WHERE seq = 77").run();
    edited.close();
    const result = run(['--db', copy]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('damaged at entry 77');
  });

  it('says when the head could not be checked because no keychain answers', () => {
    const result = run(['--db', file], { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
    expect(result.status).toBe(3);
    expect(result.stdout).toContain('could not be read');
  });

  it('says when there is no log, and explains its usage', () => {
    expect(run(['--db', path.join(dir, 'none.db')]).status).toBe(2);
    expect(run(['--bogus']).stdout).toContain('usage');
  });

  it('fails, and names it, when a log that had a signed head has its signature removed, or is wiped', () => {
    const { key } = loadAuditHeadKey(new OsKeychain(), { create: true });
    // As the app opens it: with the anchor in the keychain beside the key.
    const anchored = path.join(dir, 'anchored.db');
    const log = AuditLog.open(anchored, { headKey: key, anchor: keychainAnchorStore(new OsKeychain(), anchored) });
    for (let i = 0; i < 50; i += 1) log.record({ kind: 'tool.call', actor: 'agent', summary: `call ${i}`, risk: 'low' });
    log.close();
    expect(run(['--db', anchored]).status).toBe(0);

    const edit = (statement: string): void => {
      const db = new Database(anchored);
      db.exec(statement);
      db.close();
    };
    edit('UPDATE audit_head SET mac = NULL, key_id = NULL');
    const unsigned = run(['--db', anchored]);
    expect(unsigned.status, unsigned.stdout).toBe(1);
    expect(unsigned.stdout).toContain('the head is not signed, though this log has had a signed head');

    edit('DELETE FROM audit_entries; DELETE FROM audit_head;');
    const wiped = run(['--db', anchored]);
    expect(wiped.status, wiped.stdout).toBe(1);
    expect(wiped.stdout).toContain("the keychain's anchor says the log held 50 entries, but it holds 0");
  });
});
