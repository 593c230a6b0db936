/**
 * A log file, or a folder of logs, outside the workspace. A folder means the regular files
 * directly in it, newest first (a rotated `app.log`, `app.log.1`, ...), at most
 * `folderFiles` of them; a link in it that leaves the folder is refused, a binary file
 * (a NUL byte in its first 8 KiB: a `.gz`) and a file named like a secret are skipped, and
 * each says so. Files are read from the end in 64 KiB blocks, so a huge file costs bounded
 * memory and only the part the query needs: reading stops at the tail, at the first line
 * older than `since`, or at `scanBytes` for the whole call.
 *
 * The window: when a file's lines start with timestamps (ISO 8601, syslog) they decide it,
 * a line without one belonging to the stamped line above it; otherwise the file's
 * modification time does (a file last written before `since` is left out whole).
 */
import { constants } from 'node:fs';
import { lstat, open, opendir, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { expandHome } from '../core/folderListing';
import { isSecretName } from '../core/workspacePaths';
import { inWindow, lineTimestamp, LogQueryError, logReadLimits, matchLine, windowSet, type LogQuery, type LogReadResult } from './logQuery';

const blockBytes = 64 * 1024;
/** Bytes of one line kept while reading it backwards (its start); the rest is dropped. */
const lineBytes = 16 * 1024;
const sniffBytes = 8 * 1024;
/** Unstamped lines held while looking for the stamped line they belong to. */
const maxPending = 500;

/** `~` expanded, absolute, links resolved: where a source's path really is. */
export async function realSourcePath(raw: string): Promise<string> {
  const expanded = expandHome(raw.trim());
  if (!path.isAbsolute(expanded)) throw new LogQueryError(`${raw.slice(0, 300)} is not an absolute path (or one starting with ~).`);
  return realpath(path.resolve(expanded));
}

/** Whether `inner` is `outer` or inside it (both real paths). */
export function isInside(outer: string, inner: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

interface LogFile {
  readonly file: string;
  /** As shown before each line of a folder's files. */
  readonly label: string;
  readonly mtimeMs: number;
  readonly size: number;
}

async function folderFiles(folder: string, workspace: string | undefined, notes: string[]): Promise<LogFile[]> {
  const files: LogFile[] = [];
  const dir = await opendir(folder);
  let listed = 0;
  try {
    for await (const entry of dir) {
      listed += 1;
      if (listed > logReadLimits.folderEntries) {
        notes.push(`the folder has more than ${logReadLimits.folderEntries} entries; only the first ${logReadLimits.folderEntries} listed were considered`);
        break;
      }
      if (entry.isDirectory()) continue;
      const full = path.join(folder, entry.name);
      if (isSecretName(entry.name)) {
        notes.push(`skipped ${entry.name}: named like a secret file`);
        continue;
      }
      let real = full;
      if (entry.isSymbolicLink()) {
        real = await realpath(full).catch(() => '');
        if (real === '' || !isInside(folder, real) || real === folder) {
          notes.push(`refused ${entry.name}: a link that leaves the folder`);
          continue;
        }
      }
      if (workspace && isInside(workspace, real)) {
        notes.push(`refused ${entry.name}: it is in the workspace (read it with read_file)`);
        continue;
      }
      const info = await stat(real).catch(() => undefined);
      if (!info?.isFile()) continue;
      files.push({ file: real, label: entry.name, mtimeMs: info.mtimeMs, size: info.size });
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
  // Two links to one file are read once.
  const unique = [...new Map(files.map((file) => [file.file, file])).values()];
  unique.sort((a, b) => b.mtimeMs - a.mtimeMs || a.label.localeCompare(b.label));
  if (unique.length > logReadLimits.folderFiles) notes.push(`the folder has ${unique.length} files; only the newest ${logReadLimits.folderFiles} were considered`);
  return unique.slice(0, logReadLimits.folderFiles);
}

/** The file's lines from the last to the first, decoded; stops at `budget.bytes`. */
async function* linesFromEnd(handle: FileHandle, size: number, budget: { bytes: number }): AsyncGenerator<string, { complete: boolean }> {
  let position = size;
  let carry: Buffer = Buffer.alloc(0);
  let carryCut = false;
  const block = Buffer.alloc(blockBytes);
  while (position > 0) {
    if (budget.bytes <= 0) return { complete: false };
    const length = Math.min(blockBytes, position, budget.bytes);
    position -= length;
    budget.bytes -= length;
    const { bytesRead } = await handle.read(block, 0, length, position);
    let buffer = Buffer.concat([block.subarray(0, bytesRead), carry]);
    let end = buffer.length;
    for (let index = buffer.lastIndexOf(10, end - 1); index >= 0; index = end > 0 ? buffer.lastIndexOf(10, end - 1) : -1) {
      // A file's last newline ends its last line; there is no empty line after it.
      if (!(position + bytesRead === size && index === buffer.length - 1 && carry.length === 0)) {
        yield decode(buffer.subarray(index + 1, end), carryCut && end === buffer.length);
        if (end === buffer.length) carryCut = false;
      }
      end = index;
    }
    buffer = buffer.subarray(0, end);
    // The start of a line not yet complete: only its first `lineBytes` are kept.
    if (buffer.length > lineBytes) {
      carry = Buffer.from(buffer.subarray(0, lineBytes));
      carryCut = true;
    } else {
      carry = Buffer.from(buffer);
    }
  }
  if (carry.length > 0) yield decode(carry, carryCut);
  return { complete: true };
}

function decode(bytes: Buffer, cut: boolean): string {
  const text = bytes.toString('utf8');
  return cut ? `${text} … [line cut: longer than ${lineBytes} bytes]` : text;
}

async function isBinary(handle: FileHandle, size: number): Promise<boolean> {
  const sniff = Buffer.alloc(Math.min(sniffBytes, size));
  const { bytesRead } = await handle.read(sniff, 0, sniff.length, 0);
  return sniff.subarray(0, bytesRead).includes(0);
}

/** Whether the file's lines carry timestamps: any of its last block's lines starts with one. */
async function hasLineStamps(handle: FileHandle, size: number, now: number): Promise<boolean> {
  const length = Math.min(blockBytes, size);
  const tail = Buffer.alloc(length);
  const { bytesRead } = await handle.read(tail, 0, length, size - length);
  return tail
    .subarray(0, bytesRead)
    .toString('utf8')
    .split('\n')
    .some((line) => lineTimestamp(line, now) !== undefined);
}

interface Collected {
  /** Newest first, with the file label when a folder is read. */
  readonly lines: string[];
  matched: number;
  /** The scan stopped before the window was read through (tail reached, budget spent). */
  stoppedEarly: boolean;
  /** A line older than `since` was reached: older files hold nothing in the window. */
  pastSince: boolean;
  usedStamps: boolean;
  usedMtime: boolean;
}

async function readOne(log: LogFile, query: LogQuery, prefix: boolean, budget: { bytes: number }, into: Collected, notes: string[]): Promise<void> {
  let handle: FileHandle;
  try {
    // Not through a link swapped in after the folder was listed.
    handle = await open(log.file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    notes.push(`could not open ${log.label} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return;
  }
  try {
    const { size, mtimeMs } = await handle.stat();
    if (size === 0) return;
    if (await isBinary(handle, size)) {
      notes.push(`skipped ${log.label}: binary (compressed?)`);
      return;
    }
    const stamped = await hasLineStamps(handle, size, query.now);
    const windowed = windowSet(query.window);
    if (windowed && !stamped) {
      into.usedMtime = true;
      // Every line of a file was written by its last modification.
      if (query.window.since !== undefined && mtimeMs < query.window.since) {
        into.pastSince = true;
        return;
      }
    }
    if (windowed && stamped) into.usedStamps = true;
    const shown = (line: string): string => (prefix ? `${log.label}: ${line}` : line);
    const want = (): boolean => into.lines.length < query.tail;
    // Newest first: lines without a stamp wait for the stamped line above them (their record's time).
    let pending: string[] = [];
    let later: number | undefined;
    const decide = (line: string, at: number | undefined): void => {
      if (windowed && stamped) {
        if (at === undefined || !inWindow(query.window, at)) return;
      }
      const matched = matchLine(query, line);
      if (matched === undefined) return;
      into.matched += 1;
      if (want()) into.lines.push(shown(matched));
    };
    const lines = linesFromEnd(handle, size, budget);
    let step = await lines.next();
    while (!step.done) {
      if (query.signal.aborted) throw new LogQueryError('Stopped.');
      const line = step.value;
      const at = stamped ? lineTimestamp(line, query.now) : undefined;
      if (!stamped) {
        decide(line, undefined);
      } else if (at === undefined) {
        pending.push(line);
        if (pending.length > maxPending) {
          // A record longer than this: its lines take the time of the record after it.
          for (const held of pending) decide(held, later ?? mtimeMs);
          pending = [];
        }
      } else {
        for (const held of pending) decide(held, at);
        pending = [];
        decide(line, at);
        later = at;
        if (windowed && query.window.since !== undefined && at < query.window.since) {
          into.pastSince = true;
          break;
        }
      }
      if (!want()) {
        into.stoppedEarly = true;
        break;
      }
      step = await lines.next();
    }
    if (step.done && !step.value.complete) {
      into.stoppedEarly = true;
      notes.push(`stopped reading ${log.label} at the ${Math.round(logReadLimits.scanBytes / 1024 / 1024)} MiB read limit; older lines were not read`);
    }
    // Lines above the file's first stamp: undated, so only without a window.
    if (step.done && step.value.complete) for (const held of pending) decide(held, windowed ? undefined : later);
    await lines.return({ complete: true });
  } finally {
    await handle.close();
  }
}

/** Reads a file source: one file, or a folder's files newest first. */
export async function readFileSource(real: string, query: LogQuery, workspace: string | undefined): Promise<LogReadResult> {
  const notes: string[] = [];
  const info = await lstat(real);
  const folder = info.isDirectory();
  if (!folder && !info.isFile()) throw new LogQueryError(`${real} is neither a file nor a folder.`);
  const files: LogFile[] = folder ? await folderFiles(real, workspace, notes) : [{ file: real, label: path.basename(real), mtimeMs: info.mtimeMs, size: info.size }];
  const budget = { bytes: logReadLimits.scanBytes };
  const collected: Collected = { lines: [], matched: 0, stoppedEarly: false, pastSince: false, usedStamps: false, usedMtime: false };
  let read = 0;
  for (const file of files) {
    if (collected.lines.length >= query.tail || collected.pastSince || budget.bytes <= 0) {
      collected.stoppedEarly ||= collected.lines.length >= query.tail || budget.bytes <= 0;
      break;
    }
    read += 1;
    await readOne(file, query, folder, budget, collected, notes);
  }
  const basis =
    collected.usedStamps && collected.usedMtime
      ? 'line timestamps where lines have them, else file modification times'
      : collected.usedMtime
        ? 'file modification times (the lines carry no timestamps)'
        : 'line timestamps';
  if (collected.usedMtime && query.window.until !== undefined) notes.push('until does not apply to lines without timestamps: a file that was written in the window is read whole');
  return {
    lines: collected.lines.reverse(),
    matched: collected.matched,
    matchedAll: !collected.stoppedEarly,
    windowBasis: basis,
    detail: folder ? `folder ${real}: ${read} of ${files.length} ${files.length === 1 ? 'file' : 'files'} read, newest first` : `file ${real}`,
    notes,
  };
}
