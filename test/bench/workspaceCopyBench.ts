/**
 * `node test/support/runTs.ts test/bench/workspaceCopyBench.ts [--engine remote-local|tls|ssh|podman] [--files N]`:
 * what the workspace copy costs on an engine without bind mounts. For a generated workspace
 * (N files of 4 KiB in 20 folders, plus a .gitignored folder and a secret file, default N = 2,000),
 * over 20 runs each: a pooled hand-out without a workspace, a pooled hand-out with the
 * workspace (scan, tar, putArchive), both to the first byte of `echo ok`; then `syncBack` of a
 * read-write sandbox after 10 files changed. `remote-local` is this machine's Docker engine
 * presented as remote (no network in between). Prints figures; the last line is the JSON
 * result. No assertions.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDockerClient } from '../../electron/sandbox/dockerClient';
import type { SandboxEngine } from '../../electron/sandbox/engines/engine';
import { createEngine, measureRtt } from '../../electron/sandbox/engines/engineClient';
import { ensureImageOnEngine } from '../../electron/sandbox/engines/imageTransfer';
import { ensureSandboxImage } from '../../electron/sandbox/sandboxImage';
import { DockerSandboxService } from '../../electron/sandbox/sandboxService';
import { startPodmanEngine, startSshEngine, startTlsEngine, type StartedEngine } from '../support/engines';
import { percentile, progress } from './stats';

const runs = Math.min(200, Math.max(1, Number(process.env['BENCH_RUNS'] ?? 20)));
const warmups = 2;

async function makeWorkspace(files: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-bench-ws-'));
  const content = Buffer.alloc(4096, 0x61);
  for (let folder = 0; folder < 20; folder++) await mkdir(path.join(dir, `src${folder}`));
  for (let i = 0; i < files; i++) await writeFile(path.join(dir, `src${i % 20}`, `file${i}.txt`), content);
  await mkdir(path.join(dir, 'node_modules/dep'), { recursive: true });
  for (let i = 0; i < 200; i++) await writeFile(path.join(dir, 'node_modules/dep', `m${i}.js`), content);
  await writeFile(path.join(dir, '.gitignore'), 'node_modules/\n');
  await writeFile(path.join(dir, '.env'), 'TOKEN=never-sent\n');
  return dir;
}

async function firstByte(service: DockerSandboxService, taskId: string, workspace: string | undefined): Promise<number> {
  const started = performance.now();
  const box = await service.acquire(taskId, workspace ? { workspace } : {});
  let at = 0;
  const result = await box.exec('echo ok', { onOutput: () => (at ||= performance.now()) });
  await box.destroy();
  if (result.stdout !== 'ok\n' || at === 0) throw new Error(`unexpected output ${JSON.stringify(result.stdout)}`);
  return at - started;
}

async function measure(label: string, once: (i: number) => Promise<number>, before?: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmups + runs; i++) {
    await before?.();
    const ms = await once(i);
    if (i >= warmups) samples.push(ms);
  }
  progress(`${label}: p50 ${percentile(samples, 50)} ms, p95 ${percentile(samples, 95)} ms, min ${percentile(samples, 0)} ms, max ${percentile(samples, 100)} ms`);
  return samples;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { engine: { type: 'string', default: 'remote-local' }, files: { type: 'string', default: '2000' } }, allowPositionals: true });
  const name = String(values.engine);
  const files = Math.min(40_000, Math.max(1, Number(values.files)));
  if (!['remote-local', 'tls', 'ssh', 'podman'].includes(name)) throw new Error(`--engine must be remote-local, tls, ssh or podman, not ${name}`);
  const local = createDockerClient();
  const { image } = await ensureSandboxImage(local);
  const started: StartedEngine[] = [];
  let engine: SandboxEngine;
  if (name === 'remote-local') {
    engine = { id: 'remote-local', name: 'This machine as remote', kind: 'tls', remote: true, docker: () => local, close: async () => undefined };
  } else {
    let target: StartedEngine;
    if (name === 'podman') {
      target = await startPodmanEngine({ id: 'bench-ws-podman' });
      started.push(target);
    } else {
      const tls = await startTlsEngine({ id: 'bench-ws-tls' });
      started.push(tls);
      target = tls;
      if (name === 'ssh') {
        target = await startSshEngine({ socketPath: tls.socketPath }, { id: 'bench-ws-ssh' });
        started.unshift(target);
      }
    }
    engine = createEngine(target.profile, target.secret);
    const sent = await ensureImageOnEngine({ from: local, to: engine, image, named: false });
    progress(`${name}: image ${sent.transferred ? `sent (${(sent.bytes / 1024 / 1024).toFixed(0)} MB)` : 'already there'}`);
  }
  const workspace = await makeWorkspace(files);
  const service = new DockerSandboxService({ engine, publish: () => undefined, poolSize: 1, retryMs: 0 });
  try {
    const status = await service.start();
    if (status.state !== 'ready') throw new Error(status.message);
    const rtt = await measureRtt(engine, 21);
    progress(`${name}: round trip (GET /_ping median) ${rtt.toFixed(1)} ms; workspace ${files.toLocaleString('en')} files of 4 KiB; ${runs} runs each`);
    const refill = async (): Promise<void> => {
      if (!(await service.poolSettled(30_000)) || service.pool.warm < 1) throw new Error('the pool did not refill');
    };
    const bare = await measure('pooled hand-out, no workspace', (i) => firstByte(service, `bench-bare-${i}`, undefined), refill);
    const copied = await measure('pooled hand-out, workspace copied in', (i) => firstByte(service, `bench-ws-${i}`, workspace), refill);
    const sync = await measure('syncBack after 10 files changed', async (i) => {
      const box = await service.acquire(`bench-sync-${i}`, { workspace, access: 'read-write' });
      try {
        const changed = await box.exec(`for n in 0 1 2 3 4 5 6 7 8 9; do echo ${i} > src$n/file$n.txt; done`);
        if (changed.exitCode !== 0) throw new Error(changed.stderr);
        const begun = performance.now();
        const report = await box.syncBack();
        const ms = performance.now() - begun;
        if (report.written.length !== 10) throw new Error(`expected 10 files written, got ${report.written.length}`);
        return ms;
      } finally {
        await box.destroy();
      }
    });
    const result = {
      metric: 'workspace_copy_ms',
      engine: name,
      files,
      rtt_ms: Math.round(rtt * 10) / 10,
      bare_p50: percentile(bare, 50),
      bare_p95: percentile(bare, 95),
      copied_p50: percentile(copied, 50),
      copied_p95: percentile(copied, 95),
      sync_p50: percentile(sync, 50),
      sync_p95: percentile(sync, 95),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await service.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    for (const target of started) await target.stop().catch(() => undefined);
    await rm(workspace, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
