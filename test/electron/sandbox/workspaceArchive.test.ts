/**
 * The workspace archive without an engine: what is sent (and what is refused before anything
 * is sent), and hand-crafted archives standing in for a hostile sandbox's getArchive.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyWorkspaceArchive, packWorkspace, scanWorkspace, workspaceArchiveLimits, type SentFiles } from '../../../electron/sandbox/workspaceArchive';

type Entry = Partial<tar.Header> & { name: string; content?: Buffer | string };

async function archiveOf(entries: readonly Entry[]): Promise<Readable> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      if (content === undefined) pack.entry({ mode: 0o644, ...header }, (error) => (error ? reject(error) : resolve()));
      else pack.entry({ mode: 0o644, ...header }, typeof content === 'string' ? Buffer.from(content) : content, (error) => (error ? reject(error) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Readable.from([Buffer.concat(chunks)]);
}

/** Packs the workspace as a hand-out would, for the record of what was sent. */
async function sendAll(dir: string): Promise<SentFiles> {
  const sent: SentFiles = new Map();
  for await (const chunk of packWorkspace(await scanWorkspace(dir), { uid: 0, gid: 0 }, { sent })) void chunk;
  return sent;
}

let base: string;
let root: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'sophia-archive-'));
  root = path.join(base, 'ws');
  outside = path.join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(path.join(root, 'README.txt'), 'hello\n');
  await writeFile(path.join(root, '.gitignore'), 'node_modules/\n');
  await writeFile(path.join(outside, 'target.txt'), 'outside\n');
  await symlink(outside, path.join(root, 'hostlink'));
  await symlink(path.join(outside, 'target.txt'), path.join(root, 'hostfile-link'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('copying back a hostile archive', () => {
  it('writes only confined, ordinary changes and says why each other entry was left out', async () => {
    const big = Buffer.alloc(workspaceArchiveLimits.maxFileBytes + 1, 0x61);
    const archive = await archiveOf([
      { name: 'workspace/', type: 'directory', mode: 0o755 },
      { name: 'workspace/README.txt', content: 'changed\n' },
      { name: 'workspace/new/deep.txt', content: 'new\n' },
      { name: 'workspace/../escape.txt', content: 'x' },
      { name: 'workspace/sub/../../escape2.txt', content: 'x' },
      { name: '/tmp/absolute.txt', content: 'x' },
      { name: 'other/x.txt', content: 'x' },
      { name: 'workspace/evil', type: 'symlink', linkname: outside },
      { name: 'workspace/evil/through.txt', content: 'through a link' },
      { name: 'workspace/up', type: 'symlink', linkname: '../outside' },
      { name: 'workspace/hostlink/pwned.txt', content: 'through the host link' },
      { name: 'workspace/hostfile-link', content: 'over the host link' },
      { name: 'workspace/hard', type: 'link', linkname: 'workspace/README.txt' },
      { name: 'workspace/tty', type: 'character-device', devmajor: 5, devminor: 0 },
      { name: 'workspace/disk', type: 'block-device', devmajor: 8, devminor: 0 },
      { name: 'workspace/pipe', type: 'fifo' },
      { name: 'workspace/big.bin', content: big },
      { name: 'workspace/.env', content: 'TOKEN=x\n' },
      { name: 'workspace/keys/id_rsa', content: 'PRIVATE\n' },
      { name: 'workspace/.git/hooks/pre-commit', content: '#!/bin/sh\ncurl evil\n', mode: 0o755 },
      { name: 'workspace/node_modules/pkg/index.js', content: 'module.exports = 1\n' },
      { name: 'workspace/bad\u0007name', content: 'x' },
      { name: 'workspace/setuid', content: '#!/bin/sh\n', mode: 0o4755 },
    ]);
    const sent = await sendAll(root);
    const report = await applyWorkspaceArchive(root, archive, sent);

    expect(await readFile(path.join(root, 'README.txt'), 'utf8')).toBe('changed\n');
    expect(await readFile(path.join(root, 'new/deep.txt'), 'utf8')).toBe('new\n');
    // No setuid bit comes back: only whether the owner may execute.
    expect((await lstat(path.join(root, 'setuid'))).mode & 0o7777).toBe(0o755);
    // Nothing outside the workspace was touched.
    expect(await readdir(outside)).toEqual(['target.txt']);
    expect(await readFile(path.join(outside, 'target.txt'), 'utf8')).toBe('outside\n');
    expect(await readdir(base)).toEqual(['outside', 'ws']);
    await expect(lstat('/tmp/absolute.txt')).rejects.toMatchObject({ code: 'ENOENT' });
    // The host's own links are still links.
    expect((await lstat(path.join(root, 'hostlink'))).isSymbolicLink()).toBe(true);
    expect((await lstat(path.join(root, 'hostfile-link'))).isSymbolicLink()).toBe(true);
    for (const absent of ['hard', 'tty', 'disk', 'pipe', 'big.bin', '.env', 'keys', '.git', 'node_modules', 'up']) {
      await expect(lstat(path.join(root, absent))).rejects.toMatchObject({ code: 'ENOENT' });
    }

    const reasons = new Map(report.refused.map((item) => [item.path, item.reason]));
    expect(reasons.get('workspace/../escape.txt')).toMatch(/\.\./);
    expect(reasons.get('workspace/sub/../../escape2.txt')).toMatch(/\.\./);
    expect(reasons.get('/tmp/absolute.txt')).toMatch(/absolute/);
    expect(reasons.get('other/x.txt')).toMatch(/outside workspace\//);
    expect(reasons.get('evil')).toMatch(/absolute/);
    expect(reasons.get('up')).toMatch(/outside the workspace/);
    expect(reasons.get('hostlink/pwned.txt')).toMatch(/link/);
    expect(reasons.get('hostfile-link')).toMatch(/link on this machine/);
    expect(reasons.get('hard')).toBe('a hard link');
    expect(reasons.get('tty')).toBe('a device file');
    expect(reasons.get('disk')).toBe('a device file');
    expect(reasons.get('pipe')).toBe('a named pipe');
    expect(reasons.get('big.bin')).toMatch(/larger than 64 MiB/);
    expect(reasons.get('.env')).toMatch(/secret/);
    expect(reasons.get('keys/id_rsa')).toMatch(/secret/);
    expect(reasons.get('.git/hooks/pre-commit')).toMatch(/\.git/);
    expect(reasons.get('workspace/bad\u0007name')).toMatch(/control/);
    expect(report.ignored).toBe(1);
    expect(report.written.sort()).toEqual(['README.txt', 'evil/through.txt', 'new/deep.txt', 'setuid']);
    // `evil` became an ordinary folder in the workspace, since the link to it was refused.
    expect((await lstat(path.join(root, 'evil'))).isDirectory()).toBe(true);
  });

  it('writes nothing at all when the archive is past its limits', async () => {
    const entries: Entry[] = [{ name: 'workspace/', type: 'directory' }, { name: 'workspace/early.txt', content: 'early\n' }];
    for (let i = 0; i <= workspaceArchiveLimits.maxEntries; i++) entries.push({ name: `workspace/d${i}`, type: 'directory' });
    await expect(applyWorkspaceArchive(root, await archiveOf(entries), new Map())).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/nothing was copied back/) });
    await expect(lstat(path.join(root, 'early.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(path.join(root, 'd0'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes and deletes nothing when the archive is cut off (the connection to the engine dropped)', async () => {
    await writeFile(path.join(root, 'kept.txt'), 'still here\n');
    const sent = await sendAll(root);
    const whole = await archiveOf([
      { name: 'workspace/', type: 'directory' },
      { name: 'workspace/README.txt', content: 'changed\n' },
      { name: 'workspace/padding.bin', content: Buffer.alloc(64 * 1024, 0x62) },
    ]);
    const bytes = Buffer.concat(await whole.toArray());
    // The first entries arrive, then the stream fails, as a dropped connection does.
    const cut = new Readable({
      read() {
        this.push(bytes.subarray(0, 4096));
        this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      },
    });
    await expect(applyWorkspaceArchive(root, cut, sent)).rejects.toThrow();
    expect(await readFile(path.join(root, 'kept.txt'), 'utf8')).toBe('still here\n');
    expect(await readFile(path.join(root, 'README.txt'), 'utf8')).toBe('hello\n');
  });

  it('gives up on an engine that stops sending, writing nothing', async () => {
    const sent = await sendAll(root);
    const whole = Buffer.concat(await (await archiveOf([{ name: 'workspace/', type: 'directory' }, { name: 'workspace/README.txt', content: 'changed\n' }])).toArray());
    let pushed = false;
    // Sends the first entries, then nothing more and never ends.
    const stalled = new Readable({
      read() {
        if (!pushed) this.push(whole.subarray(0, 1024));
        pushed = true;
      },
    });
    await expect(applyWorkspaceArchive(root, stalled, sent, { stallMs: 300 })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/sent nothing/) });
    expect(await readFile(path.join(root, 'README.txt'), 'utf8')).toBe('hello\n');
  });

  it('never overwrites or deletes what was edited here since it was sent', async () => {
    await writeFile(path.join(root, 'gone.txt'), 'a\n');
    await writeFile(path.join(root, 'edited-here.txt'), 'b\n');
    await writeFile(path.join(root, 'edited-both.txt'), 'c\n');
    await writeFile(path.join(root, 'edited-here-only.txt'), 'd\n');
    const sent = await sendAll(root);
    expect([...sent.keys()].sort()).toEqual(['.gitignore', 'README.txt', 'edited-both.txt', 'edited-here-only.txt', 'edited-here.txt', 'gone.txt']);
    for (const name of ['edited-here.txt', 'edited-both.txt', 'edited-here-only.txt']) await writeFile(path.join(root, name), 'edited on this machine meanwhile\n');
    await writeFile(path.join(root, 'created-here.txt'), 'new here\n');
    const archive = await archiveOf([
      { name: 'workspace/', type: 'directory' },
      { name: 'workspace/README.txt', content: 'hello\n' },
      { name: 'workspace/.gitignore', content: 'node_modules/\n' },
      // Unchanged in the sandbox: the edit here stays.
      { name: 'workspace/edited-here-only.txt', content: 'd\n' },
      // Changed on both sides: this machine's version is kept.
      { name: 'workspace/edited-both.txt', content: 'changed in the sandbox\n' },
      // Made on both sides: this machine's is kept.
      { name: 'workspace/created-here.txt', content: 'new in the sandbox\n' },
    ]);
    const report = await applyWorkspaceArchive(root, archive, sent);
    expect(report.removed).toEqual(['gone.txt']);
    expect(report.written).toEqual([]);
    expect(report.unchanged).toBe(3);
    for (const name of ['edited-here.txt', 'edited-both.txt', 'edited-here-only.txt']) expect(await readFile(path.join(root, name), 'utf8')).toBe('edited on this machine meanwhile\n');
    expect(await readFile(path.join(root, 'created-here.txt'), 'utf8')).toBe('new here\n');
    expect(report.refused.map((item) => item.path).sort()).toEqual(['created-here.txt', 'edited-both.txt', 'edited-here.txt']);
    expect(report.refused.every((item) => /changed on this machine/.test(item.reason))).toBe(true);
  });
});

describe('sending the workspace', () => {
  it('refuses a workspace past the size limit before sending anything', async () => {
    // Sparse: the size counts, no disk is used.
    await writeFile(path.join(root, 'huge.bin'), '');
    await truncate(path.join(root, 'huge.bin'), workspaceArchiveLimits.maxBytes + 1);
    await expect(scanWorkspace(root)).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/more than 512 MiB/) });
  });

  it('ends the archive with an error when a file changes after the scan, so nothing half-read is sent', async () => {
    const scan = await scanWorkspace(root);
    await writeFile(path.join(root, 'README.txt'), 'hello, and longer now\n');
    const consume = async (): Promise<void> => {
      for await (const chunk of packWorkspace(scan, { uid: 0, gid: 0 })) void chunk;
    };
    await expect(consume()).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/README.txt changed/) });
  });

  it('leaves out links that leave the workspace and sends those that stay inside, relative', async () => {
    await symlink(path.join(root, 'README.txt'), path.join(root, 'abs-inside'));
    const scan = await scanWorkspace(root);
    const links = scan.entries.filter((entry) => entry.type === 'symlink').map((entry) => [entry.relative, entry.linkname]);
    expect(links).toEqual([['abs-inside', 'README.txt']]);
    expect(scan.leftOut.links).toBe(2);
  });
});
