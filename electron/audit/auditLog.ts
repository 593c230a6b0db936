/**
 * The audit log: one SQLite database (its own file, WAL) of everything that happened, as a
 * hash chain. Each entry carries the hash of the one before, so an edited, removed or
 * reordered entry breaks the chain at that entry. A chain alone cannot see its tail cut off
 * or the whole chain rebuilt, so the log also keeps a signed head: an HMAC of the latest
 * entry's number and hash, under a key held in the OS keychain, updated in the same
 * transaction as each append. An append returns only after its transaction committed, so an
 * acknowledged entry survives the process being killed.
 *
 * The file alone cannot prove that a head was ever signed, nor that it is the latest copy, so
 * the keychain also keeps an anchor beside the key: the count and hash of the latest entry,
 * written when the log opens, at most every few seconds while it grows, and at close. Once a
 * log has an anchor, an unsigned or missing head, fewer entries than the anchor, or a
 * different entry where the anchor points, is a verification failure. A start without the
 * keychain leaves a signed head where it is (entries after it are not signed, and verify
 * says so); a head that does not verify when the log opens is recorded as a finding in the
 * chain, which verify keeps reporting.
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createWriteStream, realpathSync } from 'node:fs';
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
  {
    version: 3,
    name: 'filter columns indexed in batches, apart from the chain',
    up: (db) => {
      // Two indexes on the chain cost two more pages in every append's commit; the lookup
      // is filled in batches (on a timer, at close, before a query), so an append writes one.
      db.exec(`
        CREATE TABLE audit_lookup (
          seq INTEGER PRIMARY KEY,
          kind TEXT NOT NULL,
          conversation_id TEXT,
          risk TEXT
        );
        CREATE INDEX audit_lookup_by_conversation ON audit_lookup (conversation_id, seq);
        CREATE INDEX audit_lookup_by_kind ON audit_lookup (kind, seq);
        INSERT INTO audit_lookup (seq, kind, conversation_id, risk) SELECT seq, kind, conversation_id, risk FROM audit_entries;
        DROP INDEX audit_by_conversation;
        DROP INDEX audit_by_kind;
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

/** The count and hash of the latest entry, as last written to the keychain. */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
}

/** Where the anchor lives (the keychain, beside the key). `read` answers null when none is stored, and throws when it cannot tell. */
export interface AuditAnchorStore {
  read(): AuditAnchor | null;
  write(anchor: AuditAnchor): void;
}

/** Marks an entry that records a head that did not verify when the log opened; verify reports it for good. */
export const headFindingMarker = 'audit-head';

/** At most one anchor write per this long while the log grows: a keychain write costs milliseconds, an append microseconds. */
export const defaultAnchorIntervalMs = 5000;

export interface AuditLogOptions {
  /** The key that signs the head; none means an unsigned head (no keychain), which verify reports. */
  readonly headKey?: Buffer | undefined;
  /** The keychain's anchor for this log; without one a wiped log or an older copy is not detected. */
  readonly anchor?: AuditAnchorStore | undefined;
  readonly anchorIntervalMs?: number | undefined;
  /** Why there is no key (the keychain's own words), for the status the UI shows. */
  readonly keyProblem?: string | undefined;
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
  readonly #anchor: AuditAnchorStore | undefined;
  readonly #anchorIntervalMs: number;
  #anchorTimer: NodeJS.Timeout | undefined;
  #anchored: AuditAnchor | undefined;
  /** Without a key, a head that was signed stays as it was: an unsigned one never replaces it. */
  #headFrozen = false;
  #signing: AuditSigning;
  readonly #fillLookup: () => void;

  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    return new AuditLog(openDatabase(file, { migrations: auditMigrations }), options);
  }

  private constructor(db: SqliteDatabase, options: AuditLogOptions) {
    this.#db = db;
    this.#anchor = options.anchor;
    this.#anchorIntervalMs = options.anchorIntervalMs ?? defaultAnchorIntervalMs;
    this.#signing = options.headKey
      ? { signed: true, message: 'The audit log is signed with the key in the keychain.' }
      : { signed: false, message: `The audit log cannot be signed now: no key in the keychain (${(options.keyProblem ?? 'no keychain').slice(0, 500)}).` };
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
      if (!this.#headFrozen) this.#setHead.run(seq, hash, this.#macKey ? headMac(this.#macKey, seq, hash) : null, this.#keyId);
      return records;
    });
    const fillLookup = db.prepare(
      'INSERT INTO audit_lookup (seq, kind, conversation_id, risk) SELECT seq, kind, conversation_id, risk FROM audit_entries WHERE seq > (SELECT coalesce(max(seq), 0) FROM audit_lookup)',
    );
    this.#fillLookup = () => {
      fillLookup.run();
    };
    // Entries removed behind Sophia's back (verify names that) leave no stale rows in the lookup.
    db.prepare('DELETE FROM audit_lookup WHERE seq > ?').run(this.#seq);
    this.#fillLookup();
    this.#checkHeadAtOpen(options.keyProblem);
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
      this.#scheduleAnchor();
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

  /** Whether appends are signed now, and in words why not: the UI shows it. */
  get signing(): AuditSigning {
    return this.#signing;
  }

  /** Newest first. The lookup is brought up to date first, so a query sees every committed entry. */
  query(filter: AuditFilter = {}): AuditEntryView[] {
    this.#fillLookup();
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.conversationId !== undefined) {
      where.push('l.conversation_id = ?');
      params.push(filter.conversationId);
    }
    if (filter.kind !== undefined) {
      where.push('l.kind = ?');
      params.push(filter.kind);
    }
    if (filter.risk !== undefined) {
      where.push('l.risk = ?');
      params.push(filter.risk);
    }
    if (filter.beforeSeq !== undefined) {
      where.push('l.seq < ?');
      params.push(filter.beforeSeq);
    }
    const limit = Math.max(1, Math.min(filter.limit ?? 100, 500));
    const sql = `SELECT e.* FROM audit_lookup l JOIN audit_entries e ON e.seq = l.seq ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY l.seq DESC LIMIT ${limit}`;
    return this.#db.prepare<unknown[], Row>(sql).all(...params).map(toView);
  }

  /**
   * Entries after `afterSeq`, oldest first, at most `limit`, with the stored columns only:
   * for readers that walk the whole log a page at a time (metrics), never holding it whole.
   */
  page(afterSeq: number, limit: number): AuditPageRow[] {
    return this.#db
      .prepare<[number, number], AuditPageRow>('SELECT seq, at, kind, conversation_id AS conversationId, actor, data FROM audit_entries WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(afterSeq, Math.max(1, Math.min(limit, 10_000)));
  }

  verify(): AuditVerifyResult {
    return verifyAuditDatabase(this.#db, this.#key, this.#readAnchor());
  }

  async exportJsonLines(file: string): Promise<number> {
    return exportAuditJsonLines(this.#db, file);
  }

  close(): void {
    clearTimeout(this.#anchorTimer);
    this.#anchorTimer = undefined;
    this.#catchUp();
    this.#writeAnchor();
    this.#db.close();
  }

  /** Undefined when there is no store or it cannot answer (then nothing is concluded from it). */
  #readAnchor(): AuditAnchor | null | undefined {
    if (!this.#anchor) return undefined;
    try {
      return this.#anchor.read();
    } catch (error) {
      log.warn('the audit anchor could not be read', { error });
      return undefined;
    }
  }

  #catchUp(): void {
    try {
      this.#fillLookup();
    } catch (error) {
      log.warn('the audit lookup could not be filled (queries fill it again)', { error });
    }
  }

  /** One timer for the batched work: the lookup for queries, and the keychain's anchor. */
  #scheduleAnchor(): void {
    if (this.#anchorTimer !== undefined) return;
    this.#anchorTimer = setTimeout(() => {
      this.#anchorTimer = undefined;
      this.#catchUp();
      this.#writeAnchor();
    }, this.#anchorIntervalMs);
    this.#anchorTimer.unref();
  }

  /** Only a signing log moves the anchor: without the key, entries are not vouched for, and the anchor stays where the signed head is. */
  #writeAnchor(): void {
    if (!this.#anchor || !this.#key || this.#headFrozen) return;
    if (this.#anchored?.seq === this.#seq && this.#anchored.hash === this.#hash) return;
    const anchor = { seq: this.#seq, hash: this.#hash };
    try {
      this.#anchor.write(anchor);
      this.#anchored = anchor;
    } catch (error) {
      log.warn('the audit anchor could not be written', { error });
    }
  }

  /**
   * Checks the head (and the keychain's anchor) when the log opens. A head that does not
   * verify means the file was changed while Sophia was not running: appending would sign over
   * the damage, so the finding is written into the chain first, marked so that verify keeps
   * reporting it. Without a key, a signed head is left as it is.
   */
  #checkHeadAtOpen(keyProblem: string | undefined): void {
    const head = readHead(this.#db);
    if (!this.#key) {
      if (head === undefined || head.mac === null) return;
      this.#headFrozen = true;
      const atHead = this.#db.prepare<[number], { hash: string }>('SELECT hash FROM audit_entries WHERE seq = ?').get(head.seq);
      if (atHead?.hash !== head.hash) {
        const problem = `the signed head names entry ${head.seq}, which is missing or different: entries were cut off or replaced`;
        log.error('audit head did not verify when the log opened', { problem });
        this.record({ kind: 'audit', actor: 'system', summary: `The audit log did not verify when Sophia opened it: ${problem}`, data: { finding: headFindingMarker, problem } });
      }
      log.warn('no audit key: entries are appended but the signed head is left as it is');
      this.record({
        kind: 'audit',
        actor: 'system',
        summary: `The audit log cannot be signed now (${(keyProblem ?? 'no keychain').slice(0, 300)}): entries from ${this.#seq + 1} on are not covered by its signed head until the keychain is back.`,
      });
      return;
    }
    const anchor = this.#readAnchor();
    const problem = checkHead(this.#db, this.#key, this.#seq, this.#hash, anchor);
    if (problem !== undefined) {
      log.error('audit head did not verify when the log opened', { problem });
      this.record({ kind: 'audit', actor: 'system', summary: `The audit log did not verify when Sophia opened it: ${problem}`, data: { finding: headFindingMarker, problem } });
    } else if (this.#seq > 0 && (head === undefined || head.mac === null)) {
      // Never signed (no anchor says otherwise): the log was kept without a keychain until now.
      this.record({ kind: 'audit', actor: 'system', summary: `The audit log is signed from here on; entries 1 to ${this.#seq} were written without a key.` });
    }
    this.#writeAnchor();
  }
}

/** One entry as `AuditLog.page` reads it: `data` is still its JSON text. */
export interface AuditPageRow {
  readonly seq: number;
  readonly at: number;
  readonly kind: AuditKind;
  readonly conversationId: string | null;
  readonly actor: string;
  readonly data: string;
}

export interface AuditSigning {
  readonly signed: boolean;
  readonly message: string;
}

/** The anchor for one log file, in the keychain beside the head key; the account names the file by a hash of its real path. */
export function keychainAnchorStore(keychain: { get(account: string): string | null; set(account: string, value: string): void }, file: string): AuditAnchorStore {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    real = file;
  }
  const account = `audit.anchor.${createHash('sha256').update(real).digest('hex').slice(0, 24)}`;
  return {
    read: () => {
      const stored = keychain.get(account);
      if (stored === null) return null;
      const parsed = JSON.parse(stored) as { seq?: unknown; hash?: unknown };
      if (typeof parsed.seq !== 'number' || !Number.isSafeInteger(parsed.seq) || parsed.seq < 0 || typeof parsed.hash !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.hash)) {
        // Unreadable is not "none": treat it as an anchor nothing can match.
        return { seq: Number.MAX_SAFE_INTEGER, hash: genesisHash };
      }
      return { seq: parsed.seq, hash: parsed.hash };
    },
    write: (anchor) => keychain.set(account, JSON.stringify({ v: 1, seq: anchor.seq, hash: anchor.hash })),
  };
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

/**
 * Why the head (and the keychain's anchor) does not vouch for the last entry, or undefined
 * when it does. `anchor`: null when the keychain holds none for this log (it never had a
 * signed head here), undefined when there is no keychain to ask. With a key and no anchor
 * store, a head must be signed as soon as the log has entries.
 */
function checkHead(db: SqliteDatabase, key: Buffer | undefined, lastSeq: number, lastHash: string, anchor?: AuditAnchor | null): string | undefined {
  if (anchor && anchor.seq > lastSeq) {
    return anchor.seq === Number.MAX_SAFE_INTEGER
      ? "the keychain's anchor for this log is unreadable"
      : `the keychain's anchor says the log held ${anchor.seq} entries, but it holds ${lastSeq}: entries were removed, or an older copy was restored`;
  }
  if (anchor && anchor.seq > 0) {
    const atAnchor = db.prepare<[number], { hash: string }>('SELECT hash FROM audit_entries WHERE seq = ?').get(anchor.seq);
    if (atAnchor?.hash !== anchor.hash) return `entry ${anchor.seq} is not the one the keychain's anchor recorded: the log was rebuilt or replaced`;
  }
  const head = readHead(db);
  // An anchor exists only once the log was signed here; with no store to ask, a key means it must be.
  const mustBeSigned = key !== undefined && anchor !== null;
  if (!head) {
    // No head and no anchor: a log from before the head existed, never signed here.
    if (lastSeq === 0 || anchor === null) return undefined;
    return 'the signed head is missing';
  }
  if (head.mac === null && head.key_id !== null) return 'the head names a key but carries no signature: the signature was removed';
  if (head.mac === null && mustBeSigned && lastSeq > 0) return 'the head is not signed, though this log has had a signed head: the signature was removed';
  if (head.seq > lastSeq) return `the head names entry ${head.seq} but the log ends at ${lastSeq}: entries were cut off`;
  if (head.seq < lastSeq) {
    return head.mac === null
      ? `the log goes on past the head (entry ${head.seq}): entries were added outside Sophia`
      : `entries ${head.seq + 1} to ${lastSeq} come after the signed head (entry ${head.seq}): written while the keychain was unavailable, or added outside Sophia`;
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
export function verifyAuditDatabase(db: SqliteDatabase, key: Buffer | undefined, anchor?: AuditAnchor | null): AuditVerifyResult {
  const rows = db
    .prepare<[], [number, number, string, string | null, string | null, string, string, string, string, string]>(
      'SELECT seq, at, kind, conversation_id, risk, actor, summary, data, prev_hash, hash FROM audit_entries ORDER BY seq',
    )
    .raw(true);
  let expectedSeq = 1;
  let previous = genesisHash;
  let count = 0;
  let finding: { seq: number; summary: string } | undefined;
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
    if (finding === undefined && kind === 'audit' && data.includes(`"finding":"${headFindingMarker}"`)) finding = { seq, summary };
    previous = hash;
    expectedSeq += 1;
    count += 1;
  }
  const headProblem = checkHead(db, key, count, previous, anchor);
  if (headProblem !== undefined) {
    return { ok: false, entries: count, headSigned: key !== undefined, firstBad: { seq: count + 1, reason: headProblem }, message: `The audit log's head does not verify: ${headProblem}` };
  }
  if (finding !== undefined) {
    // The chain and head are intact since, but what the finding saw cannot be undone: it stays a failure.
    return { ok: false, entries: count, headSigned: key !== undefined, firstBad: { seq: finding.seq, reason: finding.summary.slice(0, 2000) }, message: `Entry ${finding.seq} records that the log had been tampered with: ${finding.summary}`.slice(0, 2000) };
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
