/**
 * The connection to the Docker engine (dockerode over the local socket, or DOCKER_HOST),
 * and plain words for the ways it fails.
 */
import type Docker from 'dockerode';
import { requireOnFirstUse } from '../core/lazyRequire';

// dockerode (with its HTTP, SSH, gRPC and protobuf dependencies) is required on the first
// call, not when this module loads: the sandbox service makes its client when it first talks
// to Docker, which is after the window is up.
const dockerode = requireOnFirstUse<typeof Docker>('dockerode');

export function createDockerClient(options?: Docker.DockerOptions): Docker {
  const Dockerode = dockerode();
  return new Dockerode(options);
}

export const startDockerHint =
  process.platform === 'linux'
    ? 'Start it with `sudo systemctl start docker` (or run `dockerd`), then press Retry.'
    : 'Open Docker Desktop and wait until it says it is running, then press Retry.';

/** The status code dockerode puts on API errors. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export function describeDockerError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return `Docker is not running, so tasks cannot run commands (chat and read-only review still work). ${startDockerHint}`;
    case 'EACCES':
    case 'EPERM':
      return 'Sophia may not use Docker: permission denied on the Docker socket. Add your user to the `docker` group (`sudo usermod -aG docker $USER`, then log in again), then press Retry.';
    case 'ETIMEDOUT':
      return `Docker did not answer in time. ${startDockerHint}`;
    default: {
      const message = error instanceof Error ? error.message : String(error);
      return `Docker cannot be reached (${message.slice(0, 200)}). ${startDockerHint}`;
    }
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function pingDocker(docker: Docker, timeoutMs = 3000): Promise<{ ok: true; version: string } | { ok: false; message: string }> {
  try {
    const version = await withTimeout(docker.version(), timeoutMs, 'Asking Docker for its version');
    return { ok: true, version: version.Version };
  } catch (error) {
    return { ok: false, message: describeDockerError(error) };
  }
}

export async function imageExists(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (error) {
    if (statusCodeOf(error) === 404) return false;
    throw error;
  }
}
