/**
 * Learned memory: entries the person accepted from the `remember` tool (a preference, a
 * decision, a pattern of this codebase), kept per workspace folder in `sophia.db`. An entry is
 * data for the model, never an instruction with authority; a text that holds a secret is
 * refused on save, whoever saves it (the tool, or the person editing it in the Memory panel).
 */
import { randomUUID } from 'node:crypto';
import { memoryLimits, type MemoryEntryView, type MemoryKind } from '../../shared/memory';
import { SophiaError } from '../../shared/errors';
import type { SqliteDatabase } from '../db/sqlite';

interface Row {
  id: string;
  kind: MemoryKind;
  text: string;
  created_at: number;
  updated_at: number;
}

const view = (row: Row): MemoryEntryView => ({ id: row.id, kind: row.kind, text: row.text, createdAt: row.created_at, updatedAt: row.updated_at });

/** Shapes of secrets an entry must not hold, beyond the values the keychain knows (the redactor's). */
const secretShapes: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: 'an AWS access key', pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/ },
  { what: 'a private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: 'a bearer token', pattern: /\bbearer\s+[A-Za-z0-9._~+/-]{20,}/i },
  { what: 'a JSON Web Token', pattern: /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/ },
  { what: 'a credential in a URL', pattern: /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i },
  { what: 'a password, token or key value', pattern: /\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)\b\s*[:=]\s*["']?[^\s"']{6,}/i },
];

export interface MemoryStoreOptions {
  /** Cuts known secret values and token shapes (the app's redactor); a text it changes holds one. */
  readonly redact: (text: string) => string;
}

export class MemoryStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly options: MemoryStoreOptions,
  ) {}

  /** Why this text may not be kept (it holds a secret), or undefined. Says what, never the value. */
  secretIn(text: string): string | undefined {
    if (this.options.redact(text) !== text) return 'a secret value Sophia knows, or the shape of an API token';
    return secretShapes.find((shape) => shape.pattern.test(text))?.what;
  }

  list(workspace: string): MemoryEntryView[] {
    if (!workspace) return [];
    const rows = this.db.prepare('SELECT id, kind, text, created_at, updated_at FROM memory_entries WHERE workspace = ? ORDER BY updated_at DESC, id LIMIT ?').all(workspace, memoryLimits.entriesPerWorkspace) as Row[];
    return rows.map(view);
  }

  get(workspace: string, id: string): MemoryEntryView | undefined {
    const row = this.db.prepare('SELECT id, kind, text, created_at, updated_at FROM memory_entries WHERE workspace = ? AND id = ?').get(workspace, id) as Row | undefined;
    return row && view(row);
  }

  add(workspace: string, kind: MemoryKind, raw: string): MemoryEntryView {
    if (!workspace) throw new SophiaError('bad_request', 'No workspace is open: memory is kept per workspace. Choose a workspace folder in Settings.');
    const text = this.#checked(raw);
    const count = (this.db.prepare('SELECT COUNT(*) AS n FROM memory_entries WHERE workspace = ?').get(workspace) as { n: number }).n;
    if (count >= memoryLimits.entriesPerWorkspace) {
      throw new SophiaError('refused', `This workspace already has ${count} memory entries, the most kept; delete some in the Memory panel first.`);
    }
    const now = Date.now();
    const id = `mem-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    this.db.prepare('INSERT INTO memory_entries (id, workspace, kind, text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, workspace, kind, text, now, now);
    return { id, kind, text, createdAt: now, updatedAt: now };
  }

  update(workspace: string, id: string, raw: string, kind?: MemoryKind): MemoryEntryView {
    const current = this.get(workspace, id);
    if (!current) throw new SophiaError('bad_request', 'That memory entry is not in the open workspace (deleted, or another workspace is open).');
    const text = this.#checked(raw);
    const now = Math.max(Date.now(), current.updatedAt + 1);
    this.db.prepare('UPDATE memory_entries SET text = ?, kind = ?, updated_at = ? WHERE workspace = ? AND id = ?').run(text, kind ?? current.kind, now, workspace, id);
    return { ...current, text, kind: kind ?? current.kind, updatedAt: now };
  }

  remove(workspace: string, id: string): boolean {
    return this.db.prepare('DELETE FROM memory_entries WHERE workspace = ? AND id = ?').run(workspace, id).changes > 0;
  }

  #checked(raw: string): string {
    const text = raw.replace(/\r\n?/g, '\n').trim();
    if (!text) throw new SophiaError('bad_request', 'A memory entry needs some text.');
    if (text.length > memoryLimits.entryChars) throw new SophiaError('bad_request', `A memory entry is at most ${memoryLimits.entryChars} characters; this one has ${text.length}. Say it shorter.`);
    const secret = this.secretIn(text);
    if (secret) throw new SophiaError('refused', `Not kept: the text holds ${secret}. Memory is stored in plain text and sent to the model; keep secrets in the keychain (Settings → Credentials) and remember only where they are.`);
    return text;
  }
}
