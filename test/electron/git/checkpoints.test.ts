/**
 * Checkpoints in a shadow repository: rolling a conversation back three steps restores the
 * working tree exactly, and the user's branch, index, refs and objects are untouched.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../electron/git/checkpoints';
import { gitCli } from '../../support/standIns/gitHttpServer';

/** Every file under `dir` (but .git) with a hash of its content: the working tree's fingerprint. */
function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const file = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (file === '.git') continue;
    if (entry.isDirectory()) Object.assign(out, tree(dir, file));
    else out[file] = createHash('sha1').update(readFileSync(path.join(dir, file))).digest('hex');
  }
  return out;
}

/** The user's git state that a rollback must not touch. */
function userGitState(dir: string): { head: string; branch: string; index: string; refs: string; status: string; objects: number } {
  const objects = readdirSync(path.join(dir, '.git', 'objects')).length;
  return {
    head: gitCli(dir, 'rev-parse', 'HEAD'),
    branch: gitCli(dir, 'branch', '--show-current'),
    index: createHash('sha1').update(readFileSync(path.join(dir, '.git', 'index'))).digest('hex'),
    refs: gitCli(dir, 'for-each-ref', '--format=%(refname) %(objectname)'),
    status: gitCli(dir, 'diff', '--cached', '--name-status'),
    objects,
  };
}

function makeRepo(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sophia-cp-ws-'));
  gitCli(dir, 'init', '--quiet', '--initial-branch=main');
  mkdirSync(path.join(dir, 'sql'));
  writeFileSync(path.join(dir, 'sql', 'employees.sql'), 'CREATE TABLE employees (id INTEGER);\n');
  writeFileSync(path.join(dir, 'README.md'), '# Payroll\n');
  writeFileSync(path.join(dir, '.gitignore'), 'build/\n*.log\n');
  gitCli(dir, 'add', '.');
  gitCli(dir, '-c', 'user.name=U', '-c', 'user.email=u@example.com', 'commit', '--quiet', '-m', 'init');
  // Something staged and something ignored: both must survive a rollback as they were.
  writeFileSync(path.join(dir, 'staged.txt'), 'staged by the user\n');
  gitCli(dir, 'add', 'staged.txt');
  mkdirSync(path.join(dir, 'build'));
  writeFileSync(path.join(dir, 'build', 'out.js'), 'generated\n');
  return dir;
}

describe('checkpoints', () => {
  it('rolls a conversation back three steps: the working tree matches, the branch and index are untouched', async () => {
    const dir = makeRepo();
    const data = mkdtempSync(path.join(os.tmpdir(), 'sophia-cp-data-'));
    const store = CheckpointStore.forWorkspace(data, dir);
    const conversation = 'conv-1';

    const step1 = await store.record(conversation, 'before propose_edit sql/employees.sql');
    const before = tree(dir);
    const gitBefore = userGitState(dir);
    // Step 1: edit a file.
    writeFileSync(path.join(dir, 'sql', 'employees.sql'), 'CREATE TABLE employees (id INTEGER, phone VARCHAR(20));\n');
    await store.record(conversation, 'before propose_edit sql/phone.sql');
    // Step 2: a new file in a new folder, and a log the user ignores.
    mkdirSync(path.join(dir, 'sql', 'migrations'));
    writeFileSync(path.join(dir, 'sql', 'migrations', '001_phone.sql'), 'ALTER TABLE employees ADD phone VARCHAR(20);\n');
    writeFileSync(path.join(dir, 'debug.log'), 'ignored\n');
    await store.record(conversation, 'before run_command rm README.md');
    // Step 3: a deletion.
    rmSync(path.join(dir, 'README.md'));

    const list = await store.list(conversation);
    expect(list.map((checkpoint) => checkpoint.step)).toEqual([1, 2, 3]);
    expect(list[0]).toMatchObject({ id: step1.id, label: 'before propose_edit sql/employees.sql', conversationId: conversation });

    const result = await store.rollback(conversation, step1.id);
    expect(result.restored.step).toBe(1);
    expect(result.saved.step).toBe(4);
    expect(result.filesChanged).toBe(3);
    // Ignored files are neither recorded nor touched.
    expect(tree(dir)).toEqual({ ...before, 'debug.log': tree(dir)['debug.log'] });
    expect(existsSync(path.join(dir, 'debug.log'))).toBe(true);
    expect(existsSync(path.join(dir, 'sql', 'migrations'))).toBe(false);
    expect(readFileSync(path.join(dir, 'build', 'out.js'), 'utf8')).toBe('generated\n');
    // The user's git: same branch, same HEAD, same index bytes, same refs, same objects, the staged file still staged.
    expect(userGitState(dir)).toEqual(gitBefore);
    expect(gitCli(dir, 'diff', '--cached', '--name-only')).toBe('staged.txt');

    // The rollback is itself undoable: the state left behind is step 4.
    await store.rollback(conversation, result.saved.id);
    expect(existsSync(path.join(dir, 'README.md'))).toBe(false);
    expect(readFileSync(path.join(dir, 'sql', 'migrations', '001_phone.sql'), 'utf8')).toContain('phone');
  });

  it('keeps conversations apart and refuses a checkpoint of another conversation', async () => {
    const dir = makeRepo();
    const store = CheckpointStore.forWorkspace(mkdtempSync(path.join(os.tmpdir(), 'sophia-cp-data-')), dir);
    const a = await store.record('conv-a', 'a1');
    await store.record('conv-b', 'b1');
    expect((await store.list('conv-a')).map((c) => c.label)).toEqual(['a1']);
    await expect(store.rollback('conv-b', a.id)).rejects.toThrow(/does not belong/);
    expect(await store.list('conv-none')).toEqual([]);
  });

  it('works in a folder that is not a git repository, and keeps the executable bit', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sophia-cp-plain-'));
    writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    const store = CheckpointStore.forWorkspace(mkdtempSync(path.join(os.tmpdir(), 'sophia-cp-data-')), dir);
    const first = await store.record('c', 'before edit');
    writeFileSync(path.join(dir, 'run.sh'), 'broken\n', { mode: 0o644 });
    await store.rollback('c', first.id);
    expect(readFileSync(path.join(dir, 'run.sh'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(statSync(path.join(dir, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(existsSync(path.join(dir, '.git'))).toBe(false);
  });
});
