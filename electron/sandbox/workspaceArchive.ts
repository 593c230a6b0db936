/**
 * The workspace as a tar archive, for engines that cannot see this machine's disk (a remote
 * Docker engine, Podman): `packWorkspace` makes what `putArchive` sends to `/workspace` at
 * hand-out, and `applyWorkspaceArchive` takes what `getArchive` brings back after a step the
 * person approved to write.
 *
 * Going out, only what a local sandbox could read is sent, less what it must not see: regular
 * files, folders and links that stay inside the workspace; not `.git/`, not what `.gitignore`
 * files exclude (every level, and `.git/info/exclude`), not secret files or folders (the rules
 * of `isSecretName`, the same ones the local sandbox covers with masks). For read-only access
 * every entry belongs to root and only the owner may write, so the command user (not root, no
 * capabilities) cannot change anything: that is what "read-only" means without a read-only
 * mount. Past the limits below nothing is sent at all.
 *
 * Coming back, the archive was written by whatever ran in the sandbox: every entry is checked
 * before anything on this machine is touched, and only then are the changes written, each one
 * confined to the workspace (no `..`, no absolute names, no writing through links, no hard
 * links or devices, nothing into `.git/`, secret or ignored paths).
 */
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, realpath, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type * as TarStream from 'tar-stream';
import ignore, { type Ignore } from 'ignore';
import { SophiaError } from '../../shared/errors';
import { requireOnFirstUse } from '../core/lazyRequire';
import { isSecretName, isSecretPath } from '../core/workspacePaths';
import { createLogger } from '../log';
import type { SyncReport } from './sandbox';

const log = createLogger('workspaceArchive');
const tarStream = requireOnFirstUse<typeof TarStream>('tar-stream');

const MiB = 1024 * 1024;

export const workspaceArchiveLimits = {
  /** Files, folders and links sent; a workspace past it is refused, not sent in part. */
  maxEntries: 50_000,
  /** Bytes of file content sent (and accepted back). */
  maxBytes: 512 * MiB,
  /** One file coming back; larger ones are left out. */
  maxFileBytes: 64 * MiB,
  /** Entries looked at while scanning, ignored ones included. */
  maxScanned: 300_000,
  /** A .gitignore file larger than this is not a .gitignore file: refused. */
  maxIgnoreFileBytes: 1 * MiB,
} as const;

/** Files up to this size are read in one go; larger ones are streamed in 1 MiB pieces. */
const smallFileBytes = 1 * MiB;

/** Names the archive's entries are owned by; see the module comment. */
export type ArchiveOwner = { readonly uid: number; readonly gid: number };

interface ScannedEntry {
  /** Workspace-relative, `/`-separated. */
  readonly relative: string;
  readonly type: 'directory' | 'file' | 'symlink';
  readonly size: number;
  readonly executable: boolean;
  readonly mtime: Date;
  readonly dev: number;
  readonly ino: number;
  /** Symlinks: relative to the link's folder, never leaving the workspace. */
  readonly linkname?: string;
}

/** A regular file as it was on this machine when it was sent (to tell a deletion in the sandbox from a change here). */
export interface SentFile {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  readonly executable: boolean;
  /** Of the content sent: a file the sandbox did not change is never written back. */
  readonly sha256: string;
}

function sha256(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

export interface WorkspaceScan {
  /** The real path of the workspace. */
  readonly root: string;
  readonly entries: readonly ScannedEntry[];
  readonly files: number;
  readonly bytes: number;
  /** What was left out, by reason (counts only: names of secret files are not logged). */
  readonly leftOut: { ignored: number; secret: number; git: number; links: number; special: number };
}

/** The rules of every `.gitignore` on the way to a path, read from this machine's disk. */
export class GitignoreRules {
  readonly #root: string;
  readonly #layers = new Map<string, Promise<Ignore | undefined>>();

  constructor(root: string) {
    this.#root = root;
  }

  /** Whether git would leave the path out: a rule at any level, or a folder above it left out. */
  async ignored(relative: string, isDirectory: boolean): Promise<boolean> {
    const parts = relative.split('/');
    for (let depth = 1; depth <= parts.length; depth++) {
      const prefix = parts.slice(0, depth).join('/');
      const asDirectory = depth < parts.length || isDirectory;
      if (await this.#decide(prefix, asDirectory)) return true;
    }
    return false;
  }

  /** The deepest .gitignore with an opinion about `relative` itself decides (git's precedence). */
  async #decide(relative: string, isDirectory: boolean): Promise<boolean> {
    const parts = relative.split('/');
    let ignored = false;
    for (let depth = 0; depth < parts.length; depth++) {
      const base = parts.slice(0, depth).join('/');
      const rules = await this.#layer(base);
      if (!rules) continue;
      const own = parts.slice(depth).join('/') + (isDirectory ? '/' : '');
      const result = rules.test(own);
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  }

  #layer(base: string): Promise<Ignore | undefined> {
    let layer = this.#layers.get(base);
    if (!layer) {
      layer = this.#load(base);
      this.#layers.set(base, layer);
    }
    return layer;
  }

  async #load(base: string): Promise<Ignore | undefined> {
    const texts = [await readSmallRegularFile(path.join(this.#root, base, '.gitignore'))];
    // The repository's own exclude file applies like a top-level .gitignore.
    if (base === '') texts.push(await readSmallRegularFile(path.join(this.#root, '.git', 'info', 'exclude')));
    const present = texts.filter((text): text is string => text !== undefined);
    return present.length === 0 ? undefined : ignore().add(present.join('\n'));
  }
}

/** A regular file's text (links not followed), or undefined when there is none. */
async function readSmallRegularFile(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    if (info.size > workspaceArchiveLimits.maxIgnoreFileBytes) {
      throw new SophiaError('refused', `${file} is larger than ${workspaceArchiveLimits.maxIgnoreFileBytes / MiB} MiB; Sophia does not read it as a .gitignore file, so the workspace is not sent.`);
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Synchronous file work in slices: yields to the event loop once a slice has run this long. */
class Pauser {
  #since = performance.now();

  async maybe(): Promise<void> {
    if (performance.now() - this.#since < 8) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#since = performance.now();
  }
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

function isGitName(name: string): boolean {
  return name.toLowerCase() === '.git';
}

function inside(root: string, real: string): boolean {
  return real === root || real.startsWith(root + path.sep);
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? one : many}`;
}

/** What would be sent of the workspace, checked against the limits. Reads names and sizes, no contents. */
export async function scanWorkspace(workspace: string): Promise<WorkspaceScan> {
  const root = await realpath(workspace);
  const rules = new GitignoreRules(root);
  const entries: ScannedEntry[] = [];
  const leftOut = { ignored: 0, secret: 0, git: 0, links: 0, special: 0 };
  let scanned = 0;
  let bytes = 0;
  let files = 0;
  const pause = new Pauser();
  const walk = async (relative: string): Promise<void> => {
    const names = await readdir(path.join(root, relative)).catch((error: NodeJS.ErrnoException) => {
      throw new SophiaError('refused', `Sophia could not read ${relative || 'the workspace'} (${error.code ?? 'error'}), so the workspace is not sent to the sandbox.`);
    });
    names.sort();
    for (const name of names) {
      scanned++;
      if (scanned > workspaceArchiveLimits.maxScanned) {
        throw new SophiaError('refused', `The workspace has more than ${plural(workspaceArchiveLimits.maxScanned, 'file and folder', 'files and folders')}; Sophia does not send it to a remote sandbox engine.`);
      }
      const child = relative ? `${relative}/${name}` : name;
      if (isGitName(name)) {
        leftOut.git++;
        continue;
      }
      if (isSecretName(name)) {
        leftOut.secret++;
        continue;
      }
      const full = path.join(root, child);
      await pause.maybe();
      let info: Stats;
      try {
        info = lstatSync(full);
      } catch {
        continue;
      }
      if (await rules.ignored(child, info.isDirectory())) {
        leftOut.ignored++;
        continue;
      }
      if (info.isDirectory()) {
        entries.push(entryOf(child, 'directory', info));
        await walk(child);
      } else if (info.isFile()) {
        entries.push(entryOf(child, 'file', info));
        files++;
        bytes += info.size;
      } else if (info.isSymbolicLink()) {
        const linkname = await insideLink(root, full);
        if (linkname === undefined) leftOut.links++;
        else entries.push({ ...entryOf(child, 'symlink', info), linkname });
      } else {
        // Sockets, pipes, devices: nothing a command needs, and some block on open.
        leftOut.special++;
      }
      if (entries.length > workspaceArchiveLimits.maxEntries) {
        throw new SophiaError(
          'refused',
          `The workspace has more than ${plural(workspaceArchiveLimits.maxEntries, 'file, folder and link', 'files, folders and links')} outside .gitignore; Sophia does not send it to a remote sandbox engine (it would not send part of it). Add the generated folders to .gitignore, or use the local engine.`,
        );
      }
      if (bytes > workspaceArchiveLimits.maxBytes) {
        throw new SophiaError(
          'refused',
          `The workspace holds more than ${workspaceArchiveLimits.maxBytes / MiB} MiB of files outside .gitignore; Sophia does not send it to a remote sandbox engine (it would not send part of it). Add the large or generated files to .gitignore, or use the local engine.`,
        );
      }
    }
  };
  await walk('');
  return { root, entries, files, bytes, leftOut };
}

function entryOf(relative: string, type: ScannedEntry['type'], info: Stats): ScannedEntry {
  return { relative, type, size: type === 'file' ? info.size : 0, executable: (info.mode & 0o100) !== 0, mtime: info.mtime, dev: info.dev, ino: info.ino };
}

/** A link's target as a path relative to the link, when it resolves inside the workspace. */
async function insideLink(root: string, full: string): Promise<string | undefined> {
  try {
    await readlink(full);
    const target = await realpath(full);
    if (!inside(root, target)) return undefined;
    const relative = path.relative(path.dirname(full), target);
    return relative === '' ? '.' : relative.split(path.sep).join('/');
  } catch {
    // Dangling, or a loop.
    return undefined;
  }
}

export interface PackProgress {
  readonly files: number;
  readonly bytes: number;
  readonly totalFiles: number;
  readonly totalBytes: number;
}

/** Regular files sent, by relative path, as they were when read. */
export type SentFiles = Map<string, SentFile>;

/**
 * The scanned workspace as a tar stream for `putArchive` at `/workspace`. The first entry is
 * `./`, which gives `/workspace` itself the owner and mode. A file that changed since the scan
 * (size, or replaced by something else) ends the stream with an error: nothing half-read is sent.
 */
export function packWorkspace(
  scan: WorkspaceScan,
  owner: ArchiveOwner,
  options: { readonly onProgress?: (progress: PackProgress) => void; readonly sent?: SentFiles } = {},
): Readable {
  const pack = tarStream().pack();
  const base = { uid: owner.uid, gid: owner.gid, uname: '', gname: '' };
  const pause = new Pauser();
  const write = async (): Promise<void> => {
    await addEntry(pack, { ...base, name: './', type: 'directory', mode: 0o755, mtime: new Date() });
    let files = 0;
    let bytes = 0;
    let reported = 0;
    for (const entry of scan.entries) {
      switch (entry.type) {
        case 'directory':
          await addEntry(pack, { ...base, name: entry.relative, type: 'directory', mode: 0o755, mtime: entry.mtime });
          break;
        case 'symlink':
          await addEntry(pack, { ...base, name: entry.relative, type: 'symlink', linkname: entry.linkname ?? '', mode: 0o777, mtime: entry.mtime });
          break;
        case 'file': {
          const sent = await addFile(pack, scan.root, entry, base, pause);
          options.sent?.set(entry.relative, sent);
          files++;
          bytes += entry.size;
          if (options.onProgress && (bytes - reported >= 16 * MiB || files === scan.files)) {
            reported = bytes;
            options.onProgress({ files, bytes, totalFiles: scan.files, totalBytes: scan.bytes });
          }
          break;
        }
        default: {
          const never: never = entry.type;
          throw new Error(`unknown entry type ${String(never)}`);
        }
      }
    }
    pack.finalize();
  };
  write().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  // tar-stream's streams are streamx streams; dockerode pipes a Node stream.
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

function addEntry(pack: TarStream.Pack, header: Partial<TarStream.Header> & { name: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, (error) => (error ? reject(error) : resolve()));
  });
}

async function addFile(pack: TarStream.Pack, root: string, entry: ScannedEntry, base: Partial<TarStream.Header>, pause: Pauser): Promise<SentFile> {
  const full = path.join(root, entry.relative);
  const changed = (): SophiaError => new SophiaError('refused', `${entry.relative} changed while the workspace was being sent to the sandbox; try again.`);
  const header = { ...base, name: entry.relative, type: 'file' as const, size: entry.size, mode: entry.executable ? 0o755 : 0o644, mtime: entry.mtime };
  if (entry.size <= smallFileBytes) {
    // Most files of a workspace: read at once, synchronously (a promise per system call costs
    // several times the call; `pause` yields to the event loop every few milliseconds). No
    // following links: a file swapped for a link since the scan is not read through it. A
    // byte more than the size is asked for, so a file that grew since the scan is noticed.
    await pause.maybe();
    let fd: number;
    try {
      fd = openSync(full, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch {
      throw changed();
    }
    let content: Buffer;
    let info: Stats;
    try {
      info = fstatSync(fd);
      if (!info.isFile() || info.dev !== entry.dev || info.ino !== entry.ino || info.size !== entry.size) throw changed();
      content = Buffer.alloc(entry.size + 1);
      if (readSync(fd, content, 0, content.length, 0) !== entry.size) throw changed();
    } finally {
      closeSync(fd);
    }
    await new Promise<void>((resolve, reject) => pack.entry(header, content.subarray(0, entry.size), (error) => (error ? reject(error) : resolve())));
    return { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, dev: info.dev, executable: entry.executable, sha256: sha256(content.subarray(0, entry.size)) };
  }
  const handle = await open(full, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK).catch(() => {
    throw changed();
  });
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.dev !== entry.dev || info.ino !== entry.ino || info.size !== entry.size) throw changed();
    const sink = pack.entry(header);
    const finished = new Promise<void>((resolve, reject) => {
      sink.on('finish', () => resolve());
      sink.on('error', (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))));
      sink.on('close', () => resolve());
    });
    const chunk = Buffer.alloc(Math.min(MiB, Math.max(1, entry.size)));
    const hash = createHash('sha256');
    let left = entry.size;
    while (left > 0) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, left), null);
      if (bytesRead === 0) {
        sink.destroy(changed());
        throw changed();
      }
      left -= bytesRead;
      hash.update(chunk.subarray(0, bytesRead));
      // A copy: the chunk buffer is reused for the next read.
      if (!sink.write(Buffer.from(chunk.subarray(0, bytesRead)))) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    }
    sink.end(undefined);
    await finished;
    const after = await handle.stat();
    if (after.size !== entry.size) throw changed();
    return { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino, dev: after.dev, executable: entry.executable, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------
// Coming back


type Planned =
  | { readonly kind: 'directory'; readonly relative: string }
  | { readonly kind: 'file'; readonly relative: string; readonly staged: string; readonly executable: boolean; readonly sha256: string }
  | { readonly kind: 'symlink'; readonly relative: string; readonly linkname: string };

const maxRefusedListed = 200;
/** One entry's content as tar-stream hands it over. */
type EntryStream = TarStream.ExtractEvents['entry'][1];
/** Bytes read from the sandbox's archive at most, left-out entries included: bounds the time a sync takes. */
const maxReadBytes = 4 * 1024 * MiB;

function shownName(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 197)}...` : name);
}

/** The entry's workspace-relative name, or why it is not acceptable. */
export function archiveEntryName(raw: string, prefix: string): { relative: string } | { error: string } {
  if (raw.includes('\0')) return { error: 'a NUL byte in the name' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u001f\u007f]/.test(raw)) return { error: 'control characters in the name' };
  if (raw.length > 4096) return { error: 'a name longer than 4096 characters' };
  if (raw.startsWith('/')) return { error: 'an absolute name' };
  const parts = raw.split('/').filter((part, index, all) => !(part === '' && index === all.length - 1));
  if (parts.some((part) => part === '..')) return { error: 'a ".." in the name' };
  if (parts.some((part) => part === '' || part === '.')) return { error: 'an empty or "." part in the name' };
  if (parts.some((part) => Buffer.byteLength(part) > 255)) return { error: 'a part of the name longer than 255 bytes' };
  if (parts[0] !== prefix) return { error: `a name outside ${prefix}/` };
  return { relative: parts.slice(1).join('/') };
}

/**
 * Writes what the sandbox changed under `/workspace` into the workspace on this machine.
 * `archive` is `getArchive` of `/workspace` (entries named `workspace/...`). `sent` is what
 * was sent (updated here, so a second sync compares against the first). Nothing is written
 * until the whole archive has been read and checked; past the limits nothing is written.
 */
export async function applyWorkspaceArchive(
  workspace: string,
  archive: NodeJS.ReadableStream,
  sent: SentFiles,
  options: { readonly stallMs?: number } = {},
): Promise<SyncReport> {
  const root = await realpath(workspace);
  const rules = new GitignoreRules(root);
  const staging = await mkdtemp(path.join(tmpdir(), 'sophia-sync-'));
  const report: SyncReport = { written: [], removed: [], created: [], refused: [], unchanged: 0, ignored: 0 };
  let refusedCount = 0;
  const refuse = (name: string, reason: string): void => {
    refusedCount++;
    // Listed and logged one by one up to a bound (a `git init` in the sandbox refuses hundreds).
    if (report.refused.length >= maxRefusedListed) return;
    log.warn('an entry from the sandbox was left out', { path: shownName(name), reason });
    report.refused.push({ path: name.slice(0, 1024), reason });
  };
  try {
    const planned: Planned[] = [];
    // Every well-formed name in the archive, left out or not: a sent file is deleted here only
    // when the sandbox no longer has it at all (not when, say, .gitignore changed meanwhile).
    const present = new Set<string>();
    let entries = 0;
    let accepted = 0;
    let readBytes = 0;
    let acceptedBytes = 0;
    const extract = tarStream().extract();
    const handle = async (header: TarStream.Header, stream: EntryStream): Promise<void> => {
      entries++;
      readBytes += header.size ?? 0;
      if (entries > workspaceArchiveLimits.maxScanned || readBytes > maxReadBytes) {
        throw new SophiaError('refused', `The sandbox's /workspace holds more than ${plural(workspaceArchiveLimits.maxScanned, 'entry', 'entries')} or ${maxReadBytes / MiB / 1024} GiB; nothing was copied back.`);
      }
      const kind = header.type ?? 'file';
      const relative = await acceptedName(rules, header, kind, report, refuse, present);
      if (relative !== undefined && relative !== '') {
        accepted++;
        if (accepted > workspaceArchiveLimits.maxEntries) {
          throw new SophiaError('refused', `The sandbox's /workspace holds more than ${plural(workspaceArchiveLimits.maxEntries, 'file, folder and link', 'files, folders and links')} outside .gitignore; nothing was copied back.`);
        }
      }
      let content: Buffer | undefined;
      if (relative !== undefined && relative !== '' && kind === 'file' && (header.size ?? 0) <= workspaceArchiveLimits.maxFileBytes) {
        content = await collect(stream, workspaceArchiveLimits.maxFileBytes);
        acceptedBytes += content.length;
        if (acceptedBytes > workspaceArchiveLimits.maxBytes) {
          throw new SophiaError('refused', `The sandbox's /workspace holds more than ${workspaceArchiveLimits.maxBytes / MiB} MiB outside .gitignore; nothing was copied back.`);
        }
      } else {
        await drain(stream);
      }
      if (relative === undefined || relative === '') return;
      const plan = await planEntry(root, relative, header, kind, content, staging, planned.length, refuse, sent);
      if (plan === 'unchanged') report.unchanged++;
      else if (plan !== undefined) planned.push(plan);
    };
    // Only an archive read to its end counts: a cut one would look like deleted files.
    let archiveEnded = false;
    const cut = (): SophiaError => new SophiaError('unavailable', "The sandbox's /workspace could not be read to its end; nothing was copied back.");
    const read = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        handle(header, stream).then(
          () => next(),
          (error: unknown) => extract.destroy(error instanceof Error ? error : new Error(String(error))),
        );
      });
      extract.on('finish', () => (archiveEnded ? resolve() : reject(cut())));
      extract.on('error', reject);
      extract.on('close', () => reject(cut()));
    });
    archive.on('error', (error: Error) => extract.destroy(error));
    archive.on('end', () => (archiveEnded = true));
    archive.pipe(extract as unknown as NodeJS.WritableStream);
    // An engine that stops sending mid-archive ends the sync instead of holding it forever.
    let stall: NodeJS.Timeout | undefined;
    if (options.stallMs !== undefined) {
      const stallMs = options.stallMs;
      const arm = (): void => {
        clearTimeout(stall);
        stall = setTimeout(() => extract.destroy(new SophiaError('unavailable', `The engine sent nothing of the sandbox's /workspace for ${stallMs / 1000} s; nothing was copied back.`)), stallMs);
      };
      archive.on('data', arm);
      arm();
    }
    try {
      await read;
    } catch (error) {
      // Stop reading from the engine too.
      (archive as Partial<Readable>).destroy?.();
      throw error;
    } finally {
      clearTimeout(stall);
    }

    for (const plan of planned) await applyPlan(root, plan, report, refuse);

    // Deleted in the sandbox: removed here only when it was sent and has not changed here since.
    for (const [relative, was] of [...sent]) {
      if (present.has(relative)) continue;
      const full = path.join(root, relative);
      const info = await lstat(full).catch(() => undefined);
      if (!info) {
        sent.delete(relative);
        continue;
      }
      if (!info.isFile() || info.size !== was.size || info.mtimeMs !== was.mtimeMs || info.ino !== was.ino || info.dev !== was.dev) {
        refuse(relative, 'deleted in the sandbox but changed on this machine since it was sent; kept');
        continue;
      }
      if (!(await parentsAreRealFolders(root, relative))) {
        refuse(relative, 'a folder on its way is a link on this machine; kept');
        continue;
      }
      await unlink(full);
      sent.delete(relative);
      report.removed.push(relative);
    }
    if (refusedCount > report.refused.length) log.warn('more entries from the sandbox were left out than are listed', { listed: report.refused.length, total: refusedCount });
    // What is here now is what the sandbox has: the next sync compares against it.
    const written = new Set(report.written);
    for (const plan of planned) {
      if (plan.kind !== 'file' || !written.has(plan.relative)) continue;
      const info = lstatOrUndefined(path.join(root, plan.relative));
      if (info?.isFile()) sent.set(plan.relative, { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, dev: info.dev, executable: plan.executable, sha256: plan.sha256 });
    }
    return report;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function collect(stream: EntryStream, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const piece of stream) {
    const chunk = piece as Buffer;
    size += chunk.length;
    if (size > limit) throw new SophiaError('refused', 'A file from the sandbox is larger than its header said.');
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** The entry's workspace-relative name when it may come back at all (its type is checked later), else undefined. */
async function acceptedName(
  rules: GitignoreRules,
  header: TarStream.Header,
  kind: string,
  report: SyncReport,
  refuse: (name: string, reason: string) => void,
  present: Set<string>,
): Promise<string | undefined> {
  const named = archiveEntryName(header.name, 'workspace');
  if ('error' in named) {
    refuse(header.name, named.error);
    return undefined;
  }
  const { relative } = named;
  present.add(relative);
  if (relative === '') return '';
  if (relative.split('/').some(isGitName)) {
    refuse(relative, "inside .git/, git's own files");
    return undefined;
  }
  if (isSecretPath(relative)) {
    refuse(relative, 'a secret file or folder name; secret files never come back from a sandbox');
    return undefined;
  }
  if (await rules.ignored(relative, kind === 'directory')) {
    // Build output and dependencies: many, expected, and not worth a log line each.
    report.ignored++;
    return undefined;
  }
  return relative;
}

async function drain(stream: EntryStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', (error) => reject(error instanceof Error ? error : new Error(String(error))));
    stream.resume();
  });
}

async function planEntry(
  root: string,
  relative: string,
  header: TarStream.Header,
  kind: string,
  content: Buffer | undefined,
  staging: string,
  index: number,
  refuse: (name: string, reason: string) => void,
  sent: SentFiles,
): Promise<Planned | 'unchanged' | undefined> {
  switch (kind) {
    case 'directory':
      return { kind: 'directory', relative };
    case 'file': {
      if (content === undefined) {
        refuse(relative, `larger than ${workspaceArchiveLimits.maxFileBytes / MiB} MiB`);
        return undefined;
      }
      const executable = ((header.mode ?? 0o644) & 0o100) !== 0;
      const hash = sha256(content);
      const was = sent.get(relative);
      // Not changed in the sandbox: nothing to write, whatever happened here meanwhile.
      if (was && was.sha256 === hash && was.executable === executable) return 'unchanged';
      // Changed in the sandbox: written only over the version that was sent (or where there
      // was nothing); an edit made here since is never overwritten.
      const existing = lstatOrUndefined(path.join(root, relative));
      const hereAsSent = was !== undefined && existing?.isFile() === true && existing.ino === was.ino && existing.dev === was.dev && existing.size === was.size && existing.mtimeMs === was.mtimeMs;
      if (existing?.isSymbolicLink()) {
        refuse(relative, 'a link on this machine; Sophia does not write through links');
        return undefined;
      }
      if (existing && !hereAsSent && !existing.isDirectory()) {
        refuse(relative, 'changed on this machine since it was sent, and in the sandbox too; the version on this machine is kept');
        return undefined;
      }
      const staged = path.join(staging, String(index));
      await writeFile(staged, content, { flag: 'wx', mode: 0o600 });
      return { kind: 'file', relative, staged, executable, sha256: hash };
    }
    case 'symlink': {
      const linkname = header.linkname ?? '';
      if (linkname === '' || linkname.startsWith('/') || linkname.includes('\0')) {
        refuse(relative, 'a link with an absolute or empty target');
        return undefined;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(relative), linkname));
      if (target === '..' || target.startsWith('../') || target.split('/').some(isGitName)) {
        refuse(relative, 'a link pointing outside the workspace or into .git/');
        return undefined;
      }
      const existing = await lstat(path.join(root, relative)).catch(() => undefined);
      if (existing?.isSymbolicLink() && (await readlink(path.join(root, relative)).catch(() => undefined)) === linkname) return 'unchanged';
      return { kind: 'symlink', relative, linkname };
    }
    case 'link':
      refuse(relative, 'a hard link');
      return undefined;
    case 'character-device':
    case 'block-device':
      refuse(relative, 'a device file');
      return undefined;
    case 'fifo':
      refuse(relative, 'a named pipe');
      return undefined;
    default:
      refuse(relative, `an entry of type ${kind}`);
      return undefined;
  }
}

/** True when every folder on the way to `relative` is a real folder inside `root` (made when missing). */
async function parentsAreRealFolders(root: string, relative: string, makeMissing = false): Promise<boolean> {
  const parts = relative.split('/').slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = path.join(current, part);
    let info = await lstat(current).catch(() => undefined);
    if (!info && makeMissing) {
      await mkdir(current, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      info = await lstat(current).catch(() => undefined);
    }
    if (!info?.isDirectory()) return false;
  }
  // Belt and braces: the folder resolves to itself, inside the workspace.
  const parent = path.join(root, ...parts);
  const real = await realpath(parent).catch(() => undefined);
  return real === parent && inside(root, real);
}

async function applyPlan(root: string, plan: Planned, report: SyncReport, refuse: (name: string, reason: string) => void): Promise<void> {
  const full = path.join(root, plan.relative);
  if (!(await parentsAreRealFolders(root, plan.relative, true))) {
    refuse(plan.relative, 'a folder on its way is a link or a file on this machine');
    return;
  }
  const existing = await lstat(full).catch(() => undefined);
  switch (plan.kind) {
    case 'directory':
      if (!existing) {
        await mkdir(full, { mode: 0o755 });
        report.created.push(plan.relative);
      } else if (!existing.isDirectory()) {
        refuse(plan.relative, 'a folder in the sandbox but not on this machine');
      }
      return;
    case 'file':
    case 'symlink': {
      if (existing?.isDirectory()) {
        refuse(plan.relative, 'a folder on this machine; Sophia does not replace a folder');
        return;
      }
      if (existing?.isSymbolicLink() && plan.kind === 'file') {
        refuse(plan.relative, 'a link on this machine; Sophia does not write through links');
        return;
      }
      // Written beside the target and renamed over it: a rename replaces a link itself, never what it points to.
      const temporary = path.join(path.dirname(full), `.sophia-sync-${process.pid}-${Math.random().toString(36).slice(2)}`);
      if (plan.kind === 'file') {
        const content = await readFile(plan.staged);
        await writeFile(temporary, content, { flag: 'wx', mode: plan.executable ? 0o755 : 0o644 });
      } else {
        await symlink(plan.linkname, temporary);
      }
      try {
        await rename(temporary, full);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      report.written.push(plan.relative);
      return;
    }
    default: {
      const never: never = plan;
      throw new Error(`unknown plan ${JSON.stringify(never)}`);
    }
  }
}
