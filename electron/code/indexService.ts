/**
 * The code index of the open workspace, for the agent's `search_code` and `repo_map`:
 * opened (or loaded from disk) on first use, brought up to date then, kept up to date by a
 * recursive file watcher (each changed file read again alone), and saved a few seconds
 * after changes settle. A new workspace gets its own index file.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../log';
import { CodeIndex } from './codeIndex';
import type { SymbolExtractor } from './symbols';

const log = createLogger('indexService');

const saveDelayMs = 5000;
const updateDelayMs = 200;
const maxPending = 5000;

export class CodeIndexService {
  #current: { root: string; index: Promise<CodeIndex>; watcher?: FSWatcher } | undefined;
  #pending = new Set<string>();
  #updateTimer: NodeJS.Timeout | undefined;
  #saveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      readonly workspace: () => string;
      readonly storeDir: string;
      readonly extractor?: () => Promise<SymbolExtractor>;
      /** Off in tests that want to drive updates themselves. */
      readonly watch?: boolean;
    },
  ) {}

  /** The index of the open workspace, up to date; undefined when none is open. */
  async index(): Promise<CodeIndex | undefined> {
    const root = this.options.workspace();
    if (!root) return undefined;
    if (this.#current?.root !== root) {
      this.#stop();
      const storeFile = path.join(this.options.storeDir, `${createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 24)}.json`);
      const index = (async () => {
        const extractor = this.options.extractor ? await this.options.extractor() : undefined;
        const opened = await CodeIndex.open(root, storeFile, extractor);
        const report = await opened.refresh();
        log.info('code index ready', { files: report.files, indexed: report.indexed, removed: report.removed, ms: Math.round(report.ms) });
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
