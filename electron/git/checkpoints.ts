/**
 * Checkpoints: the workspace's files recorded before each applied change, so the user can
 * put the workspace back as it was at any earlier step of a conversation.
 *
 * They live in a shadow repository of Sophia's own (a bare git directory under the data
 * folder, one per workspace), written with isomorphic-git's object functions. The user's
 * `.git` (branches, index, objects, config) is never read for writing and never touched, so
 * a checkpoint works the same in a folder that is not a git repository at all. Files the
 * user's `.gitignore` ignores are neither recorded nor touched on rollback, and neither are
 * secret files and folders (`.env`, keys, credential files: `isSecretName`), ignored or not:
 * the data folder never holds a copy of one.
 *
 * Each conversation has one ref, `refs/checkpoints/<conversationId>`, whose history is the
 * conversation's checkpoints, oldest first.
 */
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import path from 'node:path';
import type { CheckpointView } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { isSecretName } from '../core/workspacePaths';
import { createLogger } from '../log';
import { isoGit } from './isoGit';

const log = createLogger('checkpoints');

/** Past this many files a checkpoint is refused rather than left to run for minutes. */
export const maxCheckpointFiles = 100_000;
const trailer = 'sophia-checkpoint:';
const fs = nodeFs;

interface FileEntry {
  readonly mode: '100644' | '100755' | '120000';
  readonly oid: string;
}

interface Snapshot {
  readonly files: Map<string, FileEntry>;
}

interface Meta {
  readonly conversationId: string;
  readonly step: number;
  readonly at: number;
}

export class CheckpointStore {
  /** (path, size, mtime, mode) -> blob id, so an unchanged file is not hashed again. */
  readonly #hashes = new Map<string, { key: string; oid: string }>();
  #queue: Promise<unknown> = Promise.resolve();
  #initialised = false;

  constructor(
    /** The workspace folder. */
    readonly dir: string,
    /** The shadow repository's git directory (inside Sophia's data folder). */
    readonly gitdir: string,
  ) {}

  /** The shadow repository for a workspace: one per real path, under `root`. */
  static forWorkspace(root: string, workspace: string): CheckpointStore {
    const real = fs.realpathSync(workspace);
    const name = createHash('sha256').update(real).digest('hex').slice(0, 24);
    return new CheckpointStore(real, path.join(root, `${name}.git`));
  }

  /** Records the workspace as it is now, as the conversation's next step. */
  record(conversationId: string, label: string): Promise<CheckpointView> {
    return this.#serial(() => this.#record(conversationId, label));
  }

  list(conversationId: string): Promise<CheckpointView[]> {
    return this.#serial(() => this.#list(conversationId));
  }

  /**
   * Puts the workspace's files back as they were at the checkpoint. The state being left is
   * recorded first (so the rollback can be undone). Returns how many files were written or removed.
   */
  rollback(conversationId: string, checkpointId: string): Promise<{ restored: CheckpointView; saved: CheckpointView; filesChanged: number }> {
    return this.#serial(async () => {
      const checkpoints = await this.#list(conversationId);
      const restored = checkpoints.find((checkpoint) => checkpoint.id === checkpointId);
      if (!restored) throw new SophiaError('bad_request', 'That checkpoint does not belong to this conversation.');
      const saved = await this.#record(conversationId, `before rolling back to step ${restored.step}`);
      const target = await this.#treeFiles(restored.id);
      const current = await this.#scan();
      let filesChanged = 0;
      for (const [file, entry] of target) {
        const now = current.files.get(file);
        if (now && now.oid === entry.oid && now.mode === entry.mode) continue;
        await this.#writeFile(file, entry);
        filesChanged += 1;
      }
      for (const file of current.files.keys()) {
        if (target.has(file)) continue;
        fs.rmSync(path.join(this.dir, file), { force: true });
        this.#hashes.delete(file);
        this.#removeEmptyParents(file);
        filesChanged += 1;
      }
      log.info('rolled back', { conversationId, step: restored.step, filesChanged });
      return { restored, saved, filesChanged };
    });
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #init(): Promise<void> {
    if (this.#initialised) return;
    if (!fs.existsSync(path.join(this.gitdir, 'HEAD'))) {
      fs.mkdirSync(this.gitdir, { recursive: true });
      await isoGit().init({ fs, gitdir: this.gitdir, bare: true, defaultBranch: 'checkpoints' });
    }
    this.#initialised = true;
  }

  #ref(conversationId: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(conversationId)) throw new SophiaError('bad_request', 'Not a conversation id.');
    return `refs/checkpoints/${conversationId}`;
  }

  async #record(conversationId: string, label: string): Promise<CheckpointView> {
    await this.#init();
    const ref = this.#ref(conversationId);
    const parent = await this.#resolve(ref);
    const step = parent ? (await this.#list(conversationId)).length + 1 : 1;
    const snapshot = await this.#scan();
    const tree = await this.#writeTrees(snapshot.files);
    const at = Date.now();
    const meta: Meta = { conversationId, step, at };
    const signature = { name: 'Sophia', email: 'checkpoints@sophia.local', timestamp: Math.floor(at / 1000), timezoneOffset: 0 };
    const oid = await isoGit().writeCommit({
      fs,
      gitdir: this.gitdir,
      commit: {
        message: `${label.replace(/\s+/g, ' ').slice(0, 200)}\n\n${trailer} ${JSON.stringify(meta)}\n`,
        tree,
        parent: parent ? [parent] : [],
        author: signature,
        committer: signature,
      },
    });
    await isoGit().writeRef({ fs, gitdir: this.gitdir, ref, value: oid, force: true });
    return { id: oid, conversationId, step, label: label.slice(0, 200), at };
  }

  async #list(conversationId: string): Promise<CheckpointView[]> {
    await this.#init();
    const head = await this.#resolve(this.#ref(conversationId));
    if (!head) return [];
    const entries = await isoGit().log({ fs, gitdir: this.gitdir, ref: head });
    const views: CheckpointView[] = [];
    for (const entry of entries) {
      const [subject = '', ...rest] = entry.commit.message.split('\n');
      const line = rest.find((text) => text.startsWith(trailer));
      let meta: Meta | undefined;
      try {
        meta = line ? (JSON.parse(line.slice(trailer.length)) as Meta) : undefined;
      } catch {
        meta = undefined;
      }
      views.push({ id: entry.oid, conversationId, step: meta?.step ?? 1, label: subject.slice(0, 200), at: meta?.at ?? entry.commit.committer.timestamp * 1000 });
    }
    return views.reverse();
  }

  async #resolve(ref: string): Promise<string | undefined> {
    try {
      return await isoGit().resolveRef({ fs, gitdir: this.gitdir, ref });
    } catch (error) {
      if (error instanceof isoGit().Errors.NotFoundError) return undefined;
      throw error;
    }
  }

  /** Every file of the workspace but `.git` and what `.gitignore` ignores, hashed into the shadow repository. */
  async #scan(): Promise<Snapshot> {
    const files = new Map<string, FileEntry>();
    const userGitdir = path.join(this.dir, '.git');
    const ignoreGitdir = fs.existsSync(userGitdir) ? userGitdir : this.gitdir;
    const hasIgnores = fs.existsSync(path.join(this.dir, '.gitignore')) || fs.existsSync(path.join(userGitdir, 'info', 'exclude'));
    const walk = async (relative: string): Promise<void> => {
      const entries = fs.readdirSync(path.join(this.dir, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const entry of entries) {
        if ((entry.name === '.git' && relative === '') || isSecretName(entry.name)) continue;
        const file = relative ? `${relative}/${entry.name}` : entry.name;
        if (hasIgnores && (await isoGit().isIgnored({ fs, dir: this.dir, gitdir: ignoreGitdir, filepath: file }))) continue;
        if (entry.isDirectory()) {
          await walk(file);
        } else if (entry.isFile() || entry.isSymbolicLink()) {
          if (files.size >= maxCheckpointFiles) {
            throw new SophiaError('refused', `The workspace has more than ${maxCheckpointFiles.toLocaleString('en')} files that are not ignored; add the generated ones to .gitignore so checkpoints stay quick.`);
          }
          files.set(file, await this.#hash(file));
        }
      }
    };
    await walk('');
    return { files };
  }

  async #hash(file: string): Promise<FileEntry> {
    const full = path.join(this.dir, file);
    const info = fs.lstatSync(full);
    const mode: FileEntry['mode'] = info.isSymbolicLink() ? '120000' : info.mode & 0o111 ? '100755' : '100644';
    const key = `${info.size}:${info.mtimeMs}:${info.ctimeMs}:${mode}`;
    const known = this.#hashes.get(file);
    if (known && known.key === key) return { mode, oid: known.oid };
    const blob = mode === '120000' ? Buffer.from(fs.readlinkSync(full)) : fs.readFileSync(full);
    const oid = await isoGit().writeBlob({ fs, gitdir: this.gitdir, blob });
    this.#hashes.set(file, { key, oid });
    return { mode, oid };
  }

  /** Builds the nested trees bottom-up; returns the root tree's id. */
  async #writeTrees(files: Map<string, FileEntry>): Promise<string> {
    interface Folder {
      readonly folders: Map<string, Folder>;
      readonly files: Map<string, FileEntry>;
    }
    const root: Folder = { folders: new Map(), files: new Map() };
    for (const [file, entry] of files) {
      const parts = file.split('/');
      const name = parts.pop()!;
      let folder = root;
      for (const part of parts) {
        let child = folder.folders.get(part);
        if (!child) {
          child = { folders: new Map(), files: new Map() };
          folder.folders.set(part, child);
        }
        folder = child;
      }
      folder.files.set(name, entry);
    }
    const write = async (folder: Folder): Promise<string> => {
      const tree: { mode: string; path: string; oid: string; type: 'blob' | 'tree' }[] = [];
      for (const [name, child] of folder.folders) tree.push({ mode: '040000', path: name, oid: await write(child), type: 'tree' });
      for (const [name, entry] of folder.files) tree.push({ mode: entry.mode, path: name, oid: entry.oid, type: 'blob' });
      return isoGit().writeTree({ fs, gitdir: this.gitdir, tree });
    };
    return write(root);
  }

  async #treeFiles(commit: string): Promise<Map<string, FileEntry>> {
    const files = new Map<string, FileEntry>();
    const read = async (oid: string, prefix: string): Promise<void> => {
      const { tree } = await isoGit().readTree({ fs, gitdir: this.gitdir, oid });
      for (const entry of tree) {
        const file = prefix ? `${prefix}/${entry.path}` : entry.path;
        if (entry.type === 'tree') await read(entry.oid, file);
        else files.set(file, { mode: entry.mode as FileEntry['mode'], oid: entry.oid });
      }
    };
    const { commit: parsed } = await isoGit().readCommit({ fs, gitdir: this.gitdir, oid: commit });
    await read(parsed.tree, '');
    return files;
  }

  async #writeFile(file: string, entry: FileEntry): Promise<void> {
    const full = path.join(this.dir, file);
    const { blob } = await isoGit().readBlob({ fs, gitdir: this.gitdir, oid: entry.oid });
    fs.mkdirSync(path.dirname(full), { recursive: true });
    // A folder or link where the file goes is replaced, as git would.
    if (fs.existsSync(full) || isLink(full)) fs.rmSync(full, { recursive: true, force: true });
    if (entry.mode === '120000') fs.symlinkSync(Buffer.from(blob).toString('utf8'), full);
    else fs.writeFileSync(full, blob, { mode: entry.mode === '100755' ? 0o755 : 0o644 });
    this.#hashes.delete(file);
  }

  #removeEmptyParents(file: string): void {
    let folder = path.posix.dirname(file);
    while (folder !== '.' && folder !== '') {
      const full = path.join(this.dir, folder);
      try {
        if (fs.readdirSync(full).length > 0) return;
        fs.rmdirSync(full);
      } catch {
        return;
      }
      folder = path.posix.dirname(folder);
    }
  }
}

function isLink(full: string): boolean {
  try {
    return fs.lstatSync(full).isSymbolicLink();
  } catch {
    return false;
  }
}
