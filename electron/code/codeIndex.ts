/**
 * The workspace's code index: symbols from tree-sitter (`symbols.ts`) and a BM25 ranking
 * over paths, symbols and text (MiniSearch's BM25+), so the agent finds relevant code
 * without reading everything. It respects `.gitignore` files at every level (the `ignore`
 * package), skips `.git/`, secret files, links and binaries, is kept up to date file by
 * file (modification time and size decide what is read again), and is saved to disk so a
 * restart loads it instead of rebuilding.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import MiniSearch from 'minisearch';
import { createLogger } from '../log';
import { SymbolExtractor, type CodeSymbol } from './symbols';
import { isSecretName, isSecretPath } from '../core/workspacePaths';

const log = createLogger('codeIndex');

const formatVersion = 1;
const maxFileBytes = 1024 * 1024;
/** Past this, a file's text is cut before indexing (its symbols are still all read). */
const maxIndexedChars = 200_000;
const maxFiles = 200_000;

interface FileEntry {
  readonly mtimeMs: number;
  readonly size: number;
  readonly symbols: readonly CodeSymbol[];
}

interface Doc {
  readonly id: string;
  readonly path: string;
  readonly symbols: string;
  readonly content: string;
}

export interface SearchHit {
  readonly path: string;
  readonly score: number;
  /** The file's symbols that match a query word. */
  readonly symbols: readonly CodeSymbol[];
}

export interface RefreshReport {
  readonly files: number;
  readonly indexed: number;
  readonly removed: number;
  readonly ms: number;
}

/** Identifiers split as code names them: `getUserName` also as get, user, name. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const word of text.split(/[^A-Za-z0-9_$]+/)) {
    if (!word || word.length > 80) continue;
    out.push(word);
    const parts = word.split(/_+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/).filter(Boolean);
    if (parts.length > 1) out.push(...parts);
  }
  return out;
}

const searchOptions = {
  fields: ['path', 'symbols', 'content'],
  tokenize,
  processTerm: (term: string) => (term.length < 2 ? null : term.toLowerCase()),
  searchOptions: { boost: { symbols: 4, path: 2 }, tokenize, processTerm: (term: string) => term.toLowerCase() },
};

export class CodeIndex {
  #files = new Map<string, FileEntry>();
  #search = new MiniSearch<Doc>(searchOptions);
  #dirty = false;

  private constructor(
    readonly root: string,
    private readonly storeFile: string,
    private readonly extractor: SymbolExtractor,
  ) {}

  /** Loads the saved index when there is one for this folder; `refresh` brings it up to date. */
  static async open(root: string, storeFile: string, extractor?: SymbolExtractor): Promise<CodeIndex> {
    const index = new CodeIndex(path.resolve(root), storeFile, extractor ?? (await SymbolExtractor.create()));
    const saved = await readFile(storeFile, 'utf8').catch(() => undefined);
    if (saved) {
      try {
        const parsed = JSON.parse(saved) as { version: number; root: string; files: [string, FileEntry][]; search: unknown };
        if (parsed.version === formatVersion && parsed.root === index.root) {
          index.#files = new Map(parsed.files);
          index.#search = MiniSearch.loadJS<Doc>(parsed.search as Parameters<typeof MiniSearch.loadJS>[0], searchOptions);
        }
      } catch (error) {
        log.warn('the saved code index could not be read; it is rebuilt', { error });
      }
    }
    return index;
  }

  get size(): number {
    return this.#files.size;
  }

  /** Every indexed file with its symbols. */
  entries(): IterableIterator<[string, { readonly symbols: readonly CodeSymbol[] }]> {
    return this.#files.entries();
  }

  /** Walks the workspace and reads again only what changed since the last time. */
  async refresh(): Promise<RefreshReport> {
    const started = performance.now();
    const seen = new Set<string>();
    let indexed = 0;
    for await (const file of this.#walk()) {
      seen.add(file.relative);
      const known = this.#files.get(file.relative);
      if (known && known.mtimeMs === file.mtimeMs && known.size === file.size) continue;
      if (await this.#indexFile(file.relative, file.mtimeMs, file.size)) indexed += 1;
    }
    let removed = 0;
    for (const relative of [...this.#files.keys()]) {
      if (!seen.has(relative)) {
        this.#remove(relative);
        removed += 1;
      }
    }
    return { files: this.#files.size, indexed, removed, ms: performance.now() - started };
  }

  /** One file changed, was created or was deleted (a watcher's report). */
  async updateFile(relative: string): Promise<void> {
    const normal = relative.split(path.sep).join('/');
    const info = await stat(path.join(this.root, normal)).catch(() => undefined);
    if (!info?.isFile() || (await this.#ignored(normal))) {
      if (this.#files.has(normal)) this.#remove(normal);
      return;
    }
    await this.#indexFile(normal, info.mtimeMs, info.size);
  }

  search(query: string, limit = 20): SearchHit[] {
    const words = new Set(tokenize(query).map((word) => word.toLowerCase()));
    return this.#search.search(query, { combineWith: 'OR' }).slice(0, limit).map((hit) => ({
      path: String(hit.id),
      score: hit.score,
      symbols: (this.#files.get(String(hit.id))?.symbols ?? []).filter((symbol) => tokenize(symbol.name).some((word) => words.has(word.toLowerCase()))).slice(0, 10),
    }));
  }

  /**
   * The repository map: files with their top symbols, most relevant first (by the query when
   * there is one, else by how many symbols a file declares), cut at `budgetTokens` (about
   * four characters a token).
   */
  repoMap(budgetTokens: number, query?: string): string {
    const budget = budgetTokens * 4;
    const ranked = query?.trim()
      ? this.search(query, 200).map((hit) => hit.path)
      : [...this.#files.entries()].sort((a, b) => b[1].symbols.length - a[1].symbols.length || a[0].localeCompare(b[0])).map(([file]) => file);
    const lines: string[] = [];
    let used = 0;
    for (const file of ranked) {
      const symbols = this.#files.get(file)?.symbols ?? [];
      const entry = `${file}${symbols.length ? `: ${symbols.slice(0, 12).map((symbol) => `${symbol.name}@${symbol.line}`).join(', ')}` : ''}`;
      if (used + entry.length + 1 > budget) break;
      lines.push(entry);
      used += entry.length + 1;
    }
    return lines.join('\n');
  }

  /** Written beside, then renamed over the old one: a crash leaves the old index or the new. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    await mkdir(path.dirname(this.storeFile), { recursive: true });
    const temp = `${this.storeFile}.tmp`;
    await writeFile(temp, JSON.stringify({ version: formatVersion, root: this.root, files: [...this.#files.entries()], search: this.#search.toJSON() }));
    await rename(temp, this.storeFile);
    this.#dirty = false;
  }

  async #indexFile(relative: string, mtimeMs: number, size: number): Promise<boolean> {
    const bytes = await readFile(path.join(this.root, relative)).catch(() => undefined);
    if (!bytes || bytes.includes(0)) {
      if (this.#files.has(relative)) this.#remove(relative);
      return false;
    }
    const text = bytes.toString('utf8');
    let symbols: CodeSymbol[] = [];
    try {
      symbols = await this.extractor.symbols(relative, text);
    } catch (error) {
      log.debug('symbols not read', { file: relative, error });
    }
    const doc: Doc = { id: relative, path: relative, symbols: symbols.map((symbol) => symbol.name).join(' '), content: text.slice(0, maxIndexedChars) };
    if (this.#search.has(relative)) this.#search.replace(doc);
    else this.#search.add(doc);
    this.#files.set(relative, { mtimeMs, size, symbols });
    this.#dirty = true;
    return true;
  }

  #remove(relative: string): void {
    if (this.#search.has(relative)) this.#search.discard(relative);
    this.#files.delete(relative);
    this.#dirty = true;
  }

  /** Whether a .gitignore on the way down to the file excludes it. */
  async #ignored(relative: string): Promise<boolean> {
    const parts = relative.split('/');
    if (parts.some((part) => part === '.git') || isSecretPath(relative)) return true;
    for (let depth = 0; depth < parts.length; depth += 1) {
      const base = parts.slice(0, depth).join('/');
      const rules = await this.#gitignore(base);
      if (rules?.ignores(parts.slice(depth).join('/'))) return true;
    }
    return false;
  }

  async #gitignore(base: string): Promise<Ignore | undefined> {
    const text = await readFile(path.join(this.root, base, '.gitignore'), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : ignore().add(text);
  }

  async *#walk(): AsyncGenerator<{ relative: string; mtimeMs: number; size: number }> {
    const stack: { dir: string; rules: { base: string; ig: Ignore }[] }[] = [{ dir: '', rules: [] }];
    let count = 0;
    while (stack.length > 0) {
      const { dir, rules: inherited } = stack.pop() as { dir: string; rules: { base: string; ig: Ignore }[] };
      const own = await this.#gitignore(dir);
      const rules = own ? [...inherited, { base: dir, ig: own }] : inherited;
      const entries = await readdir(path.join(this.root, dir), { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const relative = dir ? `${dir}/${entry.name}` : entry.name;
        // A secret file, or a folder named like one, is never read into the index.
        if (entry.name === '.git' || entry.isSymbolicLink() || isSecretName(entry.name)) continue;
        const isDir = entry.isDirectory();
        const excluded = rules.some(({ base, ig }) => ig.ignores(base ? relative.slice(base.length + 1) + (isDir ? '/' : '') : relative + (isDir ? '/' : '')));
        if (excluded) continue;
        if (isDir) {
          stack.push({ dir: relative, rules });
        } else if (entry.isFile()) {
          const info = await stat(path.join(this.root, relative)).catch(() => undefined);
          if (!info || info.size > maxFileBytes) continue;
          if (++count > maxFiles) return;
          yield { relative, mtimeMs: info.mtimeMs, size: info.size };
        }
      }
    }
  }
}
