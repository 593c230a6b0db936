/**
 * The code index of the open workspace, for the agent's `search_code` and `repo_map`:
 * opened (or loaded from disk) on first use, brought up to date then, kept up to date by a
 * recursive file watcher (each changed file read again alone), and saved a few seconds
 * after changes settle. A new workspace gets its own index file.
 *
 * The first build of a session runs in a worker thread (indexWorker.ts), which saves the
 * index; the main thread then loads it and only checks what changed since, so a first
 * search_code on a large repository does not hold up the main process while every file is
 * parsed. Where the worker script is not there (running from source), it builds in place.
 */
import { createHash } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { StoppedItem } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { createLogger } from '../log';
import type { CodeIndex } from './codeIndex';
import type { IndexBuildReply, IndexBuildRequest } from './indexWorker';
import type { SymbolExtractor } from './symbols';

const log = createLogger('indexService');

const saveDelayMs = 5000;
const updateDelayMs = 200;
const maxPending = 5000;

/** The built worker script: beside the main bundle, whether this module sits in it or in a chunk folder below it. */
function defaultWorkerScript(): URL | undefined {
  for (const candidate of ['./indexWorker.js', '../indexWorker.js']) {
    const url = new URL(candidate, import.meta.url);
    if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

/** Where the last first build ran: a worker's thread id, or 0 for the main thread. */
export interface IndexBuild {
  readonly threadId: number;
  readonly files: number;
}

export class CodeIndexService {
  #current: { root: string; index: Promise<CodeIndex>; watcher?: FSWatcher } | undefined;
  #pending = new Set<string>();
  #updateTimer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  readonly #workers = new Set<Worker>();
  /** Set by the emergency stop, cleared by Resume. */
  #stopped = false;

  constructor(
    private readonly options: {
      readonly workspace: () => string;
      readonly storeDir: string;
      readonly extractor?: () => Promise<SymbolExtractor>;
      /** Off in tests that want to drive updates themselves. */
      readonly watch?: boolean;
      /** The worker script for first builds; found beside the bundle by default; false builds on the main thread. */
      readonly worker?: URL | false;
    },
  ) {}

  /**
   * The emergency stop: the build worker is terminated (no build on the main thread takes
   * its place), the watcher closes, and nothing is indexed until `resume`.
   */
  async stopAll(): Promise<StoppedItem[]> {
    this.#stopped = true;
    const workers = [...this.#workers];
    this.#workers.clear();
    this.#stop();
    await Promise.allSettled(workers.map((worker) => worker.terminate()));
    return workers.map((worker) => ({ kind: 'task', id: `index-worker-${worker.threadId}`, label: 'code index build', outcome: 'stopped' }));
  }

  resume(): void {
    this.#stopped = false;
  }

  #assertRunning(): void {
    if (this.#stopped) throw new SophiaError('stopped', 'Sophia is stopped: the code index is not built until you press Resume.');
  }

  /** Where the latest first build ran. */
  lastBuild: IndexBuild | undefined;

  /** The index of the open workspace, up to date; undefined when none is open. */
  async index(): Promise<CodeIndex | undefined> {
    this.#assertRunning();
    const root = this.options.workspace();
    if (!root) return undefined;
    if (this.#current?.root !== root) {
      this.#stop();
      const storeFile = path.join(this.options.storeDir, `${createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 24)}.json`);
      const index = (async () => {
        // An injected extractor (tests) cannot cross into a worker: those build here.
        const worker = this.options.extractor ? undefined : this.options.worker === false ? undefined : (this.options.worker ?? defaultWorkerScript());
        const built = worker ? await this.#buildInWorker(worker, { root, storeFile }) : undefined;
        // A worker ended by the stop is not replaced by a build here.
        this.#assertRunning();
        const extractor = this.options.extractor ? await this.options.extractor() : undefined;
        // The index (tree-sitter, BM25, .gitignore rules) loads with its first use, not at start.
        const { CodeIndex } = await import('./codeIndex');
        const opened = await CodeIndex.open(root, storeFile, extractor);
        const report = await opened.refresh();
        this.lastBuild = built ?? { threadId: 0, files: report.files };
        log.info('code index ready', { files: report.files, indexed: report.indexed, removed: report.removed, ms: Math.round(report.ms), builtBy: built ? 'worker' : 'main' });
        await opened.save();
        return opened;
      })();
      this.#current = { root, index };
      if (this.options.watch !== false) this.#watch(root);
    }
    return this.#current.index;
  }

  close(): void {
    this.#stop();
  }

  /** The build in a worker thread; on any failure the main thread builds instead (logged). */
  async #buildInWorker(script: URL, request: IndexBuildRequest): Promise<IndexBuild | undefined> {
    const reply = await new Promise<IndexBuildReply>((resolve) => {
      const worker = new Worker(script, { workerData: request, name: 'sophia-code-index' });
      this.#workers.add(worker);
      worker.once('exit', () => this.#workers.delete(worker));
      worker.once('message', (message: IndexBuildReply) => resolve(message));
      worker.once('error', (error) => resolve({ ok: false, error: error.message }));
      worker.once('exit', (code) => resolve({ ok: false, error: `the worker exited with code ${code}` }));
    });
    if (!reply.ok) {
      if (this.#stopped) return undefined;
      log.warn('the code index could not be built in a worker; building it here', { error: reply.error });
      return undefined;
    }
    return { threadId: reply.threadId, files: reply.report.files };
  }

  #watch(root: string): void {
    try {
      const watcher = watch(root, { recursive: true }, (_event, filename) => {
        if (!filename || this.#pending.size >= maxPending) return;
        const relative = filename.toString().split(path.sep).join('/');
        if (relative.split('/').includes('.git')) return;
        this.#pending.add(relative);
        clearTimeout(this.#updateTimer);
        this.#updateTimer = setTimeout(() => void this.#flush(), updateDelayMs);
      });
      watcher.on('error', (error) => log.warn('the workspace watcher failed; the index is refreshed on next use', { error }));
      if (this.#current) this.#current.watcher = watcher;
    } catch (error) {
      log.warn('the workspace cannot be watched; the index is refreshed on next use', { error });
    }
  }

  async #flush(): Promise<void> {
    const current = this.#current;
    if (!current) return;
    const files = [...this.#pending];
    this.#pending.clear();
    try {
      const index = await current.index;
      for (const file of files) await index.updateFile(file);
      clearTimeout(this.#saveTimer);
      this.#saveTimer = setTimeout(() => void index.save().catch((error: unknown) => log.warn('the code index could not be saved', { error })), saveDelayMs);
    } catch (error) {
      log.warn('the code index could not be updated', { error });
    }
  }

  #stop(): void {
    clearTimeout(this.#updateTimer);
    clearTimeout(this.#saveTimer);
    this.#current?.watcher?.close();
    const previous = this.#current?.index;
    this.#current = undefined;
    this.#pending.clear();
    void previous?.then((index) => index.save()).catch(() => undefined);
  }
}
