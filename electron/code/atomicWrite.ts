/**
 * Writes several files as one change: all of them or none. Each new text goes to a
 * temporary file beside its target first; only when every one is written are they renamed
 * into place, and if a rename fails the ones already renamed are put back as they were.
 * A rename within a folder is atomic, so a reader sees the old file or the new, never half.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../log';
import { sha256 } from './textFile';

const log = createLogger('atomicWrite');

export interface FileWrite {
  /** The real, confined path. */
  readonly file: string;
  /** The file's bytes when the change was proposed; null when it did not exist. */
  readonly base: Uint8Array | null;
  readonly bytes: Uint8Array;
}

export class StaleFilesError extends Error {
  override readonly name = 'StaleFilesError';
  constructor(readonly files: readonly string[]) {
    super(`${files.join(', ')} changed on disk since the proposal.`);
  }
}

/** The files whose bytes on disk are no longer the proposal's base. */
export async function staleFiles(writes: readonly FileWrite[]): Promise<string[]> {
  const stale: string[] = [];
  for (const write of writes) {
    const current = await readFile(write.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    const same = current === null || write.base === null ? current === write.base : sha256(current) === sha256(write.base);
    if (!same) stale.push(write.file);
  }
  return stale;
}

export async function writeAllOrNone(writes: readonly FileWrite[]): Promise<void> {
  const stale = await staleFiles(writes);
  if (stale.length > 0) throw new StaleFilesError(stale);

  const createdDirs: string[] = [];
  const temps: { write: FileWrite; temp: string }[] = [];
  const renamed: FileWrite[] = [];
  try {
    for (const write of writes) {
      const dir = path.dirname(write.file);
      const made = await mkdir(dir, { recursive: true });
      if (made) createdDirs.push(made);
      const temp = path.join(dir, `.${path.basename(write.file)}.sophia-${randomBytes(6).toString('hex')}.tmp`);
      await writeFile(temp, write.bytes, { flag: 'wx' });
      temps.push({ write, temp });
      if (write.base !== null) {
        const mode = (await stat(write.file)).mode & 0o7777;
        await chmod(temp, mode);
      }
    }
    // The last look before anything is replaced: a file edited meanwhile stops it all.
    const late = await staleFiles(writes);
    if (late.length > 0) throw new StaleFilesError(late);
    for (const { write, temp } of temps) {
      await rename(temp, write.file);
      renamed.push(write);
    }
  } catch (error) {
    await rollBack(renamed, temps.map((entry) => entry.temp), createdDirs);
    throw error;
  }
}

async function rollBack(renamed: readonly FileWrite[], temps: readonly string[], createdDirs: readonly string[]): Promise<void> {
  for (const write of renamed.toReversed()) {
    try {
      if (write.base === null) await rm(write.file, { force: true });
      else await writeFile(write.file, write.base);
    } catch (error) {
      log.error('could not put a file back after a failed change', { file: write.file, error });
    }
  }
  for (const temp of temps) await rm(temp, { force: true }).catch(() => undefined);
  // Folders made for new files, deepest first; a folder someone else filled meanwhile stays.
  for (const dir of [...createdDirs].toReversed()) {
    await removeEmptyUpTo(dir).catch(() => undefined);
  }
}

/** Removes `dir` and the folders under it, only where they are empty. */
async function removeEmptyUpTo(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await removeEmptyUpTo(path.join(dir, entry.name));
  }
  await rmdir(dir);
}
