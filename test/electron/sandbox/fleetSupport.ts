/**
 * For the image transfer and fleet tests: a second real engine (Podman's Docker-compatible API
 * on its own socket and its own storage, so it shares nothing with the local Docker), small
 * images made in the test, and engines that cannot be reached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
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

export function engineOn(docker: Docker, id: string, kind: EngineKind, remote = kind !== 'local'): SandboxEngine {
  return { id, name: `test engine ${id}`, kind, remote, docker: () => docker, close: () => Promise.resolve() };
}

/** `podman system service` on a socket of its own, with its own storage, ended by `stop`. */
export async function startPodman(id = 'podman-test'): Promise<TestEngine> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-podman-'));
  const socket = path.join(dir, 'podman.sock');
  const child: ChildProcess = spawn(
    'podman',
    ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--tmpdir', path.join(dir, 'tmp'), 'system', 'service', '--time=0', `unix://${socket}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
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
