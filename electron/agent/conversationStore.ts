/**
 * Conversations in SQLite: a summary row, the contract events the chat showed (replayed
 * to draw it again exactly as it was), and the model-level messages a conversation
 * continues from. Events and messages are written behind: those appended in one run of the
 * event loop go in one transaction at its end (`setImmediate`), or sooner when anything reads
 * the store or the agent's turn ends (`flush`), so a stream's burst costs one commit and no
 * commit sits between the model's first token and the chat.
 */
import type { ConversationSummary, SophiaEvent, Usage } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { toolOutputLimits, toolOutputPreview } from '../../shared/toolOutput';
import type { SqliteDatabase } from '../db/sqlite';
import { createLogger } from '../log';
import type { ModelMessage } from '../models/modelProvider';

const log = createLogger('conversationStore');

interface SummaryRow {
  id: string;
  title: string;
  created_at: number;
  updated_at: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  unpriced_calls: number;
}

const toSummary = (row: SummaryRow): ConversationSummary => ({
  id: row.id,
  title: row.title,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  usage: {
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cacheReadTokens: row.cache_read_tokens,
    cacheWriteTokens: row.cache_write_tokens,
    costUsd: row.cost_usd,
    unpricedCalls: row.unpriced_calls,
  },
});

/** The events worth keeping: what the chat drew, not the token stream that led to it. */
const keptEvents = new Set<SophiaEvent['type']>(['chat.message', 'agent.intent', 'agent.thinking', 'agent.plan', 'tool.call', 'tool.result', 'agent.usage']);

export function isKeptEvent(event: SophiaEvent): boolean {
  return keptEvents.has(event.type);
}

export class ConversationStore {
  readonly #insertConversation;
  readonly #summary;
  readonly #list;
  readonly #touch;
  readonly #addUsage;
  readonly #nextEventSeq;
  readonly #insertEvent;
  readonly #events;
  readonly #nextMessageSeq;
  readonly #insertMessage;
  readonly #messages;
  readonly #insertToolOutput;
  readonly #toolOutput;
  readonly #storedResult;
  readonly #insertCompaction;
  readonly #latestCompaction;
  readonly #titleTaken;
  readonly #rename;
  readonly #delete;
  readonly #counts;
  /** Writes waiting for the end of this run of the event loop. */
  #behind: { readonly conversationId: string; readonly write: () => void }[] = [];
  #flushing: NodeJS.Immediate | undefined;

  constructor(private readonly db: SqliteDatabase) {
    this.#insertConversation = db.prepare(
      'INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)',
    );
    this.#summary = db.prepare<[string], SummaryRow>('SELECT * FROM conversations WHERE id = ?');
    this.#list = db.prepare<[number], SummaryRow>('SELECT * FROM conversations ORDER BY updated_at DESC, rowid DESC LIMIT ?');
    this.#touch = db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?');
    this.#addUsage = db.prepare(
      `UPDATE conversations SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
         cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?,
         cost_usd = cost_usd + ?, unpriced_calls = unpriced_calls + ?, updated_at = ? WHERE id = ?`,
    );
    this.#nextEventSeq = db.prepare<[string], { next: number }>(
      'SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM conversation_events WHERE conversation_id = ?',
    );
    this.#insertEvent = db.prepare(
      'INSERT INTO conversation_events (conversation_id, seq, type, payload, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.#events = db.prepare<[string], { payload: string }>(
      'SELECT payload FROM conversation_events WHERE conversation_id = ? ORDER BY seq',
    );
    this.#nextMessageSeq = db.prepare<[string], { next: number }>(
      'SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM model_messages WHERE conversation_id = ?',
    );
    this.#insertMessage = db.prepare('INSERT INTO model_messages (conversation_id, seq, role, content) VALUES (?, ?, ?, ?)');
    this.#messages = db.prepare<[string], { seq: number; role: 'user' | 'assistant'; content: string }>(
      'SELECT seq, role, content FROM model_messages WHERE conversation_id = ? ORDER BY seq',
    );
    this.#insertToolOutput = db.prepare(
      'INSERT OR REPLACE INTO tool_outputs (conversation_id, call_id, tool, content, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.#toolOutput = db.prepare<[string, string], { tool: string; content: string }>(
      'SELECT tool, content FROM tool_outputs WHERE conversation_id = ? AND call_id = ?',
    );
    // Conversations stored before outputs were cut for the chat kept up to 64 KB in the event itself.
    this.#storedResult = db.prepare<[string, string], { tool: string | null; output: string }>(
      `SELECT (SELECT json_extract(c.payload, '$.tool') FROM conversation_events c
                WHERE c.conversation_id = r.conversation_id AND c.type = 'tool.call' AND json_extract(c.payload, '$.callId') = json_extract(r.payload, '$.callId')) AS tool,
              json_extract(r.payload, '$.output') AS output
         FROM conversation_events r
        WHERE r.conversation_id = ? AND r.type = 'tool.result' AND json_extract(r.payload, '$.callId') = ?
        ORDER BY r.seq DESC LIMIT 1`,
    );
    this.#insertCompaction = db.prepare(
      `INSERT INTO conversation_compactions (conversation_id, seq, upto_seq, summary, created_at)
       VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM conversation_compactions WHERE conversation_id = ?), ?, ?, ?)`,
    );
    this.#latestCompaction = db.prepare<[string], { upto_seq: number; summary: string }>(
      'SELECT upto_seq, summary FROM conversation_compactions WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1',
    );
    this.#titleTaken = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM conversations WHERE title = ? AND id != ? LIMIT 1');
    this.#rename = db.prepare('UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?');
    // Events, model messages, kept tool outputs and compactions go with it (ON DELETE CASCADE).
    this.#delete = db.prepare('DELETE FROM conversations WHERE id = ?');
    this.#counts = db.prepare<[string, string, string], { events: number; messages: number; toolOutputs: number }>(
      `SELECT (SELECT COUNT(*) FROM conversation_events WHERE conversation_id = ?) AS events,
              (SELECT COUNT(*) FROM model_messages WHERE conversation_id = ?) AS messages,
              (SELECT COUNT(*) FROM tool_outputs WHERE conversation_id = ?) AS toolOutputs`,
    );
  }

  /** The title, made unique among the other conversations: "Fix tests", "Fix tests (2)", ... */
  #uniqueTitle(title: string, id: string): string {
    const base = (title.replace(/\s+/g, ' ').trim() || 'Untitled').slice(0, 180);
    if (!this.#titleTaken.get(base, id)) return base;
    // A title that already ends in " (n)" counts on from its stem.
    const stem = base.replace(/ \((\d{1,6})\)$/, '');
    for (let n = 2; ; n += 1) {
      const candidate = `${stem} (${n})`;
      if (!this.#titleTaken.get(candidate, id)) return candidate;
    }
  }

  create(id: string, title: string, now = Date.now()): ConversationSummary {
    this.db.transaction(() => this.#insertConversation.run(id, this.#uniqueTitle(title, id), now, now))();
    return this.get(id);
  }

  /** Renames a conversation; a title another one has gets a number added. */
  rename(id: string, title: string, now = Date.now()): ConversationSummary {
    this.get(id);
    this.db.transaction(() => this.#rename.run(this.#uniqueTitle(title, id), now, id))();
    return this.get(id);
  }

  /** Deletes a conversation and everything kept with it; returns what went, for the audit log. */
  delete(id: string): { title: string; events: number; messages: number; toolOutputs: number } {
    const { title } = this.get(id);
    return this.db.transaction(() => {
      const counts = this.#counts.get(id, id, id) ?? { events: 0, messages: 0, toolOutputs: 0 };
      this.#delete.run(id);
      return { title, ...counts };
    })();
  }

  get(id: string): ConversationSummary {
    this.flush();
    return this.#get(id);
  }

  #get(id: string): ConversationSummary {
    const row = this.#summary.get(id);
    if (!row) throw new SophiaError('bad_request', 'That conversation does not exist.');
    return toSummary(row);
  }

  exists(id: string): boolean {
    return this.#summary.get(id) !== undefined;
  }

  list(limit = 200): ConversationSummary[] {
    this.flush();
    return this.#list.all(limit).map(toSummary);
  }

  appendEvent(conversationId: string, event: SophiaEvent, now = Date.now()): void {
    const payload = JSON.stringify(event);
    this.#writeBehind(conversationId, () => {
      const { next } = this.#nextEventSeq.get(conversationId) ?? { next: 1 };
      this.#insertEvent.run(conversationId, next, event.type, payload, now);
      this.#touch.run(now, conversationId);
    });
  }

  /** What the chat drew, to draw it again: a tool output only as its head and tail (see shownEvent). */
  events(conversationId: string): SophiaEvent[] {
    this.flush();
    return this.#events.all(conversationId).map((row) => shownEvent(JSON.parse(row.payload) as SophiaEvent));
  }

  appendMessage(conversationId: string, message: ModelMessage): void {
    const content = JSON.stringify(message.content);
    this.#writeBehind(conversationId, () => {
      const { next } = this.#nextMessageSeq.get(conversationId) ?? { next: 1 };
      this.#insertMessage.run(conversationId, next, message.role, content);
    });
  }

  /** Every model message of the conversation, the ones a summary stands in for too. */
  messages(conversationId: string): ModelMessage[] {
    return this.storedMessages(conversationId).map((row) => row.message);
  }

  storedMessages(conversationId: string): { seq: number; message: ModelMessage }[] {
    this.flush();
    return this.#messages.all(conversationId).map((row) => ({ seq: row.seq, message: { role: row.role, content: JSON.parse(row.content) as ModelMessage['content'] } }));
  }

  /** Keeps a tool's whole output; the model was given part of it and a reference. */
  saveToolOutput(conversationId: string, callId: string, tool: string, content: string, now = Date.now()): void {
    this.#insertToolOutput.run(conversationId, callId, tool, content, now);
  }

  toolOutput(conversationId: string, callId: string): { tool: string; content: string } | undefined {
    return this.#toolOutput.get(conversationId, callId);
  }

  /**
   * One page of a tool output the chat shows in part, from `offset`: the kept whole output,
   * or for a conversation stored before outputs were kept for the chat, what its event held.
   */
  toolOutputPage(conversationId: string, callId: string, offset: number): { tool: string; offset: number; text: string; totalChars: number } | undefined {
    const kept = this.#toolOutput.get(conversationId, callId) ?? this.#legacyOutput(conversationId, callId);
    if (!kept) return undefined;
    const start = Math.min(offset, kept.content.length);
    return { tool: kept.tool, offset: start, text: kept.content.slice(start, start + toolOutputLimits.pageChars), totalChars: kept.content.length };
  }

  #legacyOutput(conversationId: string, callId: string): { tool: string; content: string } | undefined {
    const row = this.#storedResult.get(conversationId, callId);
    return row && typeof row.output === 'string' ? { tool: row.tool ?? 'tool', content: row.output } : undefined;
  }

  /** Records that `summary` stands in for the model messages up to and including `uptoSeq`. */
  addCompaction(conversationId: string, uptoSeq: number, summary: string, now = Date.now()): void {
    this.#insertCompaction.run(conversationId, conversationId, uptoSeq, summary, now);
  }

  latestCompaction(conversationId: string): { uptoSeq: number; summary: string } | undefined {
    const row = this.#latestCompaction.get(conversationId);
    return row && { uptoSeq: row.upto_seq, summary: row.summary };
  }

  addUsage(conversationId: string, delta: Usage, now = Date.now()): ConversationSummary {
    this.#addUsage.run(
      delta.inputTokens,
      delta.outputTokens,
      delta.cacheReadTokens ?? 0,
      delta.cacheWriteTokens ?? 0,
      delta.costUsd,
      delta.unpricedCalls ?? 0,
      now,
      conversationId,
    );
    // Read without writing what waits behind: the usage is this row's own, and it moves updated_at on.
    return this.#get(conversationId);
  }

  /**
   * Writes what was appended and not yet written, in one transaction, in the order it was
   * appended. A write that fails (its conversation was removed meanwhile) is logged and the
   * others are kept; when the database itself fails (closed, busy past its timeout, disk
   * full) the writes are logged as lost, as an append that threw lost its write before. Never
   * throws: it also runs on its own, from the event loop.
   */
  flush(): void {
    if (this.#flushing) clearImmediate(this.#flushing);
    this.#flushing = undefined;
    if (this.#behind.length === 0) return;
    const writes = this.#behind;
    this.#behind = [];
    if (!this.db.open) {
      log.error('conversation writes after the database closed were not stored', { count: writes.length });
      return;
    }
    try {
      this.db.transaction(() => {
        for (const { conversationId, write } of writes) {
          try {
            write();
          } catch (error) {
            log.error('a conversation write failed', { conversationId, error });
          }
        }
      })();
    } catch (error) {
      log.error('conversation writes were not stored', { count: writes.length, error });
    }
  }

  #writeBehind(conversationId: string, write: () => void): void {
    this.#behind.push({ conversationId, write });
    this.#flushing ??= setImmediate(() => this.flush());
  }
}

/**
 * A stored event as the chat gets it. Events written since outputs were cut for the chat
 * already are; an older `tool.result` (up to 64 KB) is cut the same way on the way out.
 */
function shownEvent(event: SophiaEvent): SophiaEvent {
  if (event.type !== 'tool.result' || event.fullChars !== undefined) return event;
  return { ...event, ...toolOutputPreview(event.output) };
}
