import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditMigrations, AuditLog, entryHash, genesisHash, headMac, keyId, openAuditReadOnly, verifyAuditDatabase, type AuditInput } from '../../../electron/audit/auditLog';
import { memoryAnchors } from './support/anchors';
import { migrate, schemaVersion } from '../../../electron/db/sqlite';
import { auditKinds, riskLevels } from '../../../shared/contract';

const dir = mkdtempSync(path.join(tmpdir(), 'sophia-audit-'));
const key = randomBytes(32);
let n = 0;
const fresh = (name = `log-${(n += 1)}.db`) => path.join(dir, name);

function entry(i: number): AuditInput {
  return {
    kind: auditKinds[i % auditKinds.length]!,
    conversationId: i % 3 === 0 ? null : `conv-${i % 7}`,
    risk: i % 4 === 0 ? null : riskLevels[i % riskLevels.length]!,
    actor: i % 2 ? 'user' : 'policy',
    summary: `entry ${i}`,
    data: { i, tool: 'run_command', input: { command: `echo ${i}` } },
  };
}

describe('audit migrations', () => {
  it('1 creates the chained entries with their indexes', () => {
    const db = new Database(fresh());
    migrate(db, auditMigrations.slice(0, 1));
    expect(schemaVersion(db)).toBe(1);
    const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('audit_entries')").all().map((c) => c.name);
    expect(columns).toEqual(['seq', 'at', 'kind', 'conversation_id', 'risk', 'actor', 'summary', 'data', 'prev_hash', 'hash']);
    const indexes = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries'").all().map((i) => i.name);
    expect(indexes.sort()).toEqual(['audit_by_conversation', 'audit_by_kind']);
    db.close();
  });

  it('2 adds the signed head to a version-1 database that already holds entries', () => {
    const file = fresh();
    const db = new Database(file);
    migrate(db, auditMigrations.slice(0, 1));
    const hash = entryHash(genesisHash, 1, 5, 'stop', null, null, 'user', 'old', '{}');
    db.prepare("INSERT INTO audit_entries VALUES (1, 5, 'stop', NULL, NULL, 'user', 'old', '{}', ?, ?)").run(genesisHash, hash);
    db.close();
    // Opening migrates to 2. The keychain holds no anchor for it (it was never signed), so
    // signing starts here, and the chain says from where.
    const anchors = memoryAnchors();
    const log = AuditLog.open(file, { headKey: key, anchor: anchors.store });
    expect(log.length).toBe(2);
    expect(log.query({ kind: 'audit' })[0]?.summary).toMatch(/signed from here on; entries 1 to 1 were written without a key/);
    expect(log.verify()).toMatchObject({ ok: true, entries: 2, headSigned: true });
    expect(anchors.writes).toEqual([{ seq: 2, hash: expect.any(String) }]);
    log.close();
  });
});

describe('audit migration 3', () => {
  it('moves the filter indexes off the chain into a lookup filled from the entries, and queries see every entry', () => {
    const file = fresh();
    const db = new Database(file);
    migrate(db, auditMigrations.slice(0, 2));
    const hash = entryHash(genesisHash, 1, 5, 'stop', null, null, 'user', 'old', '{}');
    db.prepare("INSERT INTO audit_entries VALUES (1, 5, 'stop', 'conv-a', NULL, 'user', 'old', '{}', ?, ?)").run(genesisHash, hash);
    migrate(db, auditMigrations);
    const indexes = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries'").all();
    expect(indexes).toEqual([]);
    expect(db.prepare('SELECT seq, kind, conversation_id FROM audit_lookup').all()).toEqual([{ seq: 1, kind: 'stop', conversation_id: 'conv-a' }]);
    db.close();
    const log = AuditLog.open(fresh(), { headKey: key });
    log.record({ ...entry(1), conversationId: 'conv-b', kind: 'approval' });
    // Not yet in the lookup (that is filled in batches), yet the query sees it.
    expect(log.query({ conversationId: 'conv-b', kind: 'approval' })).toHaveLength(1);
    log.close();
  });
});

describe('the audit log', () => {
  it('appends, queries by conversation, kind and risk, newest first, and redacts', () => {
    const log = AuditLog.open(fresh(), { headKey: key, redact: (text) => text.replaceAll('hunter2', '[redacted]') });
    log.record({ kind: 'secret', actor: 'user', summary: 'saved hunter2', data: { value: 'hunter2' } });
    for (let i = 0; i < 30; i += 1) log.record(entry(i));
    expect(log.query({ kind: 'secret', beforeSeq: 2 })[0]).toMatchObject({ seq: 1, summary: 'saved [redacted]', data: '{"value":"[redacted]"}' });
    const conv = log.query({ conversationId: 'conv-1' });
    expect(conv.length).toBeGreaterThan(0);
    expect(conv.every((row) => row.conversationId === 'conv-1')).toBe(true);
    expect(log.query({ risk: 'high', kind: 'approval' }).every((row) => row.risk === 'high' && row.kind === 'approval')).toBe(true);
    const page = log.query({ limit: 5 });
    expect(page.map((row) => row.seq)).toEqual([31, 30, 29, 28, 27]);
    expect(log.query({ beforeSeq: 27, limit: 2 }).map((row) => row.seq)).toEqual([26, 25]);
    log.close();
  });

  it('exports JSON Lines that carry both hashes', async () => {
    const log = AuditLog.open(fresh(), { headKey: key });
    log.recordMany([entry(1), entry(2), entry(3)]);
    const out = path.join(dir, 'export.jsonl');
    expect(await log.exportJsonLines(out)).toBe(3);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line['seq'])).toEqual([1, 2, 3]);
    expect(lines[1]).toMatchObject({ prevHash: lines[0]?.['hash'], data: { i: 2 } });
    log.close();
  });

  it('says plainly when the head is not signed (no keychain key)', () => {
    const log = AuditLog.open(fresh());
    log.record(entry(1));
    expect(log.verify()).toMatchObject({ ok: true, headSigned: false, message: expect.stringContaining('not signed') });
    log.close();
  });
});

describe('tampering with 10,000 entries', () => {
  const base = fresh('ten-thousand.db');
  beforeAll(() => {
    const log = AuditLog.open(base, { headKey: key });
    const batch: AuditInput[] = [];
    for (let i = 0; i < 10_000; i += 1) batch.push(entry(i));
    log.recordMany(batch.slice(0, 5000));
    for (const one of batch.slice(5000, 5100)) log.record(one);
    log.recordMany(batch.slice(5100));
    expect(log.verify()).toMatchObject({ ok: true, entries: 10_000 });
    log.close();
  });

  /** A copy of the intact log, changed behind Sophia's back with plain SQL. */
  function tampered(change: (db: Database.Database) => void) {
    const file = fresh();
    copyFileSync(base, file);
    const db = new Database(file);
    change(db);
    db.close();
    const readOnly = openAuditReadOnly(file);
    try {
      return verifyAuditDatabase(readOnly, key);
    } finally {
      readOnly.close();
    }
  }

  const seqArbitrary = fc.integer({ min: 1, max: 10_000 });

  it('catches an edit of any one row and names it', () => {
    fc.assert(
      fc.property(seqArbitrary, fc.constantFrom('summary', 'data', 'risk', 'actor', 'kind', 'at', 'conversation_id'), (seq, column) => {
        const value = column === 'at' ? 1 : column === 'risk' ? 'read-only' : column === 'kind' ? 'resume' : 'edited';
        const result = tampered((db) => db.prepare(`UPDATE audit_entries SET ${column} = ? WHERE seq = ?`).run(value, seq));
        // Some edits write what was already there (a risk that was read-only): nothing changed, nothing to catch.
        if (result.ok) return;
        expect(result.firstBad?.seq).toBe(seq);
      }),
      { numRuns: 25 },
    );
    expect(tampered((db) => db.prepare("UPDATE audit_entries SET summary = 'nothing happened' WHERE seq = 1").run())).toMatchObject({ ok: false, firstBad: { seq: 1, reason: expect.stringContaining('edited') } });
    expect(tampered((db) => db.prepare("UPDATE audit_entries SET summary = 'x' WHERE seq = 10000").run()).firstBad?.seq).toBe(10_000);
  });

  it('catches the deletion of any one row and names the gap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999 }), (seq) => {
        const result = tampered((db) => db.prepare('DELETE FROM audit_entries WHERE seq = ?').run(seq));
        expect(result).toMatchObject({ ok: false, firstBad: { seq, reason: expect.stringContaining('missing') } });
      }),
      { numRuns: 20 },
    );
  });

  it('catches a swap of any two rows, renumbered or not', () => {
    fc.assert(
      fc.property(seqArbitrary, seqArbitrary, (a, b) => {
        fc.pre(a !== b);
        const first = Math.min(a, b);
        // Exchange the content, keep the numbers: the order of events is rewritten.
        const result = tampered((db) => {
          db.prepare('UPDATE audit_entries SET seq = -1 WHERE seq = ?').run(a);
          db.prepare('UPDATE audit_entries SET seq = ? WHERE seq = ?').run(a, b);
          db.prepare('UPDATE audit_entries SET seq = ? WHERE seq = -1').run(b);
        });
        expect(result).toMatchObject({ ok: false, firstBad: { seq: first } });
      }),
      { numRuns: 20 },
    );
  });

  it('catches a tail cut off, which the chain alone cannot see', () => {
    const result = tampered((db) => db.prepare('DELETE FROM audit_entries WHERE seq > 9000').run());
    expect(result).toMatchObject({ ok: false, entries: 9000, firstBad: { seq: 9001, reason: expect.stringContaining('cut off') } });
  });

  it('catches a tail cut off with the head moved back, and a whole chain rebuilt, without the key', () => {
    const cut = tampered((db) => {
      db.prepare('DELETE FROM audit_entries WHERE seq > 9000').run();
      const last = db.prepare<[], { hash: string }>('SELECT hash FROM audit_entries WHERE seq = 9000').get()!;
      const forger = randomBytes(32);
      db.prepare('UPDATE audit_head SET seq = 9000, hash = ?, mac = ?, key_id = ?').run(last.hash, headMac(forger, 9000, last.hash), keyId(forger));
    });
    expect(cut).toMatchObject({ ok: false, firstBad: { reason: expect.stringContaining('different key') } });

    const rebuilt = tampered((db) => {
      // A consistent chain of one innocent entry, head rehashed, signature kept: the MAC gives it away.
      db.prepare('DELETE FROM audit_entries').run();
      const hash = entryHash(genesisHash, 1, 1, 'resume', null, null, 'user', 'nothing to see', '{}');
      db.prepare("INSERT INTO audit_entries VALUES (1, 1, 'resume', NULL, NULL, 'user', 'nothing to see', '{}', ?, ?)").run(genesisHash, hash);
      db.prepare('UPDATE audit_head SET seq = 1, hash = ?').run(hash);
    });
    expect(rebuilt).toMatchObject({ ok: false, firstBad: { reason: expect.stringContaining('signature does not match') } });
  });

  it('records at startup that the head did not verify, so the evidence stays in the log', () => {
    const file = fresh();
    copyFileSync(base, file);
    const db = new Database(file);
    db.prepare('DELETE FROM audit_entries WHERE seq > 9990').run();
    db.close();
    const log = AuditLog.open(file, { headKey: key });
    const [finding] = log.query({ kind: 'audit', limit: 1 });
    expect(finding).toMatchObject({ seq: 9991, summary: expect.stringContaining('cut off') });
    log.close();
  });
});
