/**
 * Reads `.git/index` (versions 2, 3 and 4, SHA-1) as git's gitformat-index describes it, for the
 * fast status: the per-entry stat data is what lets status skip hashing unchanged files.
 * Read-only; an index this reader does not fully understand (a split or sparse index, another
 * hash) is reported as unsupported, and the caller takes the slower, always-correct way.
 */
import { SophiaError } from '../../shared/errors';

export interface GitIndexEntry {
  readonly path: string;
  readonly ctimeSec: number;
  readonly ctimeNsec: number;
  readonly mtimeSec: number;
  readonly mtimeNsec: number;
  readonly dev: number;
  readonly ino: number;
  /** 0o100644, 0o100755, 0o120000 or 0o160000 (a submodule). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** The file's size truncated to 32 bits, as git stores it. */
  readonly size: number;
  readonly oid: string;
  /** 0 for a normal entry; 1 to 3 during a merge conflict. */
  readonly stage: number;
  readonly assumeValid: boolean;
  readonly skipWorktree: boolean;
  readonly intentToAdd: boolean;
}

export interface GitIndexFile {
  readonly version: number;
  readonly entries: readonly GitIndexEntry[];
}

/**
 * An index or repository this reader will not interpret. When isomorphic-git reads it correctly
 * (`fallback`), the caller asks isomorphic-git; otherwise it says so rather than guess.
 */
export class UnsupportedIndexError extends SophiaError {
  constructor(
    why: string,
    readonly fallback = true,
  ) {
    super('unavailable', fallback ? `The git index is not one the fast status reads: ${why}.` : `Sophia cannot read this repository's status: it uses ${why}. Turn it off to use Sophia's git view here (\`git update-index --no-split-index\`, \`git config index.sparse false\`).`);
  }
}

const headerBytes = 12;
const fixedEntryBytes = 62;
const oidBytes = 20;
const trailerBytes = 20;

export function parseGitIndex(buffer: Buffer): GitIndexFile {
  if (buffer.length < headerBytes + trailerBytes || buffer.toString('latin1', 0, 4) !== 'DIRC') throw new UnsupportedIndexError('no DIRC signature');
  const version = buffer.readUInt32BE(4);
  if (version < 2 || version > 4) throw new UnsupportedIndexError(`version ${version}`);
  const count = buffer.readUInt32BE(8);
  const entries: GitIndexEntry[] = new Array<GitIndexEntry>(count);
  const end = buffer.length - trailerBytes;
  let offset = headerBytes;
  let previousPath: Buffer = Buffer.alloc(0);
  for (let i = 0; i < count; i += 1) {
    const at = offset;
    if (at + fixedEntryBytes > end) throw new UnsupportedIndexError('truncated entry');
    const flags = buffer.readUInt16BE(at + 60);
    const extended = (flags & 0x4000) !== 0;
    if (extended && version < 3) throw new UnsupportedIndexError('extended flags in a version 2 index');
    const extendedFlags = extended ? buffer.readUInt16BE(at + fixedEntryBytes) : 0;
    let cursor = at + fixedEntryBytes + (extended ? 2 : 0);
    let pathBytes: Buffer;
    if (version === 4) {
      // Prefix compression: drop N bytes from the end of the previous path, then append a NUL-terminated suffix.
      let byte = buffer[cursor++] ?? 0;
      let drop = byte & 0x7f;
      while (byte & 0x80) {
        byte = buffer[cursor++] ?? 0;
        drop = ((drop + 1) << 7) | (byte & 0x7f);
      }
      const nul = buffer.indexOf(0, cursor);
      if (nul < 0 || nul > end || drop > previousPath.length) throw new UnsupportedIndexError('bad path in a version 4 entry');
      pathBytes = Buffer.concat([previousPath.subarray(0, previousPath.length - drop), buffer.subarray(cursor, nul)]);
      offset = nul + 1;
    } else {
      const nameLength = flags & 0x0fff;
      const nul = nameLength < 0x0fff ? cursor + nameLength : buffer.indexOf(0, cursor);
      if (nul < 0 || nul > end) throw new UnsupportedIndexError('bad path in an entry');
      pathBytes = buffer.subarray(cursor, nul);
      // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
      offset = at + Math.floor((nul - at + 8) / 8) * 8;
    }
    previousPath = pathBytes;
    entries[i] = {
      path: pathBytes.toString('utf8'),
      ctimeSec: buffer.readUInt32BE(at),
      ctimeNsec: buffer.readUInt32BE(at + 4),
      mtimeSec: buffer.readUInt32BE(at + 8),
      mtimeNsec: buffer.readUInt32BE(at + 12),
      dev: buffer.readUInt32BE(at + 16),
      ino: buffer.readUInt32BE(at + 20),
      mode: buffer.readUInt32BE(at + 24),
      uid: buffer.readUInt32BE(at + 28),
      gid: buffer.readUInt32BE(at + 32),
      size: buffer.readUInt32BE(at + 36),
      oid: buffer.toString('hex', at + 40, at + 40 + oidBytes),
      stage: (flags >> 12) & 0x3,
      assumeValid: (flags & 0x8000) !== 0,
      skipWorktree: (extendedFlags & 0x4000) !== 0,
      intentToAdd: (extendedFlags & 0x2000) !== 0,
    };
  }
  checkExtensions(buffer, offset, end);
  return { version, entries };
}

/** Extensions that change what the entries mean make the index unsupported; the others (TREE, REUC, UNTR, ...) are optional. */
function checkExtensions(buffer: Buffer, start: number, end: number): void {
  let offset = start;
  while (offset + 8 <= end) {
    const signature = buffer.toString('latin1', offset, offset + 4);
    const size = buffer.readUInt32BE(offset + 4);
    if (signature === 'link') throw new UnsupportedIndexError('a split index', false);
    if (signature === 'sdir') throw new UnsupportedIndexError('a sparse index', false);
    offset += 8 + size;
  }
}
