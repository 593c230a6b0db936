/**
 * bench:git — status on a repository of 20,000 files with 10 changed: the product's
 * `GitRepository.changes()` (read-only: the index's stat cache read as git does, objects through
 * isomorphic-git; `isogit_ms`) against the git CLI (`git status --porcelain`). The first run
 * (which reads the HEAD tree, then kept by its id) is printed apart; the JSON has the medians.
 * Usage: `npm run bench:git -- [dir]` (a fresh folder under the OS temp folder by default; the
 * repository is built there once and reused when present). The last stdout line is the JSON result.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GitRepository } from '../../electron/git/gitRepository';
import { percentile, progress } from './stats';

const files = 20_000;
const changed = 10;
const runs = 7;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
}

function build(dir: string): void {
  if (existsSync(path.join(dir, '.git'))) return;
  progress(`building a repository of ${files} files in ${dir}`);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '--quiet', '--initial-branch=main');
  for (let i = 0; i < files; i += 1) {
    const folder = path.join(dir, `pkg${Math.floor(i / 500)}`, `mod${Math.floor(i / 50) % 10}`);
    if (i % 50 === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `file${i}.ts`), `export const value${i} = ${i};\n`);
  }
  git(dir, 'add', '.');
  git(dir, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '--quiet', '-m', 'files');
}

async function main(): Promise<void> {
  const dir = process.argv[2] ? path.resolve(process.argv[2]) : mkdtempSync(path.join(os.tmpdir(), 'sophia-bench-git-'));
  build(dir);
  // Ten changed files (rewritten each run so the state is the same whoever ran before).
  git(dir, 'checkout', '--quiet', '--', '.');
  for (let i = 0; i < changed; i += 1) {
    const n = i * 1999;
    writeFileSync(path.join(dir, `pkg${Math.floor(n / 500)}`, `mod${Math.floor(n / 50) % 10}`, `file${n}.ts`), `export const value${n} = ${n} + 1;\n`);
  }
  // Let git refresh its index stat cache once, as any user's `git status` would have.
  git(dir, 'status', '--porcelain');

  const repository = new GitRepository(dir);
  const iso: number[] = [];
  const cli: number[] = [];
  let mine: string[] = [];
  let theirs: string[] = [];
  for (let run = 0; run < runs; run += 1) {
    let start = performance.now();
    mine = (await repository.changes()).map((change) => change.path).sort();
    iso.push(performance.now() - start);
    start = performance.now();
    theirs = git(dir, 'status', '--porcelain').split('\n').filter(Boolean).map((line) => line.slice(3)).sort();
    cli.push(performance.now() - start);
    progress(`run ${run + 1}/${runs}${run === 0 ? ' (cold: HEAD tree and index read)' : ''}: Sophia ${iso.at(-1)!.toFixed(1)} ms, git CLI ${cli.at(-1)!.toFixed(1)} ms`);
  }
  if (mine.length !== changed || mine.join('\n') !== theirs.join('\n')) throw new Error(`expected the ${changed} changed files git lists (${theirs.join(', ')}), Sophia saw ${mine.join(', ')}`);
  const isogitMs = percentile(iso, 50);
  const gitCliMs = percentile(cli, 50);
  process.stdout.write(`${JSON.stringify({ metric: 'git_status', files, isogit_ms: isogitMs, git_cli_ms: gitCliMs, ratio: Math.round((isogitMs / gitCliMs) * 100) / 100 })}\n`);
}

await main();
