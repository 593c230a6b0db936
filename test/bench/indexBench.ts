/**
 * bench:index — `npm run bench:index -- <dir>`: indexes the directory (tree-sitter symbols
 * and MiniSearch BM25, respecting .gitignore), then answers 200 queries (identifiers drawn
 * from the index with a fixed seed), and asks ripgrep (Debian's `rg`) the same queries over
 * the same folder in the same run. Also times re-indexing one changed file. Prints figures,
 * never asserts; the JSON line is the last line of stdout.
 */
import { spawnSync } from 'node:child_process';
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CodeIndex } from '../../electron/code/codeIndex';
import { SymbolExtractor } from '../../electron/code/symbols';
import { percentile, progress, round } from './stats';

const queryCount = 200;
/** Ripgrep scans everything per query: bounded in count and time. */
const rgBudgetMs = 120_000;

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npm run bench:index -- <dir>');
  const root = path.resolve(dir);
  const store = path.join(await mkdtemp(path.join(os.tmpdir(), 'sophia-index-bench-')), 'index.json');
  const extractor = await SymbolExtractor.create();

  const index = await CodeIndex.open(root, store, extractor);
  const started = performance.now();
  const report = await index.refresh();
  const indexSeconds = (performance.now() - started) / 1000;
  progress(`indexed ${report.files} files in ${indexSeconds.toFixed(1)} s`);
  const saveStarted = performance.now();
  await index.save();
  const saveSeconds = (performance.now() - saveStarted) / 1000;

  // Identifiers from the index, drawn with a fixed seed so every run asks the same.
  const names = [...new Set([...index.entries()].flatMap(([, entry]) => entry.symbols.map((symbol) => symbol.name)).filter((name) => /^[A-Za-z_][A-Za-z0-9_]{4,40}$/.test(name)))].sort();
  let seed = 42;
  const next = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const queries = Array.from({ length: queryCount }, () => names[Math.floor(next() * names.length)] ?? 'main');

  const queryMs: number[] = [];
  for (const query of queries) {
    const t = performance.now();
    index.search(query, 20);
    queryMs.push(performance.now() - t);
  }

  const rgMs: number[] = [];
  const rgStarted = performance.now();
  for (const query of queries) {
    if (performance.now() - rgStarted > rgBudgetMs) break;
    const t = performance.now();
    const run = spawnSync('rg', ['-l', '-F', '-i', '--no-messages', '--', query, root], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.error) throw new Error(`ripgrep is needed for the comparison (Debian: apt-get install ripgrep): ${run.error.message}`);
    rgMs.push(performance.now() - t);
  }
  progress(`ripgrep answered ${rgMs.length} of ${queries.length} queries`);

  // One file changed: the index reads it again alone.
  const [changed] = [...index.entries()].map(([file]) => file).filter((file) => file.endsWith('.ts') || file.endsWith('.js') || file.endsWith('.py'));
  let reindexMs = Number.NaN;
  if (changed) {
    const full = path.join(root, changed);
    const original = await readFile(full);
    await appendFile(full, '\nexport function benchReindexMarker() {}\n');
    const t = performance.now();
    await index.updateFile(changed);
    reindexMs = performance.now() - t;
    await writeFile(full, original);
    await index.updateFile(changed);
  }

  const p50 = percentile(queryMs, 50);
  const rgP50 = percentile(rgMs, 50);
  const result = {
    metric: 'code_index',
    files: report.files,
    index_s: round(indexSeconds),
    query_p50_ms: p50,
    query_p95_ms: percentile(queryMs, 95),
    rg_p50_ms: rgP50,
    speedup_vs_rg_p50: round(rgP50 / Math.max(p50, 0.1)),
    reindex_one_ms: round(reindexMs),
    save_s: round(saveSeconds),
    rg_queries: rgMs.length,
    symbols: names.length,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
