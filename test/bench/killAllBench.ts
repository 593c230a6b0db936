/**
 * `npm run bench:killall`: how long `killAll()` takes to stop and remove 10 containers
 * that are busy (each spinning a CPU), over a few rounds. Prints figures; the last line is
 * the JSON result. No assertions.
 */
import { createDockerClient } from '../../electron/sandbox/dockerClient';
import type { Sandbox } from '../../electron/sandbox/sandbox';
import { ensureSandboxImage } from '../../electron/sandbox/sandboxImage';
import { DockerSandboxService } from '../../electron/sandbox/sandboxService';
import { percentile, progress, round } from './stats';

const containers = 10;
const rounds = Math.min(20, Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 5)));
const busyTimeoutMs = 60_000;

async function main(): Promise<void> {
  const docker = createDockerClient();
  await ensureSandboxImage(docker);
  const busy = new Set<string>();
  const service = new DockerSandboxService({
    docker,
    poolSize: 0,
    retryMs: 0,
    publish: (event) => {
      if (event.type === 'container.output' && event.chunk.includes('busy')) busy.add(event.taskId);
    },
  });
  try {
    const status = await service.start();
    if (status.state !== 'ready') throw new Error(status.message);
    const samples: number[] = [];
    for (let round_ = 0; round_ < rounds; round_++) {
      busy.clear();
      const boxes: Sandbox[] = [];
      for (let i = 0; i < containers; i++) boxes.push(await service.acquire(`bench-kill-${round_}-${i}`));
      const running = boxes.map((box) => box.exec('echo busy; while :; do :; done', { timeoutMs: busyTimeoutMs }));
      const deadline = Date.now() + busyTimeoutMs;
      while (busy.size < containers) {
        if (Date.now() > deadline) throw new Error(`only ${busy.size} of ${containers} containers got busy`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const started = performance.now();
      const stopped = await service.killAll();
      const ms = performance.now() - started;
      const left = await docker.listContainers({ all: true, filters: { label: [`app.sophia.owner=${service.ownerId}`] } });
      if (stopped.length !== containers || left.length !== 0) throw new Error(`killAll stopped ${stopped.length}, left ${left.length}`);
      await Promise.all(running);
      service.resume();
      samples.push(ms);
      progress(`round ${round_ + 1}: ${round(ms)} ms for ${containers} busy containers`);
    }
    const result = { metric: 'kill_all_ms', containers, p50: percentile(samples, 50), max: percentile(samples, 100) };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await service.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
