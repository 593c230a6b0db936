/**
 * The host's folders for the browser-mode folder picker: the names of a folder's
 * sub-directories, never a file's name or content. The path must be absolute once `~` is
 * expanded; links are resolved, so the listing says where it really is. A huge folder is
 * read only so far and the listing says it was cut; a folder Sophia may not read is said
 * in words.
 */
import { opendir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { FolderListing } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';

/** Entries read from one folder, folders listed, and links followed, at most. */
export const listingBounds = { entries: 20_000, folders: 1000, links: 500 } as const;

/** `~` and `~/...` as the shell expands them; other paths unchanged. */
export function expandHome(input: string, home: string = homedir()): string {
  if (input === '~') return home;
  if (input.startsWith('~/') || (path.sep === '\\' && input.startsWith('~\\'))) return path.join(home, input.slice(2));
  return input;
}

function describeFsError(error: unknown, shown: string): SophiaError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new SophiaError('bad_request', `${shown} does not exist.`);
    case 'ENOTDIR':
      return new SophiaError('bad_request', `${shown} is not a folder.`);
    case 'EACCES':
    case 'EPERM':
      return new SophiaError('refused', `Sophia may not read ${shown} (permission denied).`);
    case 'ELOOP':
      return new SophiaError('bad_request', `${shown} is a loop of links.`);
    default:
      return new SophiaError('unavailable', `Could not read ${shown}${code ? ` (${code})` : ''}.`);
  }
}

export async function listFolders(requested: string | undefined, bounds: { entries: number; folders: number; links: number } = listingBounds): Promise<FolderListing> {
  const home = homedir();
  const wanted = expandHome(requested ?? home, home);
  if (!path.isAbsolute(wanted)) throw new SophiaError('bad_request', 'A folder path must be absolute (or start with ~).');
  const shown = wanted.slice(0, 300);
  let real: string;
  try {
    real = await realpath(wanted);
    if (!(await stat(real)).isDirectory()) throw new SophiaError('bad_request', `${shown} is a file, not a folder.`);
  } catch (error) {
    throw error instanceof SophiaError ? error : describeFsError(error, shown);
  }
  const folders: { name: string; path: string }[] = [];
  let truncated = false;
  let read = 0;
  let linksFollowed = 0;
  try {
    const dir = await opendir(real, { bufferSize: 256 });
    try {
      for await (const entry of dir) {
        if (++read > bounds.entries || folders.length >= bounds.folders) {
          truncated = true;
          break;
        }
        const full = path.join(real, entry.name);
        if (entry.name.length > 255 || full.length > 4096) continue;
        let isFolder = entry.isDirectory();
        if (!isFolder && entry.isSymbolicLink()) {
          // A link to a folder is offered (listing it resolves where it leads); a dangling or looping link is not.
          if (++linksFollowed > bounds.links) {
            truncated = true;
            continue;
          }
          isFolder = await stat(full).then((target) => target.isDirectory(), () => false);
        }
        if (isFolder) folders.push({ name: entry.name, path: full });
      }
    } finally {
      // for-await closes the handle when it finishes or breaks; closing again is harmless.
      await dir.close().catch(() => undefined);
    }
  } catch (error) {
    throw error instanceof SophiaError ? error : describeFsError(error, shown);
  }
  // Visible folders first, then hidden ones, each alphabetically.
  folders.sort((a, b) => Number(a.name.startsWith('.')) - Number(b.name.startsWith('.')) || a.name.localeCompare(b.name));
  const parent = path.dirname(real);
  return { path: real, parent: parent === real ? null : parent, home, folders, truncated };
}
