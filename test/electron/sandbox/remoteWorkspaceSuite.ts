/**
 * The remote-engine path of the sandbox service: no bind mounts, the workspace copied in by
 * putArchive (without .git, .gitignored or secret files), read-only by ownership, and
 * read-write copies coming back through getArchive, every entry checked.
 * `describeRemoteWorkspace` takes the engine, so the engines suite runs the same checks on the
 * TLS, SSH and Podman engines; `remoteWorkspace.test.ts` runs them on the local Docker engine
 * presented as a remote one.
 */
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import type { SandboxEngine } from '../../../electron/sandbox/engines/engine';
import { removeContainer, startSandboxContainer } from '../../../electron/sandbox/dockerSandbox';
import { commandUser, containerSpec, defaultLimits, labelKeys } from '../../../electron/sandbox/hardening';
import type { Sandbox } from '../../../electron/sandbox/sandbox';
import { defaultSandboxImage } from '../../../electron/sandbox/sandboxImage';
import type { DockerSandboxService } from '../../../electron/sandbox/sandboxService';
import { workspaceArchiveLimits } from '../../../electron/sandbox/workspaceArchive';
import { newService } from './support';

const user = commandUser();

async function makeTree(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-remote-ws-'));
  const files: Record<string, string> = {
    'README.txt': 'hello from the host\n',
    'src/app.js': 'console.log(1)\n',
    'src/run.sh': '#!/bin/sh\necho run\n',
    '.gitignore': 'dist/\n*.log\n',
    'dist/bundle.js': 'built\n',
    'debug.log': 'noise\n',
    'sub/.gitignore': 'local.txt\n!keep.log\n',
    'sub/local.txt': 'ignored by the nested .gitignore\n',
    'sub/keep.log': 'kept by a negation\n',
    'sub/other.log': 'ignored by the root .gitignore\n',
    '.env': 'TOKEN=hunter2\n',
    'config/credentials.json': '{"secret":1}\n',
    'certs/server.key': 'PRIVATE\n',
    '.git/config': '[core]\n',
    'deleted.txt': 'to be deleted in the sandbox\n',
    'hard1.txt': 'hard\n',
  };
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  await chmod(path.join(dir, 'src/run.sh'), 0o755);
  await symlink('src/app.js', path.join(dir, 'link-in'));
  await symlink('/etc/passwd', path.join(dir, 'link-out'));
  return dir;
}

async function inspectMounts(docker: Docker, sandbox: Sandbox): Promise<{ binds: unknown; mounts: Array<{ Type: string; Destination: string; Name?: string; RW: boolean }> }> {
  const info = await docker.getContainer(sandbox.containerId).inspect();
  return { binds: info.HostConfig.Binds, mounts: info.Mounts as unknown as Array<{ Type: string; Destination: string; Name?: string; RW: boolean }> };
}

async function volumeExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getVolume(name).inspect();
    return true;
  } catch {
    return false;
  }
}

/**
 * The checks, on the engine `engine()` returns once `beforeAll` hooks registered before this
 * call have run (the engines suite starts its engines there). The image must be on the engine.
 */
export function describeRemoteWorkspace(title: string, engine: () => SandboxEngine, options: { readonly image?: string } = {}): void {
  describe(title, () => {
    let service: DockerSandboxService;
    let docker: Docker;
    let dir: string;

    beforeAll(async () => {
      expect(engine().remote).toBe(true);
      docker = engine().docker();
      service = newService({ engine: engine(), poolSize: 1, ...(options.image ? { image: options.image } : {}) }).service;
      dir = await makeTree();
      expect((await service.start()).state).toBe('ready');
    });
    afterAll(async () => {
      await service?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('hands out a warm container with the workspace copied in, no bind mounts, and nothing secret or ignored', async () => {
      expect(await service.poolSettled(60_000)).toBe(true);
      expect(service.pool.warm).toBe(1);
      const sandbox = await service.acquire('remote-ro', { workspace: dir });
      const info = await docker.getContainer(sandbox.containerId).inspect();
      // It was the warm one: labels are fixed at creation.
      expect(info.Config.Labels[labelKeys.role]).toBe('pool');
      const { binds, mounts } = await inspectMounts(docker, sandbox);
      // Podman lists volumes among the binds (`<volume>:/workspace:rw,...`); a path of this machine starts with '/'.
      expect(((binds ?? []) as string[]).filter((bind) => bind.startsWith('/'))).toEqual([]);
      expect(mounts.filter((mount) => mount.Type === 'bind')).toEqual([]);
      expect(mounts.filter((mount) => mount.Type !== 'tmpfs')).toEqual([expect.objectContaining({ Type: 'volume', Destination: '/workspace' })]);
      expect(info.HostConfig.ReadonlyRootfs).toBe(true);
      expect(info.Config.WorkingDir).toBe('/workspace');

      const listing = await sandbox.exec("cd /workspace && find . -mindepth 1 -printf '%P %u %m %y\\n' | sort");
      expect(listing.exitCode).toBe(0);
      const entries = new Map(listing.stdout.trim().split('\n').map((line) => [line.split(' ')[0] ?? '', line.split(' ').slice(1).join(' ')]));
      // `certs/` and `config/` come as empty folders: only the secret files in them are left out.
      expect([...entries.keys()]).toEqual(['.gitignore', 'README.txt', 'certs', 'config', 'deleted.txt', 'hard1.txt', 'link-in', 'src', 'src/app.js', 'src/run.sh', 'sub', 'sub/.gitignore', 'sub/keep.log']);
      expect(entries.get('README.txt')).toBe('root 644 f');
      expect(entries.get('src/run.sh')).toBe('root 755 f');
      expect(entries.get('src')).toBe('root 755 d');
      expect(entries.get('link-in')).toMatch(/ l$/);
      expect((await sandbox.exec('cat /workspace/link-in /workspace/README.txt')).stdout).toBe('console.log(1)\nhello from the host\n');

      // Read-only by ownership: the command user can change nothing.
      const write = await sandbox.exec('touch /workspace/new 2>&1; echo x >> /workspace/README.txt 2>&1; rm -f /workspace/README.txt 2>&1; mkdir /workspace/src/x 2>&1; stat -c %u:%a /workspace; id -u');
      expect(write.stdout).toContain('Permission denied');
      expect(write.stdout.trim().split('\n').slice(-2)).toEqual(['0:755', String(user.uid)]);
      expect((await sandbox.exec('ls /workspace/new /workspace/src/x 2>/dev/null; cat /workspace/README.txt')).stdout).toBe('hello from the host\n');
      await expect(sandbox.syncBack()).rejects.toMatchObject({ code: 'refused' });
      expect(await readFile(path.join(dir, 'README.txt'), 'utf8')).toBe('hello from the host\n');

      const volume = mounts.find((mount) => mount.Destination === '/workspace')?.Name ?? '';
      expect(volume).not.toBe('');
      await sandbox.destroy();
      await expect.poll(() => volumeExists(docker, volume)).toBe(false);
    });

    it('gives a task without a workspace an empty /workspace, writable only for read-write access', async () => {
      const readOnly = await service.acquire('remote-none');
      const result = await readOnly.exec('pwd; ls -A; echo scratch > note 2>/dev/null || echo refused; echo tmp > /tmp/t && cat /tmp/t');
      expect(result.stdout).toBe('/workspace\nrefused\ntmp\n');
      await readOnly.destroy();
      const readWrite = await service.acquire('remote-none-rw', { access: 'read-write' });
      expect((await readWrite.exec('echo scratch > note && cat note')).stdout).toBe('scratch\n');
      // No workspace on this machine: nothing to copy back to.
      expect((await readWrite.syncBack()).written).toEqual([]);
      await readWrite.destroy();
    });

    it('copies read-write changes back, and leaves out secret, ignored, git and dangerous entries', async () => {
      const sandbox = await service.acquire('remote-rw', { workspace: dir, access: 'read-write' });
      const { mounts } = await inspectMounts(docker, sandbox);
      expect(mounts.filter((mount) => mount.Type === 'bind')).toEqual([]);
      const script = [
        'set -e',
        'cd /workspace',
        'echo changed > README.txt',
        'mkdir -p made/deep && echo new > made/deep/file.txt',
        'echo "#!/bin/sh" > made/tool.sh && chmod 755 made/tool.sh',
        'rm deleted.txt',
        'echo TOKEN=stolen > .env',
        'mkdir -p dist && echo out > dist/new.js',
        'mkdir -p .git && echo "[core] hooksPath=/tmp" > .git/config',
        'ln -s /etc evil',
        'ln -s ../../../etc/passwd up',
        'ln -s src/app.js inside-link',
        'ln hard1.txt hard2.txt',
        'mkfifo pipe',
        'head -c 70000000 /dev/zero > huge.bin',
        'stat -c %u:%a /workspace README.txt',
      ].join('\n');
      const ran = await sandbox.exec(script, { timeoutMs: 60_000 });
      expect(ran.stderr).toBe('');
      expect(ran.exitCode).toBe(0);
      // The copy is the command user's; the top folder is writable for it (Docker's putArchive
      // leaves it root's, Podman gives it the archive's owner; either way it is opened with mode 777).
      const [top, readme] = ran.stdout.trim().split('\n');
      expect(readme).toBe(`${user.uid}:644`);
      expect(top).toMatch(new RegExp(`^(0|${user.uid}):777$`));

      const report = await sandbox.syncBack();
      expect(await readFile(path.join(dir, 'README.txt'), 'utf8')).toBe('changed\n');
      expect(await readFile(path.join(dir, 'made/deep/file.txt'), 'utf8')).toBe('new\n');
      expect((await lstat(path.join(dir, 'made/tool.sh'))).mode & 0o777).toBe(0o755);
      await expect(lstat(path.join(dir, 'deleted.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readFile(path.join(dir, '.env'), 'utf8')).toBe('TOKEN=hunter2\n');
      await expect(lstat(path.join(dir, 'dist/new.js'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readFile(path.join(dir, '.git/config'), 'utf8')).toBe('[core]\n');
      for (const absent of ['evil', 'up', 'pipe', 'huge.bin']) await expect(lstat(path.join(dir, absent))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readlink(path.join(dir, 'inside-link'))).toBe('src/app.js');
      // The secret file and the link never sent are still there, untouched.
      expect(await readlink(path.join(dir, 'link-out'))).toBe('/etc/passwd');
      expect(await readFile(path.join(dir, 'config/credentials.json'), 'utf8')).toBe('{"secret":1}\n');

      expect(report.written).toEqual(expect.arrayContaining(['README.txt', 'made/deep/file.txt', 'made/tool.sh', 'inside-link']));
      expect(report.removed).toEqual(['deleted.txt']);
      const reasons = Object.fromEntries(report.refused.map((item) => [item.path, item.reason]));
      expect(reasons['.env']).toMatch(/secret/);
      expect(reasons['.git/config'] ?? reasons['.git']).toMatch(/\.git/);
      expect(reasons['evil']).toMatch(/absolute/);
      expect(reasons['up']).toMatch(/outside/);
      expect(reasons['pipe']).toMatch(/pipe/);
      expect(reasons['huge.bin']).toMatch(/larger than 64 MiB/);
      expect(Object.values(reasons)).toContain('a hard link');
      expect(report.ignored).toBeGreaterThan(0);

      // A second sync finds nothing new to write.
      const again = await sandbox.syncBack();
      expect(again.written.filter((name) => !name.startsWith('hard'))).toEqual([]);
      expect(again.removed).toEqual([]);
      await sandbox.destroy();
    });

    it('refuses a workspace past the limits before any container is made or taken', async () => {
      const big = await mkdtemp(path.join(tmpdir(), 'sophia-remote-big-'));
      try {
        // Sparse: its size counts, no disk is used.
        await writeFile(path.join(big, 'huge.bin'), '');
        await truncate(path.join(big, 'huge.bin'), workspaceArchiveLimits.maxBytes + 1);
        expect(await service.poolSettled(60_000)).toBe(true);
        const warm = service.pool.warm;
        await expect(service.acquire('remote-big', { workspace: big })).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/512 MiB.*not send it/) });
        expect(service.pool.warm).toBe(warm);
        const tasks = await docker.listContainers({ all: true, filters: { label: [`${labelKeys.owner}=${service.ownerId}`, `${labelKeys.role}=task`] } });
        expect(tasks).toEqual([]);
      } finally {
        await rm(big, { recursive: true, force: true });
      }
    });

    it('refuses egress: its socket would need a bind mount', async () => {
      const egressDirectory = await mkdtemp(path.join(tmpdir(), 'sophia-egress-'));
      try {
        await expect(service.acquire('remote-egress', { egressDirectory })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/egress proxy.*local sandbox engine/) });
        expect(() => containerSpec({ image: 'x', name: 'x', labels: {}, workspace: undefined, access: 'read-only', limits: defaultLimits, remote: true, egressDirectory })).toThrow(/local sandbox engine/);
      } finally {
        await rm(egressDirectory, { recursive: true, force: true });
      }
    });

    it('removes the anonymous workspace volume with the container when it ends on its own (AutoRemove)', async () => {
      const box = await startSandboxContainer(docker, {
        image: options.image ?? defaultSandboxImage(),
        name: `sophia-test-autoremove-${process.pid}`,
        labels: { [labelKeys.app]: '1', [labelKeys.owner]: service.ownerId },
        workspace: undefined,
        access: 'read-only',
        limits: defaultLimits,
        remote: true,
        engineKind: engine().kind,
      });
      try {
        const info = await docker.getContainer(box.id).inspect();
        const volume = (info.Mounts as unknown as Array<{ Name?: string; Destination: string }>).find((mount) => mount.Destination === '/workspace')?.Name ?? '';
        expect(volume).not.toBe('');
        expect(await volumeExists(docker, volume)).toBe(true);
        // Closing the keeper stream is what happens when Sophia quits or crashes.
        box.keeper.destroy();
        await expect.poll(async () => (await docker.listContainers({ all: true, filters: { id: [box.id] } })).length, { timeout: 30_000 }).toBe(0);
        await expect.poll(() => volumeExists(docker, volume), { timeout: 30_000 }).toBe(false);
      } finally {
        await removeContainer(box.container).catch(() => undefined);
      }
    });
  });
}
