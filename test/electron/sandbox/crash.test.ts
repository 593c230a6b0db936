/**
 * The crash test: a host process runs tasks in sandboxes and is killed with SIGKILL, so
 * none of its own clean-up runs. Starting again must leave no container of the app
 * running. Two mechanisms see to it: each container dies with the attach stream its
 * owner held open, and the next start removes whatever a dead launch left.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelKeys } from '../../../electron/sandbox/hardening';
import { ownerIsGone } from '../../../electron/sandbox/sandboxOwner';
import { containersOf, docker, waitFor } from './support';

interface Host {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ready: Promise<{ pid: number; owner: string; tasks: number }>;
  readonly exited: Promise<number | null>;
}

let dataDir: string;
const started: Host[] = [];

function startHost(tasks: number): Host {
  const child = spawn(process.execPath, ['test/support/runTs.ts', 'test/electron/sandbox/fixtures/crashHost.ts'], {
    env: { ...process.env, CRASH_DATA_DIR: dataDir, CRASH_TASKS: String(tasks), SOPHIA_SANDBOX_POOL_SIZE: '2', SOPHIA_LOG_LEVEL: 'error' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<{ pid: number; owner: string; tasks: number }>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { pid: number; owner: string; tasks: number });
    });
    void exited.then((code) => reject(new Error(`host exited (${String(code)}) before it was ready:\n${stderr}`)));
    setTimeout(() => reject(new Error(`host not ready after 90 s:\n${stderr}`)), 90_000).unref();
  });
  const host = { child, ready, exited };
  started.push(host);
  return host;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'sophia-crash-'));
});

afterAll(async () => {
  for (const host of started) if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('a host killed with SIGKILL', () => {
  it('leaves no container of the app running once Sophia starts again', async () => {
    const first = startHost(3);
    const { owner, tasks } = await first.ready;
    expect(tasks).toBe(3);
    const before = await containersOf(owner);
    // Three tasks and a full pool of two, all running.
    expect(before.length).toBe(5);
    expect(before.every((container) => container.state === 'running')).toBe(true);

    first.child.kill('SIGKILL');
    await first.exited;

    const second = startHost(0);
    const again = await second.ready;
    expect(again.owner).not.toBe(owner);
    expect(await containersOf(owner)).toEqual([]);
    // Every container of the app that exists now belongs to a launch that is alive.
    const all = await docker.listContainers({ all: true, filters: { label: [`${labelKeys.app}=1`] } });
    expect(all.filter((info) => ownerIsGone(info.Labels))).toEqual([]);

    second.child.stdin.end();
    expect(await second.exited).toBe(0);
    expect(await containersOf(again.owner)).toEqual([]);
  });

  it('takes its containers with it even before Sophia starts again', async () => {
    const host = startHost(2);
    const { owner } = await host.ready;
    expect((await containersOf(owner)).length).toBe(4);
    host.child.kill('SIGKILL');
    await host.exited;
    // The attach streams it held closed with it; each container's keeper saw the end of its input.
    await waitFor(async () => (await containersOf(owner)).length === 0, 15_000, 'the containers to go');
  });
});
