/**
 * Every built entry of the main process loads under plain Node, as a user runs it: the
 * modules in out/main are loaded by Node's own ESM loader, which refuses what Vite's
 * resolver (and so every source-level test) accepts: a directory import, a package subpath
 * without its file, a CommonJS named export Node cannot see. Each entry runs in a child
 * process of its own; a failure names the entry and shows what Node said.
 * `npm test` builds first (`electron-vite build`), so out/ is today's build.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { init, parse } from 'es-module-lexer';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const outMain = path.join(root, 'out/main');
const stubLoader = path.join(import.meta.dirname, 'electronStubLoader.mjs');

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node args` in its own process group with an isolated home, data folder and no Docker; killed after `timeoutMs`. */
function runNode(args: readonly string[], options: { env?: Record<string, string>; until?: (stdout: string) => boolean; timeoutMs?: number } = {}): Promise<Run> {
  const home = mkdtempSync(path.join(tmpdir(), 'sophia-entry-home-'));
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      SOPHIA_DATA_DIR: path.join(home, 'data'),
      SOPHIA_LOG_LEVEL: 'error',
      SOPHIA_SANDBOX_POOL_SIZE: '0',
      // No Docker engine for these children: loading an entry must not start containers.
      DOCKER_HOST: `unix://${path.join(home, 'no-docker.sock')}`,
      ...options.env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (options.until?.(stdout)) process.kill(-child.pid!, 'SIGTERM');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Whatever the entry started in its group goes with it.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is empty already
      }
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const moduleFailure = /ERR_MODULE_NOT_FOUND|ERR_UNSUPPORTED_DIR_IMPORT|ERR_PACKAGE_PATH_NOT_EXPORTED|ERR_REQUIRE|Named export|does not provide an export|SyntaxError|ReferenceError|TypeError/;

/** The failure message: the entry's name and what Node printed. */
const said = (entry: string, run: Run) => `${entry} did not load under Node (exit ${run.code ?? run.signal}):\n${run.stderr.slice(0, 3000)}${run.stdout.slice(0, 1000)}`;

beforeAll(() => {
  if (!existsSync(path.join(outMain, 'serve.js'))) throw new Error('out/main is missing: run `npm run build` first (npm test does).');
});

describe('built entries under plain Node', () => {
  it('index.js (the Electron main), with electron resolved to a recording stub, starts the core and opens its window', async () => {
    const userData = mkdtempSync(path.join(tmpdir(), 'sophia-entry-userdata-'));
    const script = [
      'await import(process.env.SOPHIA_ENTRY);',
      // The main's start runs after app.whenReady(): wait for its window, bounded.
      'for (let i = 0; i < 300 && !globalThis.__electronStubCalls.includes("ipcMain.handle"); i++) await new Promise((r) => setTimeout(r, 50));',
      'process.stdout.write(JSON.stringify([...new Set(globalThis.__electronStubCalls)]));',
      'process.exit(0);',
    ].join('\n');
    const run = await runNode(['--import', pathToFileURL(stubLoader).href, '--input-type=module', '-e', script], {
      env: { SOPHIA_ENTRY: pathToFileURL(path.join(outMain, 'index.js')).href, SOPHIA_STUB_USER_DATA: userData },
    });
    expect(run.code, said('out/main/index.js', run)).toBe(0);
    const calls = JSON.parse(run.stdout) as string[];
    expect(calls).toEqual(expect.arrayContaining(['app.enableSandbox', 'app.requestSingleInstanceLock', 'app.whenReady', 'new BrowserWindow', 'ipcMain.handle']));
    // The core really started in the user-data folder Electron named.
    expect(existsSync(path.join(userData, 'sophia.db'))).toBe(true);
  });

  it('serve.js (`npm run serve`) prints its address and stops on SIGTERM', async () => {
    let address = '';
    const run = await runNode([path.join(outMain, 'serve.js')], {
      until: (stdout) => {
        address = /http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+/.exec(stdout)?.[0] ?? '';
        return address !== '';
      },
    });
    expect(address, said('out/main/serve.js', run)).not.toBe('');
    expect(run.code, said('out/main/serve.js', run)).toBe(0);
  });

  it('mcp.js (the stdio bridge) loads and, without a server kind, prints its usage', async () => {
    const run = await runNode([path.join(outMain, 'mcp.js')]);
    expect(run.stderr, said('out/main/mcp.js', run)).toMatch(/^usage: sophia-mcp code\|infra/);
    expect(run.code, said('out/main/mcp.js', run)).toBe(2);
  });

  it('auditVerify.js (`npm run audit:verify`) loads and says there is no audit log in an empty data folder', async () => {
    const run = await runNode([path.join(outMain, 'auditVerify.js')]);
    expect(run.stdout + run.stderr, said('out/main/auditVerify.js', run)).toMatch(/No audit log found/);
    expect(run.stderr).not.toMatch(moduleFailure);
    expect(run.code, said('out/main/auditVerify.js', run)).toBe(2);
  });

  it('sandboxImage.js (`npm run sandbox:image`) loads and says when no Docker engine answers', async () => {
    const run = await runNode([path.join(outMain, 'sandboxImage.js')]);
    expect(run.stderr, said('out/main/sandboxImage.js', run)).not.toMatch(moduleFailure);
    expect(run.stderr, said('out/main/sandboxImage.js', run)).toMatch(/docker/i);
    expect(run.code, said('out/main/sandboxImage.js', run)).toBe(1);
  });

  it('indexWorker.js builds a code index in a worker thread', async () => {
    const workspace = mkdtempSync(path.join(tmpdir(), 'sophia-entry-index-'));
    mkdirSync(path.join(workspace, 'src'));
    writeFileSync(path.join(workspace, 'src', 'pay.ts'), 'export function payroll(total: number): number {\n  return total;\n}\n');
    const script = [
      'const { Worker } = await import("node:worker_threads");',
      'const worker = new Worker(new URL(process.env.SOPHIA_ENTRY), { workerData: JSON.parse(process.env.SOPHIA_WORKER_DATA), execArgv: [] });',
      'const reply = await new Promise((resolve, reject) => { worker.once("message", resolve); worker.once("error", reject); });',
      'process.stdout.write(JSON.stringify(reply));',
      'process.exit(0);',
    ].join('\n');
    const run = await runNode(['--input-type=module', '-e', script], {
      env: {
        SOPHIA_ENTRY: pathToFileURL(path.join(outMain, 'indexWorker.js')).href,
        SOPHIA_WORKER_DATA: JSON.stringify({ root: workspace, storeFile: path.join(workspace, 'index.json') }),
      },
    });
    expect(run.code, said('out/main/indexWorker.js', run)).toBe(0);
    expect(JSON.parse(run.stdout), said('out/main/indexWorker.js', run)).toMatchObject({ ok: true });
  });

  it('every package import in out/main, static or dynamic, resolves under Node with the names it imports', async () => {
    await init;
    const files = readdirSync(outMain, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
    // One probe module per import, beside the file that has it, so it resolves from the same place.
    const probes: { file: string; specifier: string; probe: string }[] = [];
    for (const file of files) {
      const source = readFileSync(path.join(outMain, file), 'utf8');
      const [imports] = parse(source);
      for (const entry of imports) {
        const specifier = entry.n;
        if (!specifier || specifier.startsWith('.') || specifier.startsWith('node:') || specifier === 'electron') continue;
        // A static import keeps its named imports; a dynamic one must at least resolve and load.
        const statement = entry.d === -1 ? `${source.slice(entry.ss, entry.se)};` : `await import(${JSON.stringify(specifier)});`;
        probes.push({ file, specifier, probe: statement });
      }
    }
    expect(probes.length).toBeGreaterThan(20);
    const script = probes
      .map(({ file, specifier }, index) =>
        [
          `try { await import(${JSON.stringify(pathToFileURL(path.join(outMain, path.dirname(file), `.probe-${index}.mjs`)).href)}); }`,
          `catch (error) { failures.push(${JSON.stringify(`${file} imports "${specifier}": `)} + String(error?.message ?? error).split("\\n")[0]); }`,
        ].join('\n'),
      )
      .join('\n');
    const probeFiles = probes.map(({ file }, index) => path.join(outMain, path.dirname(file), `.probe-${index}.mjs`));
    let run: Run;
    try {
      for (const [index, { probe }] of probes.entries()) writeFileSync(probeFiles[index]!, `${probe}\n`);
      run = await runNode(['--input-type=module', '-e', `const failures = [];\n${script}\nprocess.stdout.write(JSON.stringify(failures)); process.exit(0);`], {
        timeoutMs: 120_000,
      });
    } finally {
      for (const probe of probeFiles) rmSync(probe, { force: true });
    }
    expect(run.code, said('the import probe', run)).toBe(0);
    expect(JSON.parse(run.stdout) as string[]).toEqual([]);
  }, 180_000);
});
