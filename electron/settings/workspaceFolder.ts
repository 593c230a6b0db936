/**
 * The workspace folder as Settings saves it: `~` expanded, absolute, an existing folder
 * Sophia may read and enter. Every refusal names the field, so the form shows it beside the
 * workspace input.
 */
import { constants, statSync, accessSync } from 'node:fs';
import path from 'node:path';
import { SophiaError } from '../../shared/errors';
import { expandHome } from '../core/folderListing';

function refusal(message: string): SophiaError {
  return new SophiaError('bad_request', message, { field: 'workspace' });
}

/** The folder to store, or a refusal in words; '' (no workspace) stays ''. */
export function checkedWorkspaceFolder(input: string, home?: string): string {
  const trimmed = input.trim();
  if (trimmed === '') return '';
  const expanded = expandHome(trimmed, home);
  if (!path.isAbsolute(expanded)) throw refusal(`The workspace must be an absolute folder path (or start with ~): ${trimmed.slice(0, 300)} is not.`);
  const folder = path.resolve(expanded);
  const shown = folder.slice(0, 300);
  let isFolder: boolean;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw refusal(`The folder ${shown} does not exist. Create it first, or pick another.`);
    if (code === 'EACCES' || code === 'EPERM') throw refusal(`Sophia may not open ${shown} (permission denied).`);
    throw refusal(`Could not open ${shown}${code ? ` (${code})` : ''}.`);
  }
  if (!isFolder) throw refusal(`${shown} is a file, not a folder. Pick the folder that holds your project.`);
  try {
    accessSync(folder, constants.R_OK | constants.X_OK);
  } catch {
    throw refusal(`Sophia may not read ${shown} (permission denied). Pick a folder you can read.`);
  }
  return folder;
}
