/**
 * `npm run bench:stop`: the emergency stop through the real core, from the `stop.all` call
 * until every model stream is closed (seen by the server end) and every container is gone
 * (seen by Docker). Each round has 10 busy task containers (real Docker, the sandbox
 * service's own image) and 3 streaming replies (the real agent and @anthropic-ai/sdk against
 * the loopback Anthropic stand-in, which keeps streaming until the client goes away), plus a
 * pending approval. Beside it, the floor measured in the same run: forced removal of the same
 * number of busy containers through dockerode (what the stop cannot do with less), and the
 * ratio. The floor's containers carry a label of this run and only those are removed.
 * Bounded in rounds and time; prints figures, the last line is the JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSophiaCore } from '../../electron/app/sophiaCore';
import { dispatch } from '../../electron/ipc/dispatch';
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { createDockerClient } from '../../electron/sandbox/dockerClient';
import type { Sandbox } from '../../electron/sandbox/sandbox';
import type { EngineFleet } from '../../electron/sandbox/engines/engineFleet';
import { z } from 'zod';
import type { StopReport } from '../../shared/contract';
import { anthropicTurn, startAnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { percentile, progress, round } from './stats';

const containers = 10;
const streams = 3;
const rounds = Math.min(20, Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 8)));
const setupTimeoutMs = 120_000;

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = setupTimeoutMs): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const floorLabel = 'app.sophia.bench-stop-floor';
const floorRun = randomUUID();

/** Starts `containers` busy containers of the image, labelled with this run, and times their forced removal until Docker lists none. */
async function floorRound(docker: Docker, image: string): Promise<number> {
  const made = await Promise.all(
    Array.from({ length: containers }, () =>
      docker.createContainer({ Image: image, Cmd: ['sh', '-c', 'while :; do :; done'], Labels: { [floorLabel]: floorRun }, HostConfig: { NetworkMode: 'none' } }),
    ),
  );
  await Promise.all(made.map((container) => container.start()));
  const started = performance.now();
  await Promise.all(made.map((container) => container.remove({ force: true })));
  await until('the floor containers gone', async () => (await docker.listContainers({ all: true, filters: { label: [`${floorLabel}=${floorRun}`] } })).length === 0, 10_000);
  return performance.now() - started;
}

async function removeFloorLeftovers(docker: Docker): Promise<void> {
  const left = await docker.listContainers({ all: true, filters: { label: [`${floorLabel}=${floorRun}`] } });
  await Promise.allSettled(left.map((info) => docker.getContainer(info.Id).remove({ force: true })));
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sophia-stop-bench-'));
  const standIn = await startAnthropicStandIn();
  const docker = createDockerClient();
  const core = createSophiaCore({
    host: 'browser',
    dataDir,
    secrets: { get: async () => 'sk-ant-bench-key' },
    endpoints: { anthropicBaseURL: standIn.baseURL },
    managedPolicyFile: path.join(dataDir, 'managed.yaml'),
  });
  const busy = new Set<string>();
  core.events.subscribe((event) => {
    if (process.env['BENCH_DEBUG'] && event.type !== 'model.token') progress(JSON.stringify(event).slice(0, 300));
    if (event.type === 'container.output' && event.chunk.includes('busy')) busy.add(event.taskId);
  });
  try {
    core.settings.update({ provider: 'anthropic' });
    const ownerId = (core.sandbox as EngineFleet).ownerId;
    core.registry.register({ name: 'bench_write', description: 'A write that waits for approval', input: z.object({}), risk: 'low' }, async () => ({ ok: true, output: '' }));
    const status = await core.sandbox.start();
    if (status.state !== 'ready') throw new Error(`the sandbox is not ready: ${status.message}`);
    const samples: number[] = [];
    const floor: number[] = [];
    for (let round_ = 0; round_ < rounds; round_ += 1) {
      floor.push(await floorRound(docker, core.sandbox.status().image));
      busy.clear();
      const boxes: Sandbox[] = [];
      for (let i = 0; i < containers; i += 1) boxes.push(await core.sandbox.acquire(`stop-bench-${round_}-${i}`));
      const running = boxes.map((box) => box.exec('echo busy; while :; do :; done', { timeoutMs: setupTimeoutMs }).catch(() => undefined));
      await until(`${containers} busy containers`, () => busy.size === containers);

      const closedBefore = standIn.closedAt.length;
      const deltasBefore = standIn.firstDeltaAt.length;
      for (let i = 0; i < streams; i += 1) {
        standIn.script({ kind: 'stream', events: anthropicTurn({ text: Array.from({ length: 100_000 }, (_, k) => `w${k} `) }), intervalMs: 5, holdOpen: true });
        core.agent.send(`stream ${i}`);
      }
      await until(`${streams} streaming replies`, () => standIn.firstDeltaAt.length - deltasBefore === streams);
      // And one approval waiting for a human.
      const approval = core.registry.invoke('bench_write', {}, { conversationId: 'bench', callId: `bench-${round_}`, signal: new AbortController().signal });
      await until('a pending approval', () => core.safety.approvals.pending().length === 1);

      const started = performance.now();
      const result = await dispatch(core.handlers, 'stop.all', {}, { transport: 'test' });
      if (!result.ok) throw new Error(result.error.message);
      const reported = performance.now() - started;
      await until('every stream closed', () => standIn.closedAt.length - closedBefore >= streams, 10_000);
      const streamsClosed = Math.max(...standIn.closedAt.slice(closedBefore)) - started;
      await until(
        'every container gone',
        async () => (await docker.listContainers({ all: true, filters: { label: [`app.sophia.owner=${ownerId}`] } })).length === 0,
        10_000,
      );
      const ms = performance.now() - started;
      samples.push(ms);
      const report = result.value as StopReport;
      const stuck = report.stopped.filter((item) => item.outcome === 'stuck').length;
      progress(`round ${round_ + 1}: ${round(ms)} ms, floor ${round(floor.at(-1)!)} ms (report after ${round(reported)} ms, streams closed after ${round(streamsClosed)} ms; ${report.stopped.length} stopped, ${stuck} stuck)`);
      await Promise.all(running);
      await approval;
      await dispatch(core.handlers, 'stop.resume', {}, { transport: 'test' });
    }
    const p50 = percentile(samples, 50);
    const floorP50 = percentile(floor, 50);
    process.stdout.write(`stop p50 ${p50} ms, p95 ${percentile(samples, 95)} ms; floor (forced removal of ${containers} containers through dockerode) p50 ${floorP50} ms, p95 ${percentile(floor, 95)} ms; ratio ${(p50 / floorP50).toFixed(2)}x the floor\n`);
    process.stdout.write(
      `${JSON.stringify({ metric: 'emergency_stop_ms', containers, streams, p50, p95: percentile(samples, 95), floor_p50: floorP50, floor_p95: percentile(floor, 95), ratio_to_floor: Number((p50 / floorP50).toFixed(2)) })}\n`,
    );
  } finally {
    await removeFloorLeftovers(docker);
    await core.close();
    await standIn.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// A client of the Docker daemon keeps a socket alive after close: exit once the figures are out.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
