/**
 * Runs a TypeScript entry under plain Node through Vite's module runner, which transforms
 * only what the entry imports (so one unfinished module elsewhere in the tree does not
 * stop it). The entry runs itself when imported:
 *   node test/support/runTs.ts test/bench/sandboxBench.ts
 * Node strips this file's own types; the entry and everything it imports go through Vite.
 */
import path from 'node:path';
import { runnerImport } from 'vite';

const entry = process.argv[2];
if (entry === undefined) {
  process.stderr.write('usage: node test/support/runTs.ts <entry.ts>\n');
  process.exit(2);
}
try {
  await runnerImport(path.resolve(entry), { configFile: false, logLevel: 'error' });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
