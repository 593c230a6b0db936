/**
 * For the image transfer and fleet tests: a second real engine (Podman's Docker-compatible API
 * on its own socket and its own storage, so it shares nothing with the local Docker), small
 * images made in the test, and engines that cannot be reached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import type { EngineKind } from '../../../shared/contract';
import { createDockerClient } from '../../../electron/sandbox/dockerClient';
import type { SandboxEngine } from '../../../electron/sandbox/engines/engine';

export interface TestEngine {
  readonly engine: SandboxEngine;
  readonly stop: () => Promise<void>;
}

export function engineOn(docker: Docker, id: string, kind: EngineKind, name = `test engine ${id}`): SandboxEngine {
  return { id, name, kind, remote: kind !== 'local', docker: () => docker, close: () => Promise.resolve() };
}

/** `podman system service` on a socket of its own, with its own storage, ended by `stop`. */
export async function startPodman(id = 'podman-test'): Promise<TestEngine> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-podman-'));
  const socket = path.join(dir, 'podman.sock');
  // Rootful Podman raises each container's open-files and process limits to its own defaults;
  // where root lacks CAP_SYS_RESOURCE (this machine is itself a container) that fails, so the
  // defaults are limits this process may set.
  const conf = path.join(dir, 'containers.conf');
  const { nofile, nproc } = await hardLimits();
  await writeFile(conf, `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n`);
  const child: ChildProcess = spawn(
    'podman',
    ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--tmpdir', path.join(dir, 'tmp'), 'system', 'service', '--time=0', `unix://${socket}`],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CONTAINERS_CONF: conf } },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const docker = createDockerClient({ socketPath: socket });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await docker.ping().then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`podman system service did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    engine: engineOn(docker, id, 'podman'),
    stop: async () => {
      if (child.exitCode === null) {
        const ended = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      // Podman's storage holds overlay mounts; unmount what is left before removing it.
      await new Promise((resolve) => spawn('sh', ['-c', `grep -o ' ${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]).on('exit', resolve));
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

async function hardLimits(): Promise<{ nofile: string; nproc: string }> {
  const text = await readFile('/proc/self/limits', 'utf8');
  const hard = (name: string): string => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(name)) ?? '';
    const value = line.slice(name.length).trim().split(/\s+/)[1];
    return value === undefined || value === 'unlimited' ? '1048576' : value;
  };
  // Podman lowers its own process limit to the kernel's pid_max, and runc cannot raise it past that.
  const pidMax = Number((await readFile('/proc/sys/kernel/pid_max', 'utf8').catch(() => '32768')).trim());
  return { nofile: hard('Max open files'), nproc: String(Math.min(Number(hard('Max processes')), pidMax)) };
}

/** A small image on `docker`, made with `docker import` from one file of `sizeBytes` random bytes. */
export async function makeImage(docker: Docker, sizeBytes: number, repository = 'sophia-transfer-test'): Promise<{ image: string; id: string }> {
  const image = `${repository}:${randomBytes(6).toString('hex')}`;
  const [repo, tag] = image.split(':') as [string, string];
  const archive = pack();
  archive.entry({ name: 'payload.bin', mode: 0o644 }, randomBytes(sizeBytes));
  archive.finalize();
  const reply = await docker.importImage(archive as unknown as NodeJS.ReadableStream, { repo, tag });
  await new Promise<void>((resolve, reject) => {
    reply.on('data', () => undefined);
    reply.on('end', resolve);
    reply.on('error', reject);
  });
  const { Id } = await docker.getImage(image).inspect();
  return { image, id: Id };
}

/**
 * An image of a few MB that can run `sleep` (the host's own binary and the libraries it
 * needs), so a second engine can hold running containers without the sandbox image.
 */
export async function makeSleepImage(docker: Docker): Promise<{ image: string; id: string }> {
  const image = `sophia-sleep-test:${randomBytes(6).toString('hex')}`;
  const [repo, tag] = image.split(':') as [string, string];
  const archive = pack();
  for (const file of ['/bin/sleep', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']) {
    archive.entry({ name: file.slice(1), mode: 0o755 }, await readFile(await realpath(file)));
  }
  archive.finalize();
  const reply = await docker.importImage(archive as unknown as NodeJS.ReadableStream, { repo, tag, changes: ['CMD ["/bin/sleep", "600"]'] });
  await new Promise<void>((resolve, reject) => {
    reply.on('data', () => undefined);
    reply.on('end', resolve);
    reply.on('error', reject);
  });
  const { Id } = await docker.getImage(image).inspect();
  return { image, id: Id };
}

/** A running container of `image` with these labels (a sandbox as the label sweep sees it). */
export async function runLabelled(docker: Docker, image: string, labels: Record<string, string>): Promise<string> {
  const container = await docker.createContainer({ Image: image, Cmd: ['/bin/sleep', '600'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
  await container.start();
  return container.id;
}

export async function removeImage(docker: Docker, image: string): Promise<void> {
  await docker
    .getImage(image)
    .remove({ force: true })
    .catch(() => undefined);
}

/** A loopback TCP server that accepts connections and never answers (an engine that hangs). */
export async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
