/**
 * Where hooks come from, read leniently the way Claude Code's settings files are written: a
 * `settings.json` may hold other keys, other events (SessionStart...) and other hook types
 * (prompt, http); those are left out and listed as notices, never guessed at. The user's hooks
 * live in the app's settings table (key `hooks`), validated on the way in and out.
 */
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { hookCommand, hookEvents, hookLimits, hooksConfig, type HookGroup, type HooksConfig } from '../../shared/hooks';
import type { SqliteDatabase } from '../db/sqlite';
import { createLogger } from '../log';

const log = createLogger('hookConfig');

/** The workspace files a repository may declare hooks in (Sophia's own, and Claude Code's project file). */
export const workspaceHookFiles = [path.join('.sophia', 'settings.json'), path.join('.claude', 'settings.json')] as const;

/** The managed hooks: Claude Code's `managed-settings.json`, beside the administrator's policy file. */
export function managedHookFile(managedPolicyFile: string): string {
  return path.join(path.dirname(managedPolicyFile), 'managed-settings.json');
}

export interface ReadHooks {
  readonly hooks: HooksConfig;
  readonly notices: string[];
  /** The file exists but could not be read or parsed: its hooks are unknown. */
  readonly unreadable: boolean;
}

const noHooks: ReadHooks = { hooks: {}, notices: [], unreadable: false };

/**
 * Reads a settings file's `hooks`; a missing file has none. With `within`, a file whose real
 * path leads out of that folder (a link planted in a repository) is not read.
 */
export function readHookFile(file: string, within?: string): ReadHooks {
  let text: string;
  try {
    if (within !== undefined) {
      const real = realpathSync(file);
      const root = realpathSync(within);
      if (!real.startsWith(root + path.sep)) return { hooks: {}, notices: [`${file} leads out of the workspace and is not read`], unreadable: true };
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return noHooks;
    log.warn('hook file unreadable', { file, error });
    return { hooks: {}, notices: [`${file} could not be read: ${(error as Error).message}`.slice(0, 500)], unreadable: true };
  }
  return parseHookSettings(text);
}

/** The hooks of a settings document (JSON), with what was left out. */
export function parseHookSettings(text: string): ReadHooks {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // The parser's message quotes the text: it is not repeated.
    return { hooks: {}, notices: ['not valid JSON'], unreadable: true };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { hooks: {}, notices: ['the file is not a JSON object'], unreadable: true };
  const raw = (doc as { hooks?: unknown }).hooks;
  if (raw === undefined) return noHooks;
  return lenientHooks(raw);
}

function lenientHooks(raw: unknown): ReadHooks {
  const notices: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { hooks: {}, notices: ['"hooks" is not an object'], unreadable: true };
  const hooks: Record<string, HookGroup[]> = {};
  let unreadable = false;
  for (const [event, groups] of Object.entries(raw)) {
    if (!(hookEvents as readonly string[]).includes(event)) {
      notices.push(`${event}: Sophia runs ${hookEvents.join(', ')} hooks only; this event is ignored`);
      continue;
    }
    if (!Array.isArray(groups)) {
      notices.push(`${event}: not a list of matcher groups`);
      unreadable = true;
      continue;
    }
    const kept: HookGroup[] = [];
    for (const [index, group] of groups.slice(0, hookLimits.groupsPerEvent).entries()) {
      const matcher = (group as { matcher?: unknown } | null)?.matcher;
      const list = (group as { hooks?: unknown } | null)?.hooks;
      if ((matcher !== undefined && typeof matcher !== 'string') || !Array.isArray(list)) {
        notices.push(`${event}[${index}]: needs "hooks": [...] and an optional string "matcher"`);
        unreadable = true;
        continue;
      }
      const commands = [];
      for (const [at, entry] of list.slice(0, hookLimits.hooksPerGroup).entries()) {
        const type = (entry as { type?: unknown } | null)?.type;
        if (type !== 'command') {
          notices.push(`${event}[${index}].hooks[${at}]: hook type ${JSON.stringify(type)?.slice(0, 40)} is not run; only "command" hooks are`);
          continue;
        }
        const { type: _type, command, timeout } = entry as { type: string; command?: unknown; timeout?: unknown };
        const checked = hookCommand.safeParse({
          type: 'command',
          command,
          // Claude Code allows longer timeouts; here they are capped.
          ...(typeof timeout === 'number' && timeout > 0 ? { timeout: Math.min(timeout, hookLimits.maxTimeoutSeconds) } : {}),
        });
        if (checked.success) commands.push(checked.data);
        else {
          notices.push(`${event}[${index}].hooks[${at}]: ${checked.error.issues[0]?.message ?? 'not a valid command hook'}`.slice(0, 500));
          unreadable = true;
        }
      }
      if (commands.length > 0) kept.push({ ...(matcher === undefined ? {} : { matcher: matcher.slice(0, hookLimits.matcher) }), hooks: commands });
    }
    if (kept.length > 0) hooks[event] = kept;
  }
  return { hooks: hooksConfig.parse(hooks), notices: notices.slice(0, 50), unreadable };
}

/** The user's hooks, in the app's settings table beside the other settings (which ignore this key). */
export class UserHookStore {
  readonly #get;
  readonly #put;

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'hooks'");
    this.#put = db.prepare("INSERT INTO settings (key, value) VALUES ('hooks', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  }

  get(): HooksConfig {
    const row = this.#get.get();
    if (!row) return {};
    let value: unknown;
    try {
      value = JSON.parse(row.value);
    } catch {
      value = undefined;
    }
    const checked = hooksConfig.safeParse(value);
    if (checked.success) return checked.data;
    // Fail closed on the person's own guards: an unreadable stored set is reported, and the service denies.
    throw new Error('The saved hooks are not valid; open Settings → Hooks and save them again.');
  }

  set(hooks: HooksConfig): HooksConfig {
    const next = hooksConfig.parse(hooks);
    this.#put.run(JSON.stringify(next));
    return next;
  }
}
