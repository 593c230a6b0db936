/**
 * `npm run bench:sandbox`: time from asking for a sandbox to the first byte of `echo ok`,
 * over 30 runs each, for a pooled handout, a cold create, and the plain `docker run` CLI in
 * the same run. Prints figures; the last line is the JSON result. No assertions.
 *
 * Each pooled run waits until the pool is full again first, so every pooled figure is a
 * real handout from a warm pool (what a task sees when tasks are not back to back). The
 * CLI runs with `--network none`, the network every sandbox gets.
 */
import { spawn } from 'node:child_process';
import { createDockerClient } from '../../electron/sandbox/dockerClient';
import type { SandboxService } from '../../electron/sandbox/sandbox';
import { ensureSandboxImage } from '../../electron/sandbox/sandboxImage';
import { DockerSandboxService } from '../../electron/sandbox/sandboxService';
import { percentile, progress } from './stats';

const runs = Math.min(200, Math.max(1, Number(process.env['BENCH_RUNS'] ?? 30)));
const warmups = 2;
const runTimeoutMs = 30_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${runTimeoutMs} ms`)), runTimeoutMs);
    }),
  ]);
}

/** Milliseconds from asking for a sandbox to the first byte of `echo ok`. */
async function handout(service: SandboxService, taskId: string): Promise<number> {
  const started = performance.now();
  const box = await service.acquire(taskId);
  let firstByteAt = 0;
  const result = await box.exec('echo ok', {
    onOutput: () => {
      firstByteAt ||= performance.now();
    },
  });
  await box.destroy();
  if (result.stdout !== 'ok\n' || firstByteAt === 0) throw new Error(`unexpected output ${JSON.stringify(result.stdout)}`);
  return firstByteAt - started;
}

function dockerRun(image: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteAt = 0;
    const child = spawn('docker', ['run', '--rm', '--network', 'none', image, 'echo', 'ok'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.once('data', () => (firstByteAt = performance.now()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && firstByteAt > 0 ? resolve(firstByteAt - started) : reject(new Error(`docker run exited ${String(code)}`))));
  });
}

async function measure(label: string, once: (i: number) => Promise<number>, before?: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmups + runs; i++) {
    await before?.();
    const ms = await withTimeout(once(i), label);
    if (i >= warmups) samples.push(ms);
  }
  progress(`${label}: p50 ${percentile(samples, 50)} ms, p95 ${percentile(samples, 95)} ms, min ${percentile(samples, 0)} ms, max ${percentile(samples, 100)} ms`);
  return samples;
}

async function main(): Promise<void> {
  const docker = createDockerClient();
  const { image } = await ensureSandboxImage(docker);
  const silent = (): void => undefined;
  const pooled = new DockerSandboxService({ docker, publish: silent, poolSize: 1, retryMs: 0 });
  const cold = new DockerSandboxService({ docker, publish: silent, poolSize: 0, retryMs: 0 });
  try {
    for (const service of [pooled, cold]) {
      const status = await service.start();
      if (status.state !== 'ready') throw new Error(status.message);
    }
    progress(`image ${image}, ${runs} runs each (after ${warmups} warm-up runs)`);
    const pool = await measure(
      'pooled handout',
      (i) => handout(pooled, `bench-pool-${i}`),
      async () => {
        if (!(await pooled.poolSettled(runTimeoutMs)) || pooled.pool.warm < 1) throw new Error('the pool did not refill');
      },
    );
    const coldSamples = await measure('cold create', (i) => handout(cold, `bench-cold-${i}`));
    const run = await measure('docker run CLI', () => dockerRun(image));
    const result = {
      metric: 'sandbox_handout_ms',
      pool_p50: percentile(pool, 50),
      pool_p95: percentile(pool, 95),
      cold_p50: percentile(coldSamples, 50),
      docker_run_p50: percentile(run, 50),
    };
    progress(`pooled p50 is ${(result.docker_run_p50 / result.pool_p50).toFixed(1)}x faster than docker run`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await Promise.allSettled([pooled.close(), cold.close()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
