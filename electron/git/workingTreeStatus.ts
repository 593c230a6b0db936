/**
 * Status the way git computes it, fast enough for large repositories: `.git/index` is read
 * directly (gitIndexFile.ts) and each entry's stat data (size, mtime, ctime, inode, mode, owner)
 * is compared with the working tree; only files whose stat differ, or whose entry is racily
 * clean (modified in the same second the index was written), are read and hashed. Untracked
 * files come from one walk of the working tree that respects .gitignore files and
 * .git/info/exclude and never enters an ignored folder. The HEAD tree is read through
 * isomorphic-git and kept per tree id, so it is read once per commit.
 *
 * The answer has the shape of isomorphic-git's statusMatrix rows (HEAD / workdir / stage), so
 * GitRepository classifies both the same way. Where statusMatrix and the git CLI disagree,
 * this follows git: a changed executable bit or file type is a change, and a file replaced by a
 * folder is deleted.
 *
 * Read-only: the index is never written (the stat cache is not refreshed).
 */
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { createLogger } from '../log';
import { parseGitIndex, UnsupportedIndexError, type GitIndexEntry, type GitIndexFile } from './gitIndexFile';
import { isoGit } from './isoGit';

const log = createLogger('workingTreeStatus');

/** One row as statusMatrix numbers it: head 0/1, workdir 0 absent / 1 as HEAD / 2 other, stage 0 absent / 1 as HEAD / 2 as workdir / 3 other. */
export type StatusRow = readonly [path: string, head: 0 | 1, workdir: 0 | 1 | 2, stage: 0 | 1 | 2 | 3, intentToAdd: boolean];

interface TreeFile {
  readonly oid: string;
  readonly mode: number;
}

const modeFile = 0o100644;
const modeExecutable = 0o100755;
const modeSymlink = 0o120000;
const modeGitlink = 0o160000;
const u32 = 2n ** 32n;

/** Flattened HEAD trees by tree id: content-addressed, so the same id means the same files in any repository. */
const treeCache = new Map<string, ReadonlyMap<string, TreeFile>>();
const treeCacheSize = 4;

/** The tree of each commit seen (a commit never changes). */
const commitTrees = new Map<string, string>();
const commitTreesSize = 64;

interface ReadIndex {
  readonly file: GitIndexFile;
  /** Stage 0 entries by path. */
  readonly indexed: ReadonlyMap<string, GitIndexEntry>;
  /** Paths with unmerged (stage 1 to 3) entries. */
  readonly conflicted: ReadonlySet<string>;
}

/** Parsed indexes by the index file's trailing checksum. */
const indexCache = new Map<string, ReadIndex>();
const indexCacheSize = 4;

export { UnsupportedIndexError };

/**
 * Every path whose HEAD, index and working tree do not all agree, in statusMatrix's order
 * (path segments compared in turn). Throws UnsupportedIndexError when the repository is one
 * this reader leaves to isomorphic-git (a linked worktree, a split or sparse index, SHA-256).
 */
export async function workingTreeStatus(dir: string): Promise<StatusRow[]> {
  const gitdir = path.join(dir, '.git');
  const gitdirStat = nodeFs.statSync(gitdir, { throwIfNoEntry: false });
  if (!gitdirStat?.isDirectory()) throw new UnsupportedIndexError('.git is not a folder (a linked worktree or submodule)');
  const format: unknown = await isoGit().getConfig({ fs: nodeFs, dir, path: 'extensions.objectFormat' });
  if (typeof format === 'string' && format.toLowerCase() !== 'sha1') throw new UnsupportedIndexError(`the object format ${format}`, false);
  const fileMode: unknown = await isoGit().getConfig({ fs: nodeFs, dir, path: 'core.fileMode' });
  const trustExecutableBit = fileMode !== false && fileMode !== 'false';
  const trustCtime: unknown = await isoGit().getConfig({ fs: nodeFs, dir, path: 'core.trustctime' });
  const checkCtime = trustCtime !== false && trustCtime !== 'false';

  const { index, indexMtime } = readIndex(gitdir);
  const { indexed, conflicted } = index;
  const head = await headFiles(dir);

  const rows: StatusRow[] = [];
  // Index paths use '/', which every platform's file functions accept; path.join per entry costs more than the stat.
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  const hasher = new WorktreeHasher(dir, trustExecutableBit);

  for (const entry of indexed.values()) {
    if (entry.mode === modeGitlink) continue;
    const full = prefix + entry.path;
    const headFile = head.get(entry.path);
    let work: TreeFile | undefined;
    if (entry.skipWorktree || entry.assumeValid) {
      work = entry;
    } else {
      const stat = nodeFs.lstatSync(full, { bigint: true, throwIfNoEntry: false });
      if (!stat || !(stat.isFile() || stat.isSymbolicLink())) work = undefined;
      else if (!entry.intentToAdd && statMatches(entry, stat, trustExecutableBit, checkCtime) && !isRacy(stat, indexMtime)) work = entry;
      else work = hasher.hash(full, stat, entry.mode);
    }
    const row = toRow(entry.path, headFile, work, entry);
    if (row) rows.push(entry.intentToAdd ? [row[0], row[1], row[2], row[3], true] : row);
  }

  for (const file of conflicted) {
    if (indexed.has(file)) continue;
    const work = hasher.hashPath(file, undefined);
    // An unmerged path: the index matches neither side.
    rows.push([file, head.has(file) ? 1 : 0, work === undefined ? 0 : same(work, head.get(file)) ? 1 : 2, 3, false]);
  }

  for (const [file, headFile] of head) {
    if (indexed.has(file) || conflicted.has(file) || headFile.mode === modeGitlink) continue;
    // In HEAD, removed from the index (`git rm --cached`): the working tree may still have it.
    const row = toRow(file, headFile, hasher.hashPath(file, headFile.mode), undefined);
    if (row) rows.push(row);
  }

  for (const file of untrackedFiles(dir, gitdir, (rel) => indexed.has(rel) || conflicted.has(rel) || head.has(rel))) {
    rows.push([file, 0, 2, 0, false]);
  }
  rows.sort((a, b) => comparePaths(a[0], b[0]));
  return rows;
}

function toRow(file: string, headFile: TreeFile | undefined, work: TreeFile | undefined, stage: TreeFile | undefined): StatusRow | undefined {
  if (headFile && stage && work && same(headFile, stage) && same(stage, work)) return undefined;
  const h = headFile ? 1 : 0;
  const w = work === undefined ? 0 : same(work, headFile) ? 1 : 2;
  const s = stage === undefined ? 0 : same(stage, headFile) ? 1 : same(stage, work) ? 2 : 3;
  if (h === 0 && w === 0 && s === 0) return undefined;
  return [file, h, w, s, false];
}

function same(a: TreeFile, b: TreeFile | undefined): boolean {
  return b !== undefined && a.oid === b.oid && a.mode === b.mode;
}

/** Git's ce_match_stat_basic: any difference means the file must be read. */
function statMatches(entry: GitIndexEntry, stat: nodeFs.BigIntStats, trustExecutableBit: boolean, checkCtime: boolean): boolean {
  if (worktreeMode(stat, entry.mode, trustExecutableBit) !== entry.mode) return false;
  if (Number(stat.size % u32) !== entry.size) return false;
  if (Number(stat.mtimeNs / 1_000_000_000n) !== entry.mtimeSec || Number(stat.mtimeNs % 1_000_000_000n) !== entry.mtimeNsec) return false;
  if (checkCtime && (Number(stat.ctimeNs / 1_000_000_000n) !== entry.ctimeSec || Number(stat.ctimeNs % 1_000_000_000n) !== entry.ctimeNsec)) return false;
  if (Number(stat.ino % u32) !== entry.ino) return false;
  if (Number(stat.uid % u32) !== entry.uid || Number(stat.gid % u32) !== entry.gid) return false;
  return true;
}

/**
 * Racily clean: written in the same second (or later) as the index, so an edit after the
 * index was written could keep the same stat data. Such entries are always hashed.
 */
function isRacy(stat: nodeFs.BigIntStats, indexMtimeNs: bigint | undefined): boolean {
  if (indexMtimeNs === undefined) return true;
  return stat.mtimeNs / 1_000_000_000n >= indexMtimeNs / 1_000_000_000n;
}

function worktreeMode(stat: nodeFs.BigIntStats | nodeFs.Stats, indexMode: number | undefined, trustExecutableBit: boolean): number {
  if (stat.isSymbolicLink()) return modeSymlink;
  if (!trustExecutableBit) return indexMode === modeExecutable ? modeExecutable : modeFile;
  // Git looks at the owner's execute bit only.
  return Number(stat.mode) & 0o100 ? modeExecutable : modeFile;
}

class WorktreeHasher {
  constructor(
    readonly dir: string,
    readonly trustExecutableBit: boolean,
  ) {}

  hashPath(file: string, indexMode: number | undefined): TreeFile | undefined {
    const full = path.join(this.dir, file);
    const stat = nodeFs.lstatSync(full, { bigint: true, throwIfNoEntry: false });
    if (!stat || !(stat.isFile() || stat.isSymbolicLink())) return undefined;
    return this.hash(full, stat, indexMode);
  }

  /** The blob id git would give the file (a symlink's blob is its target). */
  hash(full: string, stat: nodeFs.BigIntStats, indexMode: number | undefined): TreeFile | undefined {
    let content: Buffer;
    try {
      content = stat.isSymbolicLink() ? nodeFs.readlinkSync(full, { encoding: 'buffer' }) : nodeFs.readFileSync(full);
    } catch (error) {
      // Gone (or replaced) between the stat and the read: it is absent now.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const oid = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
    return { oid, mode: worktreeMode(stat, indexMode, this.trustExecutableBit) };
  }
}

function readIndex(gitdir: string): { index: ReadIndex; indexMtime: bigint | undefined } {
  const file = path.join(gitdir, 'index');
  let buffer: Buffer;
  let stat: nodeFs.BigIntStats;
  try {
    // Stat before reading: an index rewritten in between only makes more entries look racy.
    stat = nodeFs.statSync(file, { bigint: true });
    buffer = nodeFs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { index: { file: { version: 2, entries: [] }, indexed: new Map(), conflicted: new Set() }, indexMtime: undefined };
    throw error;
  }
  const checksum = buffer.toString('hex', buffer.length - 20);
  let index = indexCache.get(checksum);
  if (!index) {
    const file = parseGitIndex(buffer);
    const indexed = new Map<string, GitIndexEntry>();
    const conflicted = new Set<string>();
    for (const entry of file.entries) {
      if (entry.stage === 0) indexed.set(entry.path, entry);
      else conflicted.add(entry.path);
    }
    index = { file, indexed, conflicted };
    remember(indexCache, checksum, index, indexCacheSize);
  }
  return { index, indexMtime: stat.mtimeNs };
}

async function headFiles(dir: string): Promise<ReadonlyMap<string, TreeFile>> {
  let commit: string;
  try {
    commit = await isoGit().resolveRef({ fs: nodeFs, dir, ref: 'HEAD' });
  } catch {
    return new Map();
  }
  const cache = {};
  let tree = commitTrees.get(commit);
  if (!tree) {
    tree = (await isoGit().readCommit({ fs: nodeFs, dir, oid: commit, cache })).commit.tree;
    remember(commitTrees, commit, tree, commitTreesSize);
  }
  const cached = treeCache.get(tree);
  if (cached) return cached;
  const files = new Map<string, TreeFile>();
  const read = async (oid: string, prefix: string): Promise<void> => {
    const { tree } = await isoGit().readTree({ fs: nodeFs, dir, oid, cache });
    const subtrees: Promise<void>[] = [];
    for (const entry of tree) {
      const file = prefix + entry.path;
      if (entry.type === 'tree') subtrees.push(read(entry.oid, `${file}/`));
      else files.set(file, { oid: entry.oid, mode: parseInt(entry.mode, 8) });
    }
    await Promise.all(subtrees);
  };
  const started = performance.now();
  await read(tree, '');
  log.debug('HEAD tree read', { tree, files: files.size, ms: Math.round(performance.now() - started) });
  remember(treeCache, tree, files, treeCacheSize);
  return files;
}

function remember<V>(cache: Map<string, V>, key: string, value: V, size: number): void {
  cache.set(key, value);
  while (cache.size > size) cache.delete(cache.keys().next().value as string);
}

interface IgnoreLevel {
  /** The folder the rules are relative to, '' or ending with '/'. */
  readonly base: string;
  readonly rules: Ignore;
}

/** Files in no tree and no index, and not ignored; ignored folders are not entered. */
function untrackedFiles(dir: string, gitdir: string, tracked: (file: string) => boolean): string[] {
  const found: string[] = [];
  const root: IgnoreLevel[] = [];
  const exclude = readText(path.join(gitdir, 'info', 'exclude'));
  if (exclude) root.push({ base: '', rules: ignore({ ignorecase: false }).add(exclude) });
  const visit = (folder: string, levels: IgnoreLevel[]): void => {
    let entries: nodeFs.Dirent[];
    try {
      entries = nodeFs.readdirSync(path.join(dir, folder), { withFileTypes: true });
    } catch (error) {
      // A folder that vanished or cannot be read has nothing git would list either.
      log.debug('folder not read', { folder, code: (error as NodeJS.ErrnoException).code });
      return;
    }
    // A submodule or another repository inside this one: git never looks in (nor lists its files).
    if (folder !== '' && entries.some((entry) => entry.name === '.git')) return;
    let here = levels;
    if (entries.some((entry) => entry.name === '.gitignore' && !entry.isDirectory())) {
      const text = readText(path.join(dir, folder, '.gitignore'));
      if (text) here = [...levels, { base: folder, rules: ignore({ ignorecase: false }).add(text) }];
    }
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const rel = folder + entry.name;
      if (entry.isDirectory()) {
        if (!isIgnored(`${rel}/`, here)) visit(`${rel}/`, here);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !tracked(rel) && !isIgnored(rel, here)) {
        found.push(rel);
      }
    }
  };
  visit('', root);
  return found;
}

/** The deepest .gitignore that says anything about the path decides (a later rule within one file wins). */
function isIgnored(rel: string, levels: readonly IgnoreLevel[]): boolean {
  for (let i = levels.length - 1; i >= 0; i -= 1) {
    const level = levels[i]!;
    const verdict = level.rules.test(rel.slice(level.base.length));
    if (verdict.ignored) return true;
    if (verdict.unignored) return false;
  }
  return false;
}

function readText(file: string): string | undefined {
  try {
    return nodeFs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** isomorphic-git's walk order: path segments compared one by one, so `a/b` comes before `a.txt`. */
export function comparePaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const x = left[i]!;
    const y = right[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return left.length - right.length;
}
