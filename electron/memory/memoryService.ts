/**
 * Memory for the open workspace: the learned entries (memoryStore.ts), the project notes
 * (projectNotes.ts), and the block of the system prompt built from both (memoryPrompt.ts).
 * Every change to an entry goes to the audit log; the texts themselves stay out of the log's
 * summary (its data holds them, redacted like any audit data).
 */
import type { Handlers } from '../../shared/handlers';
import type { MemoryEntryView, MemoryKind, ProjectNotesView } from '../../shared/memory';
import type { AuditSink } from '../audit/auditLog';
import type { SqliteDatabase } from '../db/sqlite';
import { MemoryStore } from './memoryStore';
import { defaultMemoryBudget, memoryBlock, type MemoryBudget } from './memoryPrompt';
import { readProjectNotes } from './projectNotes';

export interface MemoryServiceOptions {
  readonly db: SqliteDatabase;
  readonly workspace: () => string;
  readonly audit: AuditSink;
  readonly redact: (text: string) => string;
  readonly budget?: Partial<MemoryBudget>;
}

export class MemoryService {
  readonly store: MemoryStore;
  readonly #budget: MemoryBudget;

  constructor(private readonly options: MemoryServiceOptions) {
    this.store = new MemoryStore(options.db, { redact: options.redact });
    this.#budget = { ...defaultMemoryBudget, ...options.budget };
  }

  list(): MemoryEntryView[] {
    return this.store.list(this.options.workspace());
  }

  notes(): Promise<ProjectNotesView> {
    return readProjectNotes(this.options.workspace());
  }

  /** Keeps an entry the person approved (as proposed, or as they modified it). */
  add(kind: MemoryKind, text: string, conversationId: string | null, actor: 'user' | 'agent'): MemoryEntryView {
    const workspace = this.options.workspace();
    const entry = this.store.add(workspace, kind, text);
    this.options.audit.record({ kind: 'memory', conversationId, actor, summary: `Memory entry ${entry.id} kept (${kind})`, data: { workspace, entry } });
    return entry;
  }

  update(id: string, text: string, kind?: MemoryKind): MemoryEntryView {
    const workspace = this.options.workspace();
    const before = this.store.get(workspace, id);
    const entry = this.store.update(workspace, id, text, kind);
    this.options.audit.record({ kind: 'memory', actor: 'user', summary: `Memory entry ${id} edited`, data: { workspace, before, after: entry } });
    return entry;
  }

  remove(id: string): boolean {
    const workspace = this.options.workspace();
    const before = this.store.get(workspace, id);
    const removed = this.store.remove(workspace, id);
    if (removed) this.options.audit.record({ kind: 'memory', actor: 'user', summary: `Memory entry ${id} deleted`, data: { workspace, entry: before } });
    return removed;
  }

  /** The system prompt's memory block for this request: '' when the workspace has neither notes nor entries. */
  async promptBlock(request: string): Promise<string> {
    const workspace = this.options.workspace();
    if (!workspace) return '';
    const [notes, entries] = [await readProjectNotes(workspace), this.store.list(workspace)];
    return memoryBlock({ notes, entries, request, budget: this.#budget });
  }
}

type MemoryChannel = 'memory.list' | 'memory.update' | 'memory.remove';

export function memoryHandlers(memory: MemoryService, workspace: () => string): Pick<Handlers, MemoryChannel> {
  return {
    'memory.list': async () => ({ workspace: workspace(), entries: memory.list(), notes: await memory.notes() }),
    'memory.update': (input) => ({ entry: memory.update(input.id, input.text, input.kind) }),
    'memory.remove': (input) => ({ removed: memory.remove(input.id) }),
  };
}
