/**
 * Secret files hidden from the sandbox. The workspace is bind-mounted whole, so without
 * this a command could `cat .env` although `read_file .env` is refused. Every file and
 * folder whose name the workspace rules call secret (`isSecretName` in
 * `core/workspacePaths.ts`: `.env`, private keys, credential files) is covered inside the
 * container: a file by an empty read-only file (`/dev/null`), a folder by an empty
 * read-only tmpfs. Links are not covered themselves: inside the container a link resolves
 * to a container path, which is either covered by its own name or not the workspace's.
 *
 * The list is read when a container is made; a secret file the person adds to the
 * workspace later is covered from the next container on. Past the bounds below the
 * workspace is not mounted at all (fail closed).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { SophiaError } from '../../shared/errors';
import { isSecretName } from '../core/workspacePaths';

export interface SecretMask {
  /** Workspace-relative, `/`-separated. */
  readonly relative: string;
  readonly kind: 'file' | 'folder';
}

/** Entries looked at before giving up; enough for a workspace with its dependencies installed. */
export const maxScannedEntries = 300_000;
/** Masks per container: each is one mount. */
export const maxMasks = 256;

/** Every secret file and folder under `root` (not inside `.git`), sorted. */
export async function findSecretMasks(root: string): Promise<SecretMask[]> {
  const masks: SecretMask[] = [];
  let scanned = 0;
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(path.join(root, relative), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      // A folder the app cannot read is a folder it cannot check: the sandbox does not get the workspace.
      if (relative === '' || error.code !== 'ENOENT') throw new SophiaError('refused', `Sophia could not check ${relative || 'the workspace'} for secret files (${error.code ?? 'error'}), so the sandbox does not mount the workspace.`);
      return [];
    });
    for (const entry of entries) {
      scanned += 1;
      if (scanned > maxScannedEntries) {
        throw new SophiaError('refused', `The workspace has more than ${maxScannedEntries.toLocaleString('en')} files and folders; Sophia cannot check them all for secret files, so the sandbox does not mount it.`);
      }
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.name === '.git') continue;
      const secret = isSecretName(entry.name);
      if (entry.isDirectory()) {
        if (secret) masks.push({ relative: child, kind: 'folder' });
        else await walk(child);
      } else if (entry.isFile() && secret) {
        masks.push({ relative: child, kind: 'file' });
      }
      if (masks.length > maxMasks) {
        throw new SophiaError('refused', `The workspace holds more than ${maxMasks} secret files; the sandbox cannot hide them all, so it does not mount the workspace.`);
      }
    }
  };
  await walk('');
  return masks.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}

/** Identifies a mask set, to tell whether a warm container hides what a task needs hidden. */
export function masksKey(masks: readonly SecretMask[] | undefined): string {
  return JSON.stringify(masks ?? []);
}
