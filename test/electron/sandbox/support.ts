/** Shared set-up for the sandbox tests: a service on the real Docker engine that records its events. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SophiaEvent } from '../../../shared/contract';
import { createDockerClient } from '../../../electron/sandbox/dockerClient';
import { labelKeys } from '../../../electron/sandbox/hardening';
import { DockerSandboxService, type DockerSandboxServiceOptions } from '../../../electron/sandbox/sandboxService';

export const docker = createDockerClient();

export interface TestService {
  readonly service: DockerSandboxService;
  readonly events: SophiaEvent[];
}

export function newService(options: Partial<DockerSandboxServiceOptions> = {}): TestService {
  const events: SophiaEvent[] = [];
  const service = new DockerSandboxService({
    publish: (event) => events.push(event),
    poolSize: 0,
    retryMs: 0,
    ...options,
  });
  return { service, events };
}

/** A workspace folder with one file, writable by the sandbox user when asked. */
export async function makeWorkspace(writable = false): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-ws-'));
  await writeFile(path.join(dir, 'README.txt'), 'hello from the host\n');
  await chmod(dir, writable ? 0o777 : 0o755);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Containers of one launch, by its owner label. */
export async function containersOf(ownerId: string): Promise<Array<{ id: string; state: string; role: string | undefined; name: string }>> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${labelKeys.owner}=${ownerId}`] } });
  return listed.map((info) => ({ id: info.Id, state: info.State, role: info.Labels[labelKeys.role], name: info.Names[0] ?? '' }));
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
