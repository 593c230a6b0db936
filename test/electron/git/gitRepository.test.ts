/**
 * isomorphic-git against a real git server (git http-backend behind basic auth on
 * 127.0.0.1), checked with the git CLI on both ends.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkRemoteUrl, GitRepository, isValidBranchName } from '../../../electron/git/gitRepository';
import { SophiaError } from '../../../shared/errors';
import { gitCli, gitCliAsync, startGitHttpServer, type GitHttpServer } from '../../support/standIns/gitHttpServer';

const token = 'ghp_testtoken_0123456789abcdef';
const author = { name: 'Ada Lovelace', email: 'ada@example.com' };
let server: GitHttpServer;
let dir: string;
let repo: GitRepository;
let counter = 0;

beforeAll(async () => {
  server = await startGitHttpServer({ password: token });
});

afterAll(async () => {
  await server?.close();
});

beforeEach(async () => {
  counter += 1;
  server.createRepository('acme', `payroll${counter}`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sophia-git-ws-'));
  // The clone goes through the same server with credentials in a one-off header, not the URL.
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  await gitCliAsync(dir, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'clone', '--quiet', server.urlOf('acme', `payroll${counter}`), '.');
  repo = new GitRepository(dir);
});

const name = () => `payroll${counter}`;

describe('status and diff', () => {
  it('lists changed, new and deleted files as the git CLI does, without writing the index', async () => {
    writeFileSync(path.join(dir, 'README.md'), '# Payroll\n\nPhone numbers too.\n');
    writeFileSync(path.join(dir, 'phone.sql'), 'ALTER TABLE employees ADD phone VARCHAR(20);\n');
    const indexBefore = readFileSync(path.join(dir, '.git', 'index'));
    const status = await repo.status();
    expect(status).toMatchObject({ repository: true, branch: 'main', upstream: 'origin/main', ahead: 0, behind: 0 });
    expect(status.files).toEqual([
      { path: 'README.md', change: 'modified', staged: false },
      { path: 'phone.sql', change: 'untracked', staged: false },
    ]);
    expect(readFileSync(path.join(dir, '.git', 'index')).equals(indexBefore)).toBe(true);
    // (The CLI's output is trimmed, so the first line's leading space is gone.)
    expect(gitCli(dir, 'status', '--porcelain')).toBe('M README.md\n?? phone.sql');

    rmSync(path.join(dir, 'README.md'));
    expect((await repo.status()).files[0]).toEqual({ path: 'README.md', change: 'deleted', staged: false });
  });

  it('gives both sides of a file for the diff view and refuses paths outside the repository', async () => {
    writeFileSync(path.join(dir, 'README.md'), '# Payroll v2\n');
    expect(await repo.diff('README.md')).toEqual({ path: 'README.md', original: '# Payroll\n', modified: '# Payroll v2\n', binary: false });
    await expect(repo.diff('../etc/passwd')).rejects.toThrow(/not a path inside/);
    await expect(repo.diff('.git/config')).rejects.toThrow(/\.git/);
  });

  it('says when a folder is not a repository', async () => {
    const plain = new GitRepository(mkdtempSync(path.join(os.tmpdir(), 'sophia-plain-')));
    expect(await plain.status()).toMatchObject({ repository: false, files: [] });
  });
});

describe('branch, commit, push', () => {
  it('creates the branch, commits only the named files with the author, and pushes them to the server', async () => {
    writeFileSync(path.join(dir, 'phone.sql'), 'ALTER TABLE employees ADD phone VARCHAR(20);\n');
    writeFileSync(path.join(dir, 'notes.txt'), 'not part of this change\n');
    expect(await repo.switchToBranch('feature/add-phone-number')).toEqual({ created: true });
    const commit = await repo.commit({ message: 'Add phone number to employees\n\nA nullable VARCHAR(20).', paths: ['phone.sql'], author });
    // The other change stays in the working tree, uncommitted.
    expect(gitCli(dir, 'status', '--porcelain')).toBe('?? notes.txt');
    expect((await repo.status()).upstream).toBeNull();

    const pushed = await repo.push({ branch: 'feature/add-phone-number', url: server.urlOf('acme', name()), token });
    expect(pushed.commit).toBe(commit);
    // Read back on the server with the git CLI: branch, author, message and tree.
    expect(server.git('acme', name(), 'rev-parse', 'refs/heads/feature/add-phone-number')).toBe(commit);
    expect(server.git('acme', name(), 'log', '-1', '--format=%an <%ae>|%s', 'feature/add-phone-number')).toBe('Ada Lovelace <ada@example.com>|Add phone number to employees');
    expect(server.git('acme', name(), 'ls-tree', '--name-only', 'feature/add-phone-number')).toBe('README.md\nphone.sql');
    expect(server.git('acme', name(), 'show', 'feature/add-phone-number:phone.sql')).toBe('ALTER TABLE employees ADD phone VARCHAR(20);');
    expect(server.attempts.at(-1)).toEqual({ user: 'x-access-token', ok: true });
    expect(await repo.status()).toMatchObject({ branch: 'feature/add-phone-number', upstream: 'origin/feature/add-phone-number', ahead: 0, behind: 0 });

    writeFileSync(path.join(dir, 'phone.sql'), 'ALTER TABLE employees ADD phone VARCHAR(32);\n');
    await repo.commit({ message: 'Longer numbers', paths: ['phone.sql'], author });
    expect(await repo.status()).toMatchObject({ ahead: 1, behind: 0 });
  });

  it('refuses to commit files that did not change, and bad branch names', async () => {
    await expect(repo.commit({ message: 'x', paths: ['README.md'], author })).rejects.toThrow(/Not changed/);
    await expect(repo.switchToBranch('bad..name')).rejects.toThrow(/not a valid branch/);
    for (const bad of ['-x', 'a b', 'x.lock', 'a//b', 'HEAD', 'a~1', 'x\u0001']) expect(isValidBranchName(bad)).toBe(false);
    expect(isValidBranchName('feature/add-phone-number')).toBe(true);
  });

  it('says plainly when the token is wrong or missing, and offers it only once', async () => {
    writeFileSync(path.join(dir, 'a.txt'), 'a\n');
    await repo.switchToBranch('feature/a');
    await repo.commit({ message: 'a', paths: ['a.txt'], author });
    const before = server.attempts.length;
    const wrong = await repo.push({ branch: 'feature/a', url: server.urlOf('acme', name()), token: 'ghp_wrong' }).catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(SophiaError);
    expect((wrong as SophiaError).message).toMatch(/token/);
    expect(server.attempts.length - before).toBe(1);
    await expect(repo.push({ branch: 'feature/a', url: server.urlOf('acme', name()), token: undefined })).rejects.toThrow(/token/);
    expect(() => server.git('acme', name(), 'rev-parse', '--verify', '--quiet', 'refs/heads/feature/a')).toThrow();
  });

  it('refuses a push the server would have to fast-forward over others\u2019 work', async () => {
    writeFileSync(path.join(dir, 'README.md'), '# mine\n');
    await repo.commit({ message: 'mine', paths: ['README.md'], author });
    // Someone else pushed to main meanwhile.
    const other = mkdtempSync(path.join(os.tmpdir(), 'sophia-other-'));
    const basic = Buffer.from(`x:${token}`).toString('base64');
    await gitCliAsync(other, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'clone', '--quiet', server.urlOf('acme', name()), '.');
    writeFileSync(path.join(other, 'theirs.txt'), 'theirs\n');
    gitCli(other, 'add', '.');
    gitCli(other, '-c', 'user.name=O', '-c', 'user.email=o@example.com', 'commit', '--quiet', '-m', 'theirs');
    await gitCliAsync(other, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'push', '--quiet', 'origin', 'main');
    await expect(repo.push({ branch: 'main', url: server.urlOf('acme', name()), token })).rejects.toThrow(/never force-pushes|not accept|rejected/);
    await repo.fetch({ branch: 'main', url: server.urlOf('acme', name()), token });
    expect(await repo.status()).toMatchObject({ ahead: 1, behind: 1 });
  });

  it('only pushes over https, or http to this machine, with no credentials in the URL', () => {
    expect(() => checkRemoteUrl('http://example.com/a.git')).toThrow(/HTTPS/);
    expect(() => checkRemoteUrl('https://user:pw@github.com/a/b.git')).toThrow(/credentials/);
    expect(() => checkRemoteUrl('https://github.com/a/b.git')).not.toThrow();
    expect(() => checkRemoteUrl('http://127.0.0.1:9/a.git')).not.toThrow();
  });
});

describe('revert', () => {
  it('undoes a pushed commit with a new commit, as git revert does, and refuses when it would conflict', async () => {
    writeFileSync(path.join(dir, 'phone.sql'), 'ALTER TABLE employees ADD phone VARCHAR(20);\n');
    writeFileSync(path.join(dir, 'README.md'), '# Payroll with phones\n');
    await repo.switchToBranch('feature/phone');
    const bad = await repo.commit({ message: 'Add phone', paths: ['phone.sql', 'README.md'], author });
    await repo.push({ branch: 'feature/phone', url: server.urlOf('acme', name()), token });

    writeFileSync(path.join(dir, 'README.md'), '# dirty\n');
    await expect(repo.revert({ commit: bad, author })).rejects.toThrow(/would conflict/);
    gitCli(dir, 'checkout', '--quiet', '--', 'README.md');

    const revert = await repo.revert({ commit: bad, author });
    expect(gitCli(dir, 'log', '-1', '--format=%s%n%b', revert)).toBe(`Revert "Add phone"\nThis reverts commit ${bad}.`);
    expect(gitCli(dir, 'status', '--porcelain')).toBe('');
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toBe('# Payroll\n');
    // The tree is the one before the reverted commit; history keeps both.
    expect(gitCli(dir, 'rev-parse', `${revert}^{tree}`)).toBe(gitCli(dir, 'rev-parse', `${bad}^^{tree}`));
    expect(gitCli(dir, 'rev-list', '--count', 'HEAD')).toBe('3');
    await repo.push({ branch: 'feature/phone', url: server.urlOf('acme', name()), token });
    expect(server.git('acme', name(), 'rev-parse', 'feature/phone')).toBe(revert);
  });
});
