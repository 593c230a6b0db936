/**
 * The audit head cannot be switched off by editing audit.db: a removed signature, a start
 * without the keychain, a wiped log and an older copy restored are each caught, and a head
 * that does not verify when the log opens stays a finding. The anchor lives in the real OS
 * keychain (run inside the D-Bus session with gnome-keyring, as CI does).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { AuditLog, keychainAnchorStore, openAuditReadOnly, verifyAuditDatabase, type AuditAnchor, type AuditInput } from '../../../electron/audit/auditLog';
import { testKeychain } from '../keychain/keychainSupport';
import { memoryAnchors } from './support/anchors';

const dir = mkdtempSync(path.join(tmpdir(), 'sophia-audit-head-'));
let n = 0;
const fresh = () => path.join(dir, `log-${(n += 1)}.db`);
const entry = (i: number): AuditInput => ({ kind: 'tool.call', actor: 'agent', summary: `call ${i}`, risk: 'low', data: { i } });

function sql(file: string, statement: string): void {
  const db = new Database(file);
  db.exec(statement);
  db.close();
}

function verifyFile(file: string, key: Buffer | undefined, anchor?: AuditAnchor | null) {
  const db = openAuditReadOnly(file);
  try {
    return verifyAuditDatabase(db, key, anchor);
  } finally {
    db.close();
  }
}

describe('a signed audit head', () => {
  it('fails verification when its signature is removed while the key exists', () => {
    const key = randomBytes(32);
    const file = fresh();
    const log = AuditLog.open(file, { headKey: key });
    for (let i = 0; i < 20; i += 1) log.record(entry(i));
    log.close();
    sql(file, 'UPDATE audit_head SET mac = NULL');
    expect(verifyFile(file, key)).toMatchObject({ ok: false, message: expect.stringContaining('signature was removed') });
    sql(file, 'UPDATE audit_head SET key_id = NULL');
    expect(verifyFile(file, key)).toMatchObject({ ok: false, message: expect.stringContaining('not signed') });
  });

  it('is never overwritten by a start without the keychain, which says the log cannot be signed now', () => {
    const key = randomBytes(32);
    const anchors = memoryAnchors();
    const file = fresh();
    const signed = AuditLog.open(file, { headKey: key, anchor: anchors.store });
    for (let i = 0; i < 10; i += 1) signed.record(entry(i));
    signed.close();
    const before = new Database(file).prepare('SELECT seq, hash, mac, key_id FROM audit_head').get();

    const unsigned = AuditLog.open(file, { keyProblem: 'no Secret Service on the bus' });
    expect(unsigned.signing).toEqual({ signed: false, message: expect.stringContaining('cannot be signed now') });
    for (let i = 10; i < 15; i += 1) unsigned.record(entry(i));
    unsigned.close();
    expect(new Database(file).prepare('SELECT seq, hash, mac, key_id FROM audit_head').get()).toEqual(before);
    expect(anchors.current()?.seq).toBe(10);

    // With the key, the unsigned entries are named: they come after the signed head.
    expect(verifyFile(file, key, anchors.current())).toMatchObject({ ok: false, message: expect.stringMatching(/entries 11 to 16 come after the signed head/) });
    // And the next start with the keychain records it instead of signing over it; verify keeps saying so.
    const back = AuditLog.open(file, { headKey: key, anchor: anchors.store });
    expect(back.query({ kind: 'audit', limit: 1 })[0]).toMatchObject({ seq: 17, summary: expect.stringContaining('come after the signed head') });
    back.record(entry(99));
    expect(back.verify()).toMatchObject({ ok: false, firstBad: { seq: 17 }, message: expect.stringContaining('Entry 17 records') });
    back.close();
  });

  it('records, when the log opens, a head whose signature was removed, and verify keeps failing after later signed appends', () => {
    const key = randomBytes(32);
    const anchors = memoryAnchors();
    const file = fresh();
    const log = AuditLog.open(file, { headKey: key, anchor: anchors.store });
    for (let i = 0; i < 5; i += 1) log.record(entry(i));
    log.close();
    sql(file, 'UPDATE audit_head SET mac = NULL, key_id = NULL');
    const reopened = AuditLog.open(file, { headKey: key, anchor: anchors.store });
    expect(reopened.query({ kind: 'audit', limit: 1 })[0]).toMatchObject({ seq: 6, summary: expect.stringContaining('though this log has had a signed head') });
    reopened.record(entry(7));
    expect(reopened.verify()).toMatchObject({ ok: false, firstBad: { seq: 6 } });
    reopened.close();
  });
});

describe('the anchor in the keychain', () => {
  it('catches a wiped log (every entry and the head deleted)', () => {
    const keychain = testKeychain();
    const key = randomBytes(32);
    const file = fresh();
    const log = AuditLog.open(file, { headKey: key, anchor: keychainAnchorStore(keychain, file) });
    for (let i = 0; i < 30; i += 1) log.record(entry(i));
    log.close();
    sql(file, 'DELETE FROM audit_entries; DELETE FROM audit_head;');
    const anchor = keychainAnchorStore(keychain, file).read();
    expect(anchor?.seq).toBe(30);
    expect(verifyFile(file, key, anchor)).toMatchObject({ ok: false, message: expect.stringContaining('held 30 entries, but it holds 0') });
    // Opened again, the app records it rather than starting a fresh, "ok" log.
    const reopened = AuditLog.open(file, { headKey: key, anchor: keychainAnchorStore(keychain, file) });
    expect(reopened.verify().ok).toBe(false);
    reopened.close();
  });

  it('catches an older copy restored over the log', () => {
    const keychain = testKeychain();
    const key = randomBytes(32);
    const file = fresh();
    const copy = `${file}.old`;
    const log = AuditLog.open(file, { headKey: key, anchor: keychainAnchorStore(keychain, file) });
    for (let i = 0; i < 10; i += 1) log.record(entry(i));
    log.close();
    copyFileSync(file, copy);
    const more = AuditLog.open(file, { headKey: key, anchor: keychainAnchorStore(keychain, file) });
    for (let i = 10; i < 20; i += 1) more.record(entry(i));
    more.close();
    copyFileSync(copy, file);
    expect(verifyFile(file, key, keychainAnchorStore(keychain, file).read())).toMatchObject({ ok: false, message: expect.stringContaining('an older copy was restored') });
  });

  it('is written when the log opens, at close, and at most once per interval while it grows: never once per append', () => {
    const key = randomBytes(32);
    const anchors = memoryAnchors();
    const log = AuditLog.open(fresh(), { headKey: key, anchor: anchors.store, anchorIntervalMs: 60_000 });
    expect(anchors.writes).toHaveLength(1);
    for (let i = 0; i < 1000; i += 1) log.record(entry(i));
    expect(anchors.writes).toHaveLength(1);
    log.close();
    expect(anchors.writes).toEqual([{ seq: 0, hash: expect.any(String) }, { seq: 1000, hash: expect.any(String) }]);
  });

  it('is moved by the timer while the log grows', async () => {
    const key = randomBytes(32);
    const anchors = memoryAnchors();
    const log = AuditLog.open(fresh(), { headKey: key, anchor: anchors.store, anchorIntervalMs: 20 });
    for (let i = 0; i < 5; i += 1) log.record(entry(i));
    for (let waited = 0; anchors.current()?.seq !== 5 && waited < 100; waited += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(anchors.current()?.seq).toBe(5);
    log.close();
  });
});
