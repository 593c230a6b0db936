/**
 * The code index's first build in a worker thread: the worker script is built from source
 * the way the app's build does it (its own entry, packages external), the service builds
 * the index there and the main thread loads what the worker saved. Search answers the same
 * as an index built in place, and a broken worker script falls back to building in place.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeIndexService } from '../../../electron/code/indexService';

const repo = path.resolve(import.meta.dirname, '../../..');
let outDir: string;
let workerScript: URL;
let workspace: string;
const services: CodeIndexService[] = [];

beforeAll(async () => {
  // Under the repository, so the bundle's packages resolve from its node_modules as the app's do.
  await mkdir(path.join(repo, 'out'), { recursive: true });
  outDir = await mkdtemp(path.join(repo, 'out', 'index-worker-test-'));
  await build({
    configFile: false,
    logLevel: 'error',
    build: {
      ssr: true,
      outDir,
      target: 'node22',
      minify: false,
      rolldownOptions: { input: { indexWorker: path.join(repo, 'electron/code/indexWorker.ts') }, output: { format: 'es', entryFileNames: '[name].js' } },
    },
  });
  workerScript = pathToFileURL(path.join(outDir, 'indexWorker.js'));

  workspace = await mkdtemp(path.join(os.tmpdir(), 'sophia-index-worker-'));
  await mkdir(path.join(workspace, 'src'));
  for (let i = 0; i < 300; i += 1) {
    await writeFile(path.join(workspace, 'src', `module${i}.ts`), `export function handler${i}(input: string): string {\n  return input + ${i};\n}\n`);
  }
  await writeFile(path.join(workspace, 'src', 'payroll.py'), 'def summarize_gong_interactions(calls):\n    return len(calls)\n');
  await writeFile(path.join(workspace, '.env'), 'TOKEN=never-indexed\n');
}, 120_000);

afterAll(async () => {
  for (const service of services) service.close();
  await rm(outDir, { recursive: true, force: true });
  await rm(workspace, { recursive: true, force: true });
});

function service(worker: URL | false, storeDir: string): CodeIndexService {
  const made = new CodeIndexService({ workspace: () => workspace, storeDir, watch: false, worker });
  services.push(made);
  return made;
}

describe('the first build in a worker thread', () => {
  it('builds in another thread, and the main thread searches what it saved', async () => {
    const indexes = service(workerScript, await mkdtemp(path.join(os.tmpdir(), 'sophia-index-store-')));
    const index = await indexes.index();
    expect(indexes.lastBuild).toEqual({ threadId: expect.any(Number), files: 301 });
    expect(indexes.lastBuild?.threadId).not.toBe(threadId);
    expect(index?.size).toBe(301);
    expect(index?.search('summarize_gong_interactions', 3)[0]?.path).toBe('src/payroll.py');
    expect(index?.search('handler217', 3)[0]).toMatchObject({ path: 'src/module217.ts', symbols: [{ name: 'handler217', line: 1 }] });
    expect(index?.search('never-indexed', 3)).toEqual([]);
  });

  it('answers as an index built on the main thread does', async () => {
    const inWorker = await service(workerScript, await mkdtemp(path.join(os.tmpdir(), 'sophia-index-store-'))).index();
    const inPlaceService = service(false, await mkdtemp(path.join(os.tmpdir(), 'sophia-index-store-')));
    const inPlace = await inPlaceService.index();
    expect(inPlaceService.lastBuild).toEqual({ threadId: 0, files: 301 });
    for (const query of ['handler12 input', 'summarize gong', 'module299']) {
      expect(inWorker?.search(query, 5).map((hit) => hit.path)).toEqual(inPlace?.search(query, 5).map((hit) => hit.path));
    }
    expect(inWorker?.repoMap(500)).toBe(inPlace?.repoMap(500));
  });

  it('falls back to building in place when the worker fails', async () => {
    const broken = path.join(outDir, 'broken.js');
    await writeFile(broken, 'throw new Error("broken worker");\n');
    const indexes = service(pathToFileURL(broken), await mkdtemp(path.join(os.tmpdir(), 'sophia-index-store-')));
    const index = await indexes.index();
    expect(indexes.lastBuild).toEqual({ threadId: 0, files: 301 });
    expect(index?.search('handler5', 1)[0]?.path).toBe('src/module5.ts');
  });
});
