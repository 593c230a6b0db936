/**
 * The user's git repository, through isomorphic-git in the main process: status per file,
 * per-file diff texts, branches, commit of chosen paths only, push and fetch over HTTP(S)
 * with a token handed in (from the keychain, by the caller), and revert with `git revert`
 * semantics. Dependencies are passed in (`fs`, `http`), isomorphic-git style.
 *
 * Status is read-only: the index's stat cache is not refreshed, so looking never writes
 * the user's `.git/index`.
 */
import * as nodeFs from 'node:fs';
import path from 'node:path';
import type { HttpClient, PushResult } from 'isomorphic-git';
import type { GitFileChange, GitStatus } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { createLogger } from '../log';
import { UnsupportedIndexError, workingTreeStatus } from './workingTreeStatus';
import { isoGit, nodeHttp } from './isoGit';

const log = createLogger('gitRepository');

export interface GitAuthor {
  readonly name: string;
  readonly email: string;
}

export interface GitDeps {
  readonly fs?: typeof nodeFs;
  readonly http?: HttpClient;
}

export interface DiffTexts {
  readonly path: string;
  /** The file at HEAD; empty when it is new. */
  readonly original: string;
  /** The file in the working tree; empty when it was deleted. */
  readonly modified: string;
  readonly binary: boolean;
}

export interface PushOutcome {
  readonly branch: string;
  readonly url: string;
  readonly commit: string;
}

const maxDiffBytes = 1024 * 1024;
const aheadBehindDepth = 1000;

/** isomorphic-git's errors, said plainly; anything else is re-thrown. */
export function explainGitError(error: unknown, what: string): SophiaError {
  if (error instanceof SophiaError) return error;
  if (error instanceof isoGit().Errors.HttpError) {
    const status = (error.data as { statusCode?: number }).statusCode;
    if (status === 401 || status === 403) {
      return new SophiaError('refused', `${what} was refused by the server (HTTP ${status}): the GitHub token is missing, wrong or lacks write access. Set it in Credentials & role ("github-token").`);
    }
    return new SophiaError('unavailable', `${what} failed: the server answered HTTP ${status ?? '?'}.`);
  }
  if (error instanceof isoGit().Errors.PushRejectedError) {
    return new SophiaError('refused', `${what} was rejected: the remote branch has commits you do not have. Fetch and merge them first; Sophia never force-pushes.`);
  }
  if (error instanceof isoGit().Errors.NotFoundError) return new SophiaError('bad_request', `${what} failed: ${error.message}`);
  if (error instanceof isoGit().Errors.CheckoutConflictError) {
    return new SophiaError('refused', `${what} failed: switching branches would overwrite uncommitted changes (${(error.data as { filepaths?: string[] }).filepaths?.slice(0, 5).join(', ') ?? ''}). Commit them first.`);
  }
  if (error instanceof isoGit().Errors.UserCanceledError) return new SophiaError('refused', `${what} was refused: the GitHub token was not accepted.`);
  if (error instanceof Error && 'code' in error && (error as { code?: unknown }).code === 'ECONNREFUSED') {
    return new SophiaError('unavailable', `${what} failed: the git server cannot be reached.`);
  }
  log.error('git operation failed', { what, error });
  return new SophiaError('internal', `${what} failed: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`);
}

/** A branch name git accepts (`git check-ref-format --branch`, the parts that matter). */
export function isValidBranchName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 200 &&
    !/[\s~^:?*[\\]/.test(name) &&
    ![...name].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f) &&
    !name.startsWith('-') &&
    !name.startsWith('/') &&
    !name.endsWith('/') &&
    !name.endsWith('.') &&
    !name.endsWith('.lock') &&
    !name.includes('..') &&
    !name.includes('//') &&
    !name.includes('@{') &&
    name !== 'HEAD'
  );
}

/** Only https, or http to this machine (a local git server). Credentials never travel in clear to another host. */
export function checkRemoteUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SophiaError('bad_request', `The remote URL "${url.slice(0, 200)}" is not a URL; Sophia pushes over HTTPS.`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new SophiaError('bad_request', `The remote ${parsed.host} is not HTTPS; Sophia pushes over HTTPS only (plain http only to this machine).`);
  }
  if (parsed.username || parsed.password) {
    throw new SophiaError('bad_request', 'The remote URL carries credentials; remove them: the token comes from the keychain.');
  }
}

export class GitRepository {
  readonly #fs: typeof nodeFs;
  /** Injected (tests), else Node's, required at the first push or fetch. */
  readonly #http: HttpClient | undefined;
  readonly #cache: object = {};

  constructor(
    readonly dir: string,
    deps: GitDeps = {},
  ) {
    this.#fs = deps.fs ?? nodeFs;
    this.#http = deps.http;
  }

  get #base() {
    return { fs: this.#fs, dir: this.dir };
  }

  async isRepository(): Promise<boolean> {
    try {
      await isoGit().resolveRef({ ...this.#base, ref: 'HEAD' });
      return true;
    } catch {
      return this.#fs.existsSync(path.join(this.dir, '.git'));
    }
  }

  async currentBranch(): Promise<string | undefined> {
    return (await isoGit().currentBranch({ ...this.#base, test: true })) ?? undefined;
  }

  async headCommit(): Promise<string | undefined> {
    try {
      return await isoGit().resolveRef({ ...this.#base, ref: 'HEAD' });
    } catch {
      return undefined;
    }
  }

  async branches(): Promise<string[]> {
    return isoGit().listBranches(this.#base);
  }

  /**
   * Every changed file, HEAD against the working tree and the index. On the real file system
   * this reads the index's stat cache as git does (workingTreeStatus.ts); with another `fs`, or
   * a repository that reader leaves alone, it asks isomorphic-git's statusMatrix.
   */
  async changes(): Promise<GitFileChange[]> {
    if (this.#fs === nodeFs) {
      try {
        const changes: GitFileChange[] = [];
        for (const [file, head, workdir, stage, intentToAdd] of await workingTreeStatus(this.dir)) {
          const change = classify(head, workdir, stage);
          // `git add -N` records only the intent: nothing of the file is staged yet.
          if (change) changes.push({ path: file, change, staged: intentToAdd ? false : head === 1 ? stage !== 1 : stage !== 0 });
        }
        return changes;
      } catch (error) {
        if (!(error instanceof UnsupportedIndexError) || !error.fallback) throw error;
        log.info('fast status not used', { reason: error.message });
      }
    }
    return this.changesThroughStatusMatrix();
  }

  /** isomorphic-git's statusMatrix: walks and hashes through the injected `fs`. */
  async changesThroughStatusMatrix(): Promise<GitFileChange[]> {
    // A fresh cache per call: the shared one would keep stale packfile indexes across commits.
    const matrix = await isoGit().statusMatrix({ ...this.#base, refresh: false, cache: {} });
    const changes: GitFileChange[] = [];
    for (const [file, head, workdir, stage] of matrix) {
      const change = classify(head, workdir, stage);
      if (change) changes.push({ path: file, change, staged: head === 1 ? stage !== 1 : stage !== 0 });
    }
    return changes;
  }

  async status(): Promise<GitStatus> {
    if (!(await this.isRepository())) {
      return { repository: false, branch: null, head: null, files: [], ahead: 0, behind: 0, upstream: null, remotes: [] };
    }
    const remotes = (await isoGit().listRemotes({ ...this.#base })).map((entry) => entry.remote.slice(0, 200)).slice(0, 50);
    const branch = (await this.currentBranch()) ?? null;
    const head = (await this.headCommit()) ?? null;
    const files = head ? await this.changes() : [];
    let ahead = 0;
    let behind = 0;
    let upstream: string | null = null;
    if (branch && head) {
      const tracking = await this.#resolve(`refs/remotes/origin/${branch}`);
      if (tracking) {
        upstream = `origin/${branch}`;
        ({ ahead, behind } = await this.aheadBehind(head, tracking));
      }
    }
    return { repository: true, branch, head, files, ahead, behind, upstream, remotes };
  }

  async aheadBehind(local: string, remote: string): Promise<{ ahead: number; behind: number }> {
    if (local === remote) return { ahead: 0, behind: 0 };
    const history = async (ref: string) => new Set((await isoGit().log({ ...this.#base, ref, depth: aheadBehindDepth, cache: this.#cache })).map((entry) => entry.oid));
    const [mine, theirs] = await Promise.all([history(local), history(remote)]);
    let ahead = 0;
    let behind = 0;
    for (const oid of mine) if (!theirs.has(oid)) ahead += 1;
    for (const oid of theirs) if (!mine.has(oid)) behind += 1;
    return { ahead, behind };
  }

  /** The file at HEAD and in the working tree, for a side-by-side diff. */
  async diff(file: string): Promise<DiffTexts> {
    const safe = this.#relative(file);
    let original: Uint8Array = new Uint8Array();
    const head = await this.headCommit();
    if (head) {
      try {
        original = (await isoGit().readBlob({ ...this.#base, oid: head, filepath: safe, cache: this.#cache })).blob;
      } catch (error) {
        if (!(error instanceof isoGit().Errors.NotFoundError)) throw error;
      }
    }
    let modified: Uint8Array = new Uint8Array();
    const full = path.join(this.dir, safe);
    if (this.#fs.existsSync(full) && this.#fs.statSync(full).isFile()) modified = this.#fs.readFileSync(full);
    const binary = original.includes(0) || modified.includes(0);
    const text = (bytes: Uint8Array) => (binary ? '' : Buffer.from(bytes.subarray(0, maxDiffBytes)).toString('utf8'));
    return { path: safe, original: text(original), modified: text(modified), binary };
  }

  /** Creates the branch at HEAD when it does not exist, and switches to it. Uncommitted changes stay as they are. */
  async switchToBranch(name: string): Promise<{ created: boolean }> {
    if (!isValidBranchName(name)) throw new SophiaError('bad_request', `"${name.slice(0, 80)}" is not a valid branch name.`);
    const current = await this.currentBranch();
    if (current === name) return { created: false };
    const existing = await this.#resolve(`refs/heads/${name}`);
    if (!existing) {
      // A new branch at HEAD: only HEAD moves; the working tree and index are what they were.
      await isoGit().branch({ ...this.#base, ref: name, checkout: true });
      return { created: true };
    }
    try {
      await isoGit().checkout({ ...this.#base, ref: name, cache: this.#cache });
    } catch (error) {
      throw explainGitError(error, `Switching to ${name}`);
    }
    return { created: false };
  }

  /**
   * Stages exactly `paths` (added, changed or deleted) and commits them; other changes in the
   * working tree stay uncommitted. Returns the new commit's id.
   */
  async commit(options: { message: string; paths: readonly string[]; author: GitAuthor }): Promise<string> {
    const changed = new Map((await this.changes()).map((change) => [change.path, change]));
    const paths = [...new Set(options.paths.map((file) => this.#relative(file)))];
    if (paths.length === 0) throw new SophiaError('bad_request', 'Name the files to commit.');
    const unknown = paths.filter((file) => !changed.has(file));
    if (unknown.length > 0) throw new SophiaError('bad_request', `Not changed, so not committed: ${unknown.slice(0, 10).join(', ')}.`);
    for (const file of paths) {
      if (this.#fs.existsSync(path.join(this.dir, file))) await isoGit().add({ ...this.#base, filepath: file, cache: this.#cache });
      else await isoGit().remove({ ...this.#base, filepath: file, cache: this.#cache });
    }
    const now = Math.floor(Date.now() / 1000);
    const author = { name: options.author.name, email: options.author.email, timestamp: now };
    return isoGit().commit({ ...this.#base, message: options.message, author, committer: author, cache: this.#cache });
  }

  async remoteUrl(remote = 'origin'): Promise<string | undefined> {
    const value: unknown = await isoGit().getConfig({ ...this.#base, path: `remote.${remote}.url` });
    return typeof value === 'string' ? value : undefined;
  }

  async configuredAuthor(): Promise<GitAuthor | undefined> {
    const name: unknown = await isoGit().getConfig({ ...this.#base, path: 'user.name' });
    const email: unknown = await isoGit().getConfig({ ...this.#base, path: 'user.email' });
    return typeof name === 'string' && typeof email === 'string' && name && email ? { name, email } : undefined;
  }

  /**
   * Pushes `branch` to the same name on the remote, never forced. The token is offered once;
   * a refusal is not retried. The remote-tracking ref `origin/<branch>` follows.
   */
  async push(options: { branch: string; url: string; token: string | undefined; signal?: AbortSignal }): Promise<PushOutcome> {
    checkRemoteUrl(options.url);
    const commit = await this.#resolve(`refs/heads/${options.branch}`);
    if (!commit) throw new SophiaError('bad_request', `There is no local branch ${options.branch} to push.`);
    let result: PushResult;
    try {
      result = await isoGit().push({
        ...this.#base,
        http: this.#http ?? nodeHttp(),
        url: options.url,
        remote: 'origin',
        ref: options.branch,
        remoteRef: options.branch,
        force: false,
        ...this.#auth(options.token),
        ...(options.signal ? { signal: options.signal } : {}),
        cache: this.#cache,
      });
    } catch (error) {
      throw explainGitError(error, `Pushing ${options.branch}`);
    }
    if (!result.ok || result.error) {
      const refs = Object.entries(result.refs ?? {}).map(([ref, status]) => `${ref}: ${status.error ?? 'ok'}`);
      throw new SophiaError('refused', `The server did not accept the push of ${options.branch}: ${result.error ?? refs.join('; ')}`);
    }
    await isoGit().writeRef({ ...this.#base, ref: `refs/remotes/origin/${options.branch}`, value: commit, force: true });
    return { branch: options.branch, url: options.url, commit };
  }

  async fetch(options: { branch: string; url: string; token: string | undefined; signal?: AbortSignal }): Promise<void> {
    checkRemoteUrl(options.url);
    try {
      await isoGit().fetch({
        ...this.#base,
        http: this.#http ?? nodeHttp(),
        url: options.url,
        remote: 'origin',
        ref: options.branch,
        singleBranch: true,
        tags: false,
        ...this.#auth(options.token),
        cache: this.#cache,
      });
    } catch (error) {
      throw explainGitError(error, `Fetching ${options.branch}`);
    }
  }

  /**
   * `git revert <commit>` for a commit with one parent: a new commit on the current branch
   * that undoes it. Files the commit touched must still be as it left them; otherwise the
   * revert would conflict and is refused (nothing is written).
   */
  async revert(options: { commit: string; author: GitAuthor }): Promise<string> {
    const target = await isoGit().readCommit({ ...this.#base, oid: options.commit, cache: this.#cache }).catch((error: unknown) => {
      throw explainGitError(error, `Reading commit ${options.commit.slice(0, 12)}`);
    });
    const parent = target.commit.parent[0];
    if (!parent || target.commit.parent.length > 1) throw new SophiaError('bad_request', 'Only a commit with exactly one parent can be reverted here.');
    const head = await this.headCommit();
    if (!head) throw new SophiaError('bad_request', 'The repository has no commits.');
    const touched = await this.#changedBetween(parent, target.oid);
    const dirty = new Set((await this.changes()).map((change) => change.path));
    const conflicts: string[] = [];
    for (const file of touched) {
      if (dirty.has(file)) conflicts.push(`${file} (uncommitted changes)`);
      else if ((await this.#blobAt(head, file)) !== (await this.#blobAt(target.oid, file))) conflicts.push(`${file} (changed since)`);
    }
    if (conflicts.length > 0) throw new SophiaError('refused', `Reverting ${target.oid.slice(0, 12)} would conflict: ${conflicts.slice(0, 10).join(', ')}. Resolve by hand.`);
    for (const file of touched) {
      const full = path.join(this.dir, file);
      const before = await this.#blobAt(parent, file);
      if (before === undefined) {
        this.#fs.rmSync(full, { force: true });
        await isoGit().remove({ ...this.#base, filepath: file, cache: this.#cache });
      } else {
        const { blob } = await isoGit().readBlob({ ...this.#base, oid: before, cache: this.#cache });
        this.#fs.mkdirSync(path.dirname(full), { recursive: true });
        this.#fs.writeFileSync(full, blob);
        await isoGit().add({ ...this.#base, filepath: file, cache: this.#cache });
      }
    }
    const subject = target.commit.message.split('\n')[0] ?? '';
    const now = Math.floor(Date.now() / 1000);
    const author = { ...options.author, timestamp: now };
    return isoGit().commit({
      ...this.#base,
      message: `Revert "${subject}"\n\nThis reverts commit ${target.oid}.\n`,
      author,
      committer: author,
      cache: this.#cache,
    });
  }

  async #changedBetween(from: string, to: string): Promise<string[]> {
    const files: string[] = [];
    await isoGit().walk({
      ...this.#base,
      trees: [isoGit().TREE({ ref: from }), isoGit().TREE({ ref: to })],
      cache: this.#cache,
      map: async (file, [a, b]) => {
        if (file === '.') return undefined;
        const [typeA, typeB] = [await a?.type(), await b?.type()];
        if (typeA === 'tree' || typeB === 'tree') {
          if (typeA === 'tree' && typeB === 'tree' && (await a?.oid()) === (await b?.oid())) return null;
          return undefined;
        }
        if ((await a?.oid()) !== (await b?.oid())) files.push(file);
        return undefined;
      },
    });
    return files;
  }

  async #blobAt(commit: string, file: string): Promise<string | undefined> {
    try {
      return (await isoGit().readBlob({ ...this.#base, oid: commit, filepath: file, cache: this.#cache })).oid;
    } catch (error) {
      if (error instanceof isoGit().Errors.NotFoundError) return undefined;
      throw error;
    }
  }

  #auth(token: string | undefined) {
    return {
      // GitHub takes a token as the password of any user name; it is offered once, never retried.
      onAuth: () => (token ? { username: 'x-access-token', password: token } : { cancel: true }),
      onAuthFailure: () => ({ cancel: true }),
    };
  }

  async #resolve(ref: string): Promise<string | undefined> {
    try {
      return await isoGit().resolveRef({ ...this.#base, ref });
    } catch {
      return undefined;
    }
  }

  /** A path inside the repository, relative and with forward slashes; `..` and `.git` are refused. */
  #relative(file: string): string {
    const normal = path.posix.normalize(file.replaceAll('\\', '/')).replace(/^\.\//, '');
    if (!normal || normal === '.' || normal.startsWith('../') || normal === '..' || path.posix.isAbsolute(normal) || normal.includes('\0')) {
      throw new SophiaError('bad_request', `${file.slice(0, 200)} is not a path inside the repository.`);
    }
    if (normal === '.git' || normal.startsWith('.git/')) throw new SophiaError('refused', 'Files inside .git are not touched.');
    return normal;
  }
}

function classify(head: number, workdir: number, stage: number): GitFileChange['change'] | undefined {
  if (head === 0) {
    if (workdir === 0) return stage === 0 ? undefined : 'deleted';
    return stage === 0 ? 'untracked' : 'added';
  }
  if (workdir === 0) return 'deleted';
  if (workdir === 2) return 'modified';
  // workdir === 1: the working tree matches HEAD; only the index differs.
  return stage === 1 ? undefined : 'modified';
}
