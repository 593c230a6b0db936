/**
 * What Sophia remembers, as the contract carries it: learned memory entries (per workspace,
 * accepted by the person), the repository's project notes (AGENTS.md, CLAUDE.md), and the
 * infrastructure state kept across restarts (stacks, deployments, plans, recovery points).
 * Pure zod: the Memory panel and the main process share these shapes.
 */
import { z } from 'zod';

export const memoryKinds = ['preference', 'decision', 'pattern'] as const;
export const memoryKind = z.enum(memoryKinds);
export type MemoryKind = z.infer<typeof memoryKind>;

export const memoryLimits = {
  /** One entry's text: a sentence or a short paragraph, not a document. */
  entryChars: 1000,
  /** Entries kept per workspace. */
  entriesPerWorkspace: 500,
  /** Bytes of one project-notes file read; the rest is left out and the prompt says so. */
  notesBytes: 32 * 1024,
} as const;

const memoryId = z.string().regex(/^mem-[a-f0-9]{12}$/, 'a memory entry id (mem-…)');

export const memoryText = z.string().trim().min(1).max(memoryLimits.entryChars);

export const memoryEntryView = z.object({
  id: memoryId,
  kind: memoryKind,
  text: z.string().max(memoryLimits.entryChars),
  createdAt: z.number().int().nonnegative(),
  updatedAt: z.number().int().nonnegative(),
});
export type MemoryEntryView = z.infer<typeof memoryEntryView>;

export const projectNoteView = z.object({
  /** `AGENTS.md` or `CLAUDE.md`. */
  file: z.string().max(64),
  text: z.string().max(memoryLimits.notesBytes * 4),
  /** The file was longer than the bound: only its start is used. */
  truncated: z.boolean(),
});
export type ProjectNoteView = z.infer<typeof projectNoteView>;

export const projectNotesView = z.object({
  notes: z.array(projectNoteView).max(2),
  /** Files that exist but were not read, and why (a link out of the workspace, a secret file, not text). */
  refused: z.array(z.object({ file: z.string().max(64), reason: z.string().max(2000) })).max(2),
});
export type ProjectNotesView = z.infer<typeof projectNotesView>;

export const memoryListOutput = z.object({
  workspace: z.string().max(4096),
  entries: z.array(memoryEntryView).max(memoryLimits.entriesPerWorkspace),
  notes: projectNotesView,
});

export const memoryUpdateInput = z.object({ id: memoryId, text: memoryText, kind: memoryKind.optional() }).strict();
export const memoryRemoveInput = z.object({ id: memoryId }).strict();

const short = z.string().max(2000);

export const recoveryPointView = z.object({
  id: z.string().max(64),
  environment: z.string().max(32),
  table: short,
  clone: short,
  /** Snowflake's timestamp just before the statement (Time Travel reaches it until `expiresAt`). */
  at: short,
  line: z.number().int(),
  sql: short,
  createdAt: z.number().int().nonnegative(),
  /** The table's DATA_RETENTION_TIME_IN_DAYS; `retentionKnown` false when Snowflake did not say and the default (1 day) is assumed. */
  retentionDays: z.number().int().nonnegative(),
  retentionKnown: z.boolean(),
  /** When the Time Travel window closes; the clone itself stays until it is dropped. */
  expiresAt: z.number().int().nonnegative(),
  restoredAt: z.number().int().nonnegative().nullable(),
});
export type RecoveryPointView = z.infer<typeof recoveryPointView>;

export const infraStateView = z.object({
  stacks: z.array(z.object({ projectDir: short, name: short, lastUpdate: short.nullable(), resourceCount: z.number().int().nullable(), seenAt: z.number().int() })).max(200),
  deployments: z
    .array(
      z.object({
        id: z.string().max(64),
        system: z.enum(['pulumi', 'snowflake']),
        target: short,
        phase: z.string().max(32),
        status: z.string().max(32),
        summary: short,
        outputs: z.record(z.string().max(200), short),
        at: z.number().int(),
      }),
    )
    .max(200),
  plans: z.array(z.object({ id: z.string().max(64), system: z.enum(['pulumi', 'snowflake']), target: short, summary: short, createdAt: z.number().int() })).max(200),
  recoveryPoints: z.array(recoveryPointView).max(200),
});
export type InfraStateView = z.infer<typeof infraStateView>;
