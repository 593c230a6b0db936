/**
 * Hooks in Claude Code's settings shape (Codex copies it): commands run at a few points of a
 * turn, configured as `{ "hooks": { "PreToolUse": [ { "matcher": "run_command", "hooks": [
 * { "type": "command", "command": "...", "timeout": 30 } ] } ] } }`. Pure: the contract and the
 * renderer use these schemas; the main process reads and runs them (electron/hooks/).
 */
import { z } from 'zod';

export const hookEvents = ['UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop'] as const;
export const hookEvent = z.enum(hookEvents);
export type HookEvent = z.infer<typeof hookEvent>;

/** Where a hook comes from. Only a deny counts from a workspace, and workspace hooks run in the sandbox. */
export const hookSources = ['managed', 'user', 'workspace'] as const;
export const hookSource = z.enum(hookSources);
export type HookSource = z.infer<typeof hookSource>;

export const hookLimits = {
  /** Seconds a hook may run when it names no timeout. */
  defaultTimeoutSeconds: 30,
  /** The most a hook may ask for. */
  maxTimeoutSeconds: 120,
  command: 4000,
  matcher: 500,
  groupsPerEvent: 50,
  hooksPerGroup: 20,
} as const;

export const hookCommand = z
  .object({
    type: z.literal('command'),
    command: z.string().trim().min(1).max(hookLimits.command),
    /** Seconds; capped at `hookLimits.maxTimeoutSeconds`. */
    timeout: z.number().positive().max(hookLimits.maxTimeoutSeconds).optional(),
  })
  .strict();
export type HookCommand = z.infer<typeof hookCommand>;

export const hookGroup = z
  .object({
    /** Tool names: `*`, '' or none for all, `a|b` for either, otherwise a regular expression over the whole name. Ignored by UserPromptSubmit and Stop. */
    matcher: z.string().max(hookLimits.matcher).optional(),
    hooks: z.array(hookCommand).min(1).max(hookLimits.hooksPerGroup),
  })
  .strict();
export type HookGroup = z.infer<typeof hookGroup>;

export const hooksConfig = z
  .object({
    UserPromptSubmit: z.array(hookGroup).max(hookLimits.groupsPerEvent).optional(),
    PreToolUse: z.array(hookGroup).max(hookLimits.groupsPerEvent).optional(),
    PostToolUse: z.array(hookGroup).max(hookLimits.groupsPerEvent).optional(),
    Stop: z.array(hookGroup).max(hookLimits.groupsPerEvent).optional(),
  })
  .strict();
export type HooksConfig = z.infer<typeof hooksConfig>;

/** One source's hooks as Settings shows them: where they were read from, and what was not applied. */
export const hookSourceView = z.object({
  source: hookSource,
  /** The file read (none for the user's hooks, kept in the app's settings). */
  file: z.string().max(4096).optional(),
  hooks: hooksConfig,
  /** Lines of the file that were not applied (an event Sophia does not run, a hook type other than command, bad JSON). */
  notices: z.array(z.string().max(500)).max(50),
  /** Whether the person may change them here (the user's only). */
  editable: z.boolean(),
});
export type HookSourceView = z.infer<typeof hookSourceView>;

/** Managed, the user's, and each workspace file (`.sophia/settings.json`, `.claude/settings.json`). */
export const hooksListing = z.object({ sources: z.array(hookSourceView).max(8) });
export type HooksListing = z.infer<typeof hooksListing>;

/** A matcher's tool names that Claude Code scripts use, and the Sophia tools they stand for. */
export const claudeToolAliases: Readonly<Record<string, readonly string[]>> = {
  Bash: ['run_command'],
  Edit: ['propose_edit'],
  MultiEdit: ['propose_edit'],
  Write: ['propose_edit'],
  Read: ['read_file'],
};

/**
 * Whether a group's matcher covers a tool. A plain `a|b` list matches names (and the Claude
 * Code aliases above) exactly; anything else is a regular expression over the whole name.
 * Throws on a pattern that is not a regular expression: the caller fails closed.
 */
export function matcherCovers(matcher: string | undefined, tool: string): boolean {
  if (matcher === undefined || matcher === '' || matcher === '*') return true;
  if (/^[A-Za-z0-9_|]+$/.test(matcher)) {
    return matcher.split('|').some((name) => name === tool || (claudeToolAliases[name]?.includes(tool) ?? false));
  }
  return new RegExp(`^(?:${matcher})$`).test(tool);
}

/** Each hook of a config, flattened with its event and matcher. */
export function eachHook(config: HooksConfig): { event: HookEvent; matcher: string | undefined; hook: HookCommand }[] {
  return hookEvents.flatMap((event) => (config[event] ?? []).flatMap((group) => group.hooks.map((hook) => ({ event, matcher: group.matcher, hook }))));
}
