/**
 * The audit log: one SQLite database (its own file, WAL) of everything that happened, as a
 * hash chain. Each entry carries the hash of the one before, so an edited, removed or
 * reordered entry breaks the chain at that entry. A chain alone cannot see its tail cut off
 * or the whole chain rebuilt, so the log also keeps a signed head: an HMAC of the latest
 * entry's number and hash, under a key held in the OS keychain, updated in the same
 * transaction as each append. An append returns only after its transaction committed, so an
 * acknowledged entry survives the process being killed.
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { AuditEntryView, AuditKind, AuditVerifyResult, RiskLevel } from '../../shared/contract';
import { limits } from '../../shared/contract';
import { openDatabase, type Migration, type SqliteDatabase } from '../db/sqlite';
import { createLogger } from '../log';

const log = createLogger('auditLog');

export interface AuditInput {
  readonly kind: AuditKind;
  readonly conversationId?: string | null;
  readonly risk?: RiskLevel | null;
  /** Who acted or decided: user, policy, agent, model, system, a role, … */
  readonly actor: string;
  readonly summary: string;
  /** Details as JSON. Secrets are redacted before anything is stored. */
  readonly data?: unknown;
}

/** What the rest of the app needs: somewhere to write. */
export interface AuditSink {
  record(entry: AuditInput): void;
}

export interface AuditRecord {
  readonly seq: number;
  readonly hash: string;
}

export const genesisHash = '0'.repeat(64);
const headLabel = 'sophia-audit-head:v1';
const maxSummary = 2000;
const maxData = limits.outputChunk;

export const auditMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'audit entries as a hash chain',
    up: (db) => {
      db.exec(`
        CREATE TABLE audit_entries (
          seq INTEGER PRIMARY KEY,
          at INTEGER NOT NULL,
          kind TEXT NOT NULL,
          conversation_id TEXT,
          risk TEXT,
          actor TEXT NOT NULL,
          summary TEXT NOT NULL,
          data TEXT NOT NULL,
          prev_hash TEXT NOT NULL,
          hash TEXT NOT NULL
        );
        CREATE INDEX audit_by_conversation ON audit_entries (conversation_id, seq);
        CREATE INDEX audit_by_kind ON audit_entries (kind, seq);
      `);
    },
  },
  {
    version: 2,
    name: 'signed head of the chain',
    up: (db) => {
      db.exec(`
        CREATE TABLE audit_head (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          seq INTEGER NOT NULL,
          hash TEXT NOT NULL,
          mac TEXT,
          key_id TEXT
        );
      `);
    },
  },
];

/** The canonical bytes an entry's hash covers: every stored field, and the hash before it. */
export function entryHash(
  prevHash: string,
  seq: number,
  at: number,
  kind: string,
  conversationId: string | null,
  risk: string | null,
  actor: string,
  summary: string,
  data: string,
): string {
  return createHash('sha256')
    .update(prevHash)
    .update(JSON.stringify([seq, at, kind, conversationId, risk, actor, summary, data]))
    .digest('hex');
}

export function headMac(key: Buffer | KeyObject, seq: number, hash: string): string {
  // A KeyObject made once: turning a Buffer into a key on each call costs more than the HMAC.
  return createHmac('sha256', key).update(`${headLabel}:${seq}:${hash}`).digest('hex');
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update('sophia-audit-key-id').update(key).digest('hex').slice(0, 16);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 20)}… [${text.length - max + 20} more]`;
}

export interface AuditLogOptions {
  /** The key that signs the head; none means an unsigned head (no keychain), which verify reports. */
  readonly headKey?: Buffer | undefined;
  /** Applied to the summary and the data before they are stored. */
  readonly redact?: (text: string) => string;
  readonly now?: () => number;
}

export interface AuditFilter {
  readonly conversationId?: string | undefined;
  readonly kind?: AuditKind | undefined;
  readonly risk?: RiskLevel | undefined;
  readonly beforeSeq?: number | undefined;
  readonly limit?: number | undefined;
}

type Row = {
  seq: number;
  at: number;
  kind: AuditKind;
  conversation_id: string | null;
  risk: RiskLevel | null;
  actor: string;
  summary: string;
  data: string;
  prev_hash: string;
  hash: string;
};

export class AuditLog implements AuditSink {
  readonly #db: SqliteDatabase;
  readonly #key: Buffer | undefined;
  readonly #macKey: KeyObject | undefined;
  readonly #keyId: string | null;
  readonly #redact: (text: string) => string;
  readonly #now: () => number;
  readonly #insert;
  readonly #setHead;
  #seq: number;
  #hash: string;
  readonly #appendMany: (entries: readonly AuditInput[]) => AuditRecord[];

  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    return new AuditLog(openDatabase(file, { migrations: auditMigrations }), options);
  }

  private constructor(db: SqliteDatabase, options: AuditLogOptions) {
    this.#db = db;
    this.#key = options.headKey;
    this.#macKey = options.headKey ? createSecretKey(options.headKey) : undefined;
    this.#keyId = options.headKey ? keyId(options.headKey) : null;
    this.#redact = options.redact ?? ((text) => text);
    this.#now = options.now ?? Date.now;
    this.#insert = db.prepare(
      'INSERT INTO audit_entries (seq, at, kind, conversation_id, risk, actor, summary, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#setHead = db.prepare(
      'INSERT INTO audit_head (id, seq, hash, mac, key_id) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, mac = excluded.mac, key_id = excluded.key_id',
    );
    const last = db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1').get();
    this.#seq = last?.seq ?? 0;
    this.#hash = last?.hash ?? genesisHash;
    this.#appendMany = db.transaction((entries: readonly AuditInput[]) => {
      const records: AuditRecord[] = [];
      let seq = this.#seq;
      let hash = this.#hash;
      for (const entry of entries) {
        seq += 1;
        const at = this.#now();
        const conversationId = entry.conversationId ?? null;
        const risk = entry.risk ?? null;
        const actor = clip(entry.actor, limits.label);
        const summary = clip(this.#redact(entry.summary), maxSummary);
        const data = clip(this.#redact(entry.data === undefined ? '{}' : JSON.stringify(entry.data) ?? 'null'), maxData);
        const prev = hash;
        hash = entryHash(prev, seq, at, entry.kind, conversationId, risk, actor, summary, data);
        this.#insert.run(seq, at, entry.kind, conversationId, risk, actor, summary, data, prev, hash);
        records.push({ seq, hash });
      }
      const mac = this.#macKey ? headMac(this.#macKey, seq, hash) : null;
      this.#setHead.run(seq, hash, mac, this.#keyId);
      return records;
    });
    this.#checkHeadAtOpen();
  }

  /** Appends one entry; returns once it is committed. */
  record(entry: AuditInput): AuditRecord {
    return this.recordMany([entry])[0]!;
  }

  /** Appends entries in one transaction (one head update); returns once they are committed. */
  recordMany(entries: readonly AuditInput[]): AuditRecord[] {
    if (entries.length === 0) return [];
    const previous = { seq: this.#seq, hash: this.#hash };
    try {
      const records = this.#appendMany(entries);
      const last = records.at(-1)!;
      this.#seq = last.seq;
      this.#hash = last.hash;
      return records;
    } catch (error) {
      this.#seq = previous.seq;
      this.#hash = previous.hash;
      log.error('audit append failed', { error });
      throw error;
    }
  }

  get length(): number {
    return this.#seq;
  }

  get signed(): boolean {
    return this.#key !== undefined;
  }

  query(filter: AuditFilter = {}): AuditEntryView[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.conversationId !== undefined) {
      where.push('conversation_id = ?');
      params.push(filter.conversationId);
    }
    if (filter.kind !== undefined) {
      where.push('kind = ?');
      params.push(filter.kind);
    }
    if (filter.risk !== undefined) {
      where.push('risk = ?');
      params.push(filter.risk);
    }
    if (filter.beforeSeq !== undefined) {
      where.push('seq < ?');
      params.push(filter.beforeSeq);
    }
    const limit = Math.max(1, Math.min(filter.limit ?? 100, 500));
    const sql = `SELECT * FROM audit_entries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${limit}`;
    return this.#db.prepare<unknown[], Row>(sql).all(...params).map(toView);
  }

  verify(): AuditVerifyResult {
    return verifyAuditDatabase(this.#db, this.#key);
  }

  async exportJsonLines(file: string): Promise<number> {
    return exportAuditJsonLines(this.#db, file);
  }

  close(): void {
    this.#db.close();
  }

  /**
   * A head that does not match at startup means the file was changed while Sophia was not
   * running. Appending would sign over the damage, so the finding is written into the
   * chain first: the evidence stays in the log.
   */
  #checkHeadAtOpen(): void {
    const problem = checkHead(this.#db, this.#key, this.#seq, this.#hash);
    if (problem === undefined) return;
    log.error('audit head did not verify at startup', { problem });
    this.record({ kind: 'audit', actor: 'system', summary: `The audit log's head did not verify when Sophia started: ${problem}`, data: { problem } });
  }
}

function toView(row: Row): AuditEntryView {
  return {
    seq: row.seq,
    at: row.at,
    kind: row.kind,
    conversationId: row.conversation_id,
    risk: row.risk,
    actor: row.actor,
    summary: row.summary,
    data: row.data,
    hash: row.hash,
  };
}

type HeadRow = { seq: number; hash: string; mac: string | null; key_id: string | null };

function readHead(db: SqliteDatabase): HeadRow | undefined {
  return db.prepare<[], HeadRow>('SELECT seq, hash, mac, key_id FROM audit_head WHERE id = 1').get();
}

/** Why the head does not vouch for the last entry, or undefined when it does. */
function checkHead(db: SqliteDatabase, key: Buffer | undefined, lastSeq: number, lastHash: string): string | undefined {
  const head = readHead(db);
  if (!head) return lastSeq === 0 ? undefined : 'the signed head is missing';
  if (head.seq !== lastSeq) {
    return head.seq > lastSeq
      ? `the head names entry ${head.seq} but the log ends at ${lastSeq}: entries were cut off`
      : `the log goes on past the head (entry ${head.seq}): entries were added outside Sophia`;
  }
  if (head.hash !== lastHash) return `the head's hash does not match entry ${lastSeq}`;
  if (key === undefined || head.mac === null) return undefined;
  if (head.key_id !== keyId(key)) return 'the head was signed with a different key than the one in the keychain';
  const expected = Buffer.from(headMac(key, head.seq, head.hash), 'hex');
  const given = Buffer.from(head.mac, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'the head signature does not match: the log was rebuilt';
  return undefined;
}

/**
 * Walks the whole chain in order. Names the first entry that is missing, out of order,
 * edited, or does not follow from the one before, then checks the signed head.
 */
export function verifyAuditDatabase(db: SqliteDatabase, key: Buffer | undefined): AuditVerifyResult {
  const rows = db
    .prepare<[], [number, number, string, string | null, string | null, string, string, string, string, string]>(
      'SELECT seq, at, kind, conversation_id, risk, actor, summary, data, prev_hash, hash FROM audit_entries ORDER BY seq',
    )
    .raw(true);
  let expectedSeq = 1;
  let previous = genesisHash;
  let count = 0;
  const bad = (seq: number, reason: string): AuditVerifyResult => ({
    ok: false,
    entries: count,
    headSigned: key !== undefined,
    firstBad: { seq, reason },
    message: `The audit log is damaged at entry ${seq}: ${reason}`,
  });
  for (const [seq, at, kind, conversationId, risk, actor, summary, data, prevHash, hash] of rows.iterate()) {
    if (seq !== expectedSeq) {
      return seq > expectedSeq ? bad(expectedSeq, `entry ${expectedSeq} is missing (the next is ${seq})`) : bad(seq, 'entry out of order');
    }
    if (prevHash !== previous) return bad(seq, 'it does not follow from the entry before (removed, reordered or replaced)');
    if (entryHash(previous, seq, at, kind, conversationId, risk, actor, summary, data) !== hash) {
      return bad(seq, 'its content was edited');
    }
    previous = hash;
    expectedSeq += 1;
    count += 1;
  }
  const headProblem = checkHead(db, key, count, previous);
  if (headProblem !== undefined) {
    return { ok: false, entries: count, headSigned: key !== undefined, firstBad: { seq: count + 1, reason: headProblem }, message: `The audit log's head does not verify: ${headProblem}` };
  }
  const head = readHead(db);
  const signed = key !== undefined && (head?.mac ?? null) !== null;
  return {
    ok: true,
    entries: count,
    headSigned: signed || count === 0,
    message: signed || count === 0
      ? `All ${count} entries verify, and the signed head matches.`
      : `All ${count} entries verify, but the head is not signed (no keychain key), so a cut-off tail or a rebuilt log cannot be detected.`,
  };
}

/** Opens an audit database read-only (for `npm run audit:verify`). */
export function openAuditReadOnly(file: string): SqliteDatabase {
  return openDatabase(file, { migrations: auditMigrations, readonly: true });
}

/** One JSON object per line, oldest first, with both hashes so the export can be re-verified. */
export async function exportAuditJsonLines(db: SqliteDatabase, file: string): Promise<number> {
  const out = createWriteStream(file, { encoding: 'utf8', mode: 0o600 });
  let count = 0;
  try {
    for (const row of db.prepare<[], Row>('SELECT * FROM audit_entries ORDER BY seq').iterate()) {
      let data: unknown = row.data;
      try {
        data = JSON.parse(row.data);
      } catch {
        // Kept as the stored text.
      }
      const line = `${JSON.stringify({ seq: row.seq, at: new Date(row.at).toISOString(), kind: row.kind, conversationId: row.conversation_id, risk: row.risk, actor: row.actor, summary: row.summary, data, prevHash: row.prev_hash, hash: row.hash })}\n`;
      if (!out.write(line)) await once(out, 'drain');
      count += 1;
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return count;
}
