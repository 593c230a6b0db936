/**
 * The fast status (index stat cache, racy entries, .gitignore walk) against the git CLI's
 * `git status --porcelain` on fixture repositories built with the git CLI, and against
 * isomorphic-git's statusMatrix where the two agree.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseGitIndex, UnsupportedIndexError } from '../../../electron/git/gitIndexFile';
import { GitRepository } from '../../../electron/git/gitRepository';
import { comparePaths } from '../../../electron/git/workingTreeStatus';
import type { GitFileChange } from '../../../shared/contract';

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir(), GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env, maxBuffer: 16 * 1024 * 1024 });
}

function write(dir: string, file: string, content: string): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), content);
}

/**
 * `git status --porcelain -uall --no-renames` in Sophia's terms: X is index against HEAD, Y the
 * working tree against the index. Git prints "D " and "??" for a path removed from the index but
 * still on disk, which is one row ("modified", staged) in the status matrix.
 */
function cliStatus(dir: string): GitFileChange[] {
  // --no-optional-locks: git must not refresh (rewrite) the index while we compare.
  const out = git(dir, '--no-optional-locks', 'status', '--porcelain=v1', '-z', '-uall', '--no-renames');
  const byPath = new Map<string, GitFileChange>();
  for (const record of out.split('\0').filter(Boolean)) {
    const [x, y, file] = [record[0], record[1], record.slice(3)];
    const earlier = byPath.get(file);
    let change: GitFileChange;
    if (x === '?' && y === '?') change = earlier ? { path: file, change: 'modified', staged: true } : { path: file, change: 'untracked', staged: false };
    else if (x === 'A') change = { path: file, change: y === 'D' ? 'deleted' : 'added', staged: true };
    else if (x === ' ' && y === 'A') change = { path: file, change: 'added', staged: false };
    else if (x === 'D') change = { path: file, change: earlier ? 'modified' : 'deleted', staged: true };
    else if (y === 'D') change = { path: file, change: 'deleted', staged: x !== ' ' };
    else change = { path: file, change: 'modified', staged: x !== ' ' };
    byPath.set(file, change);
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

let dir: string;
let repo: GitRepository;

function fixture(files: Record<string, string>): void {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sophia-status-'));
  git(dir, 'init', '--quiet', '--initial-branch=main');
  for (const [file, content] of Object.entries(files)) write(dir, file, content);
  git(dir, 'add', '-A');
  git(dir, 'commit', '--quiet', '-m', 'base');
  repo = new GitRepository(dir);
}

async function expectSameAsCli(): Promise<GitFileChange[]> {
  const mine = await repo.changes();
  expect(mine).toEqual(cliStatus(dir));
  return mine;
}

const base = {
  'README.md': '# Payroll\n',
  'src/employees.ts': 'export const employees = [];\n',
  'src/phone.ts': 'export const phone = null;\n',
  'src/deep/a/b/c.ts': 'export const c = 1;\n',
  'docs/guide.md': 'Guide\n',
  'a.txt': 'a\n',
  'a/b.txt': 'b\n',
  '.gitignore': '*.log\nbuild/\n!keep.log\n',
};

describe('fast status against git status --porcelain', () => {
  beforeEach(() => fixture(base));

  it('sees nothing in a clean repository, and does not write the index', async () => {
    const before = readFileSync(path.join(dir, '.git', 'index'));
    expect(await expectSameAsCli()).toEqual([]);
    expect(readFileSync(path.join(dir, '.git', 'index')).equals(before)).toBe(true);
  });

  it('modified, staged, staged and modified again, deleted, staged deletion, added, added then changed', async () => {
    write(dir, 'README.md', '# Payroll\n\nPhones too.\n');
    write(dir, 'src/employees.ts', 'export const employees = [1];\n');
    git(dir, 'add', 'src/employees.ts');
    write(dir, 'src/phone.ts', 'export const phone = "x";\n');
    git(dir, 'add', 'src/phone.ts');
    write(dir, 'src/phone.ts', 'export const phone = "y";\n');
    rmSync(path.join(dir, 'docs/guide.md'));
    git(dir, 'rm', '--quiet', 'src/deep/a/b/c.ts');
    write(dir, 'new/added.ts', 'added\n');
    write(dir, 'new/changed.ts', 'one\n');
    git(dir, 'add', 'new');
    write(dir, 'new/changed.ts', 'two\n');
    const changes = await expectSameAsCli();
    expect(changes.map((change) => `${change.change}${change.staged ? '+' : ''} ${change.path}`)).toEqual([
      'modified README.md',
      'deleted docs/guide.md',
      'added+ new/added.ts',
      'added+ new/changed.ts',
      'deleted+ src/deep/a/b/c.ts',
      'modified+ src/employees.ts',
      'modified+ src/phone.ts',
    ]);
  });

  it('untracked files in nested folders, skipping ignored files and folders (.gitignore per folder, negation, info/exclude)', async () => {
    write(dir, 'notes.txt', 'n\n');
    write(dir, 'x/y/z/new.ts', 'z\n');
    write(dir, 'debug.log', 'ignored\n');
    write(dir, 'keep.log', 'not ignored: negated\n');
    write(dir, 'build/out.js', 'ignored folder\n');
    write(dir, 'src/build/deep.js', 'ignored folder at any depth\n');
    write(dir, 'src/.gitignore', '*.tmp\n!important.tmp\n');
    write(dir, 'src/scratch.tmp', 'ignored by src/.gitignore\n');
    write(dir, 'src/important.tmp', 'negated in src/.gitignore\n');
    write(dir, 'scratch.tmp', 'not ignored at the root\n');
    write(dir, 'docs/.gitignore', '/only-here.md\n');
    write(dir, 'docs/only-here.md', 'anchored to docs/\n');
    write(dir, 'docs/sub/only-here.md', 'not anchored here\n');
    write(dir, '.git/info/exclude', 'secret-*\n');
    write(dir, 'secret-plan.txt', 'excluded\n');
    const changes = await expectSameAsCli();
    expect(changes.filter((change) => change.change === 'untracked').map((change) => change.path)).toEqual([
      'docs/.gitignore',
      'docs/sub/only-here.md',
      'keep.log',
      'notes.txt',
      'scratch.tmp',
      'src/.gitignore',
      'src/important.tmp',
      'x/y/z/new.ts',
    ]);
  });

  it('a tracked file that matches an ignore rule is still reported when it changes', async () => {
    git(dir, 'add', '-f', '--', '.gitignore');
    write(dir, 'tracked.log', 'one\n');
    git(dir, 'add', '-f', 'tracked.log');
    git(dir, 'commit', '--quiet', '-m', 'log');
    write(dir, 'tracked.log', 'two\n');
    expect(await expectSameAsCli()).toEqual([{ path: 'tracked.log', change: 'modified', staged: false }]);
  });

  it('a rename is a deletion and an addition (staged with git mv, or only in the working tree)', async () => {
    git(dir, 'mv', 'src/phone.ts', 'src/telephone.ts');
    renameSync(path.join(dir, 'docs/guide.md'), path.join(dir, 'docs/handbook.md'));
    expect(await expectSameAsCli()).toEqual([
      { path: 'docs/guide.md', change: 'deleted', staged: false },
      { path: 'docs/handbook.md', change: 'untracked', staged: false },
      { path: 'src/phone.ts', change: 'deleted', staged: true },
      { path: 'src/telephone.ts', change: 'added', staged: true },
    ]);
  });

  it('removed from the index but still on disk (git rm --cached), and a file replaced by a folder', async () => {
    git(dir, 'rm', '--quiet', '--cached', 'README.md');
    rmSync(path.join(dir, 'a.txt'));
    write(dir, 'a.txt/inside.txt', 'now a folder\n');
    expect(await expectSameAsCli()).toEqual([
      { path: 'README.md', change: 'modified', staged: true },
      { path: 'a.txt', change: 'deleted', staged: false },
      { path: 'a.txt/inside.txt', change: 'untracked', staged: false },
    ]);
  });

  it('racily clean entries: a same-size edit with the same mtime is caught when the index was written in that second, as git does', async () => {
    // ctime would give the edit away; git users can turn it off, and then only the racy check remains.
    git(dir, 'config', 'core.trustctime', 'false');
    const file = path.join(dir, 'src/phone.ts');
    // An mtime in the index's second or later: racily clean.
    const future = Math.floor(Date.now() / 1000) + 100;
    utimesSync(file, future, future);
    git(dir, 'add', 'src/phone.ts');
    writeFileSync(file, 'export const phone = "1";\n'.padEnd(readFileSync(file).length, ' '));
    utimesSync(file, future, future);
    expect(statSync(file).size).toBe(Buffer.byteLength(base['src/phone.ts']));
    expect(await expectSameAsCli()).toEqual([{ path: 'src/phone.ts', change: 'modified', staged: false }]);
  });

  it('an entry whose stat data still match, written well before the index, is trusted without reading it (as git does)', async () => {
    git(dir, 'config', 'core.trustctime', 'false');
    const file = path.join(dir, 'src/phone.ts');
    const past = Math.floor(Date.now() / 1000) - 1000;
    utimesSync(file, past, past);
    git(dir, 'add', 'src/phone.ts');
    const size = readFileSync(file).length;
    writeFileSync(file, 'x'.repeat(size));
    utimesSync(file, past, past);
    // Same size, mtime and inode: neither git nor Sophia reads the file.
    expect(await expectSameAsCli()).toEqual([]);
  });

  it('a same-second edit of a freshly committed file', async () => {
    write(dir, 'src/phone.ts', 'export const phone = 1;\n');
    git(dir, 'commit', '--quiet', '-am', 'one');
    write(dir, 'src/phone.ts', 'export const phone = 2;\n');
    expect(await expectSameAsCli()).toEqual([{ path: 'src/phone.ts', change: 'modified', staged: false }]);
  });

  it('the executable bit, in the working tree and staged', async () => {
    chmodSync(path.join(dir, 'README.md'), 0o755);
    git(dir, 'update-index', '--chmod=+x', 'src/phone.ts');
    expect(await expectSameAsCli()).toEqual([
      { path: 'README.md', change: 'modified', staged: false },
      { path: 'src/phone.ts', change: 'modified', staged: true },
    ]);
    git(dir, 'config', 'core.fileMode', 'false');
    // Not trusting the bit: the working tree's bit no longer counts, the staged mode still does.
    expect(await expectSameAsCli()).toEqual([{ path: 'src/phone.ts', change: 'modified', staged: true }]);
  });

  it('symbolic links: retargeted, new, and a file replaced by a link', async () => {
    symlinkSync('README.md', path.join(dir, 'link'));
    git(dir, 'add', 'link');
    git(dir, 'commit', '--quiet', '-m', 'link');
    unlinkSync(path.join(dir, 'link'));
    symlinkSync('a.txt', path.join(dir, 'link'));
    symlinkSync('src', path.join(dir, 'src-link'));
    rmSync(path.join(dir, 'docs/guide.md'));
    symlinkSync('../README.md', path.join(dir, 'docs/guide.md'));
    // A dangling link is a file to git too.
    symlinkSync('nowhere', path.join(dir, 'dangling'));
    expect(await expectSameAsCli()).toEqual([
      { path: 'dangling', change: 'untracked', staged: false },
      { path: 'docs/guide.md', change: 'modified', staged: false },
      { path: 'link', change: 'modified', staged: false },
      { path: 'src-link', change: 'untracked', staged: false },
    ]);
  });

  it('intent to add (git add -N, an index of version 3) and index version 4', async () => {
    write(dir, 'planned.ts', 'soon\n');
    git(dir, 'add', '-N', 'planned.ts');
    write(dir, 'README.md', 'changed\n');
    expect(parseGitIndex(readFileSync(path.join(dir, '.git', 'index'))).version).toBe(3);
    expect(await expectSameAsCli()).toEqual([
      { path: 'README.md', change: 'modified', staged: false },
      { path: 'planned.ts', change: 'added', staged: false },
    ]);
    git(dir, 'update-index', '--index-version', '4');
    expect(parseGitIndex(readFileSync(path.join(dir, '.git', 'index'))).version).toBe(4);
    await expectSameAsCli();
  });

  it('agrees with isomorphic-git statusMatrix where statusMatrix looks at content only', async () => {
    write(dir, 'README.md', 'changed\n');
    write(dir, 'src/employees.ts', 'export const employees = [1];\n');
    git(dir, 'add', 'src/employees.ts');
    rmSync(path.join(dir, 'docs/guide.md'));
    write(dir, 'x/new.ts', 'new\n');
    write(dir, 'debug.log', 'ignored\n');
    write(dir, 'staged-new.ts', 'new\n');
    git(dir, 'add', 'staged-new.ts');
    expect(await repo.changes()).toEqual(await repo.changesThroughStatusMatrix());
  });
});

describe('the index file', () => {
  beforeEach(() => fixture(base));

  it('reads versions 2, 3 and 4 as git ls-files does', () => {
    write(dir, 'planned.ts', 'soon\n');
    for (const version of ['2', '4', '3']) {
      // Git writes version 3 only when an entry needs its extended flags (here: intent to add).
      if (version === '3') git(dir, 'add', '-N', 'planned.ts');
      git(dir, 'update-index', '--index-version', version);
      const index = parseGitIndex(readFileSync(path.join(dir, '.git', 'index')));
      expect(index.version).toBe(Number(version));
      const listed = git(dir, 'ls-files', '--stage').trim().split('\n');
      expect(index.entries.map((entry) => `${entry.mode.toString(8)} ${entry.oid} ${entry.stage}\t${entry.path}`)).toEqual(listed);
      const size = statSync(path.join(dir, 'src/phone.ts')).size;
      expect(index.entries.find((entry) => entry.path === 'src/phone.ts')?.size).toBe(size);
    }
  });

  it('refuses a split index plainly rather than guess (isomorphic-git misreads it)', async () => {
    write(dir, 'README.md', 'changed\n');
    git(dir, 'update-index', '--split-index');
    expect(() => parseGitIndex(readFileSync(path.join(dir, '.git', 'index')))).toThrow(UnsupportedIndexError);
    await expect(repo.changes()).rejects.toThrow(/split index/);
    git(dir, 'update-index', '--no-split-index');
    await expectSameAsCli();
  });

  it('a repository with no commits yet lists staged files as added', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sophia-status-'));
    git(dir, 'init', '--quiet');
    write(dir, 'one.ts', '1\n');
    write(dir, 'two.ts', '2\n');
    git(dir, 'add', 'one.ts');
    repo = new GitRepository(dir);
    await expectSameAsCli();
  });
});
