/**
 * `npm run bench:startup`: cold starts of the BUILT server (`node out/main/serve.js`, each
 * with an empty SOPHIA_DATA_DIR, the sandbox pool off), against a floor measured in the same
 * run: bare Node serving the same renderer folder over HTTP with a `ws` echo
 * (startupFloor.mjs). For each: time to the printed address, time to the first WebSocket
 * frame answered (the browser host's real token sub-protocol and Origin), resident memory
 * once idle. Then one more start with the module recorder: the module files loaded at idle,
 * by package, and any cloud client among them; and one in Chromium: the JavaScript the first
 * screen loads. Prints figures with ratios; the last line is the JSON result. No assertions.
 *
 *   BENCH_RUNS (default 10) cold starts of each.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromium } from '../e2e/support/chromium';
import { builtRenderer, builtServer, cloudClientsIn, coldStart, coldStartServer, packagesIn, repoRoot, type StartupSample } from '../support/startupProbe';
import { percentile, progress, round } from './stats';

const runs = Math.min(50, Math.max(1, Number(process.env['BENCH_RUNS'] ?? 10)));
const serverEnv = { SOPHIA_SANDBOX_POOL_SIZE: '0' };
const floorScript = path.join(repoRoot, 'test/bench/startupFloor.mjs');
const mb = (bytes: number): number => round(bytes / (1024 * 1024));
const kb = (bytes: number): number => round(bytes / 1024);

interface Figures {
  readonly addressMs: { readonly p50: number; readonly max: number };
  readonly frameMs: { readonly p50: number; readonly max: number };
  readonly idleRssMb: { readonly p50: number; readonly max: number };
}

function figures(samples: readonly StartupSample[]): Figures {
  const of = (pick: (sample: StartupSample) => number) => ({ p50: percentile(samples.map(pick), 50), max: percentile(samples.map(pick), 100) });
  return { addressMs: of((s) => s.addressMs), frameMs: of((s) => s.frameMs), idleRssMb: of((s) => mb(s.idleRssBytes)) };
}

/** The JavaScript the first screen loads: every script response until the app says Connected and the network is quiet. */
async function firstScreenScripts(): Promise<{ files: { name: string; bytes: number; gzip: number }[]; builtBytes: number; monaco: boolean }> {
  const assets = path.join(builtRenderer, 'assets');
  const builtBytes = readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + statSync(path.join(assets, name)).size, 0);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sophia-first-screen-'));
  const child = spawn(process.execPath, [builtServer], { env: { ...process.env, ...serverEnv, SOPHIA_DATA_DIR: dataDir, SOPHIA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('the server printed no address within 60 s')), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/\S*#token=[0-9a-f]+)/.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
      const scripts = new Set<string>();
      page.on('request', (request) => {
        if (request.resourceType() === 'script' || /\.m?js(\?|$)/.test(request.url())) scripts.add(new URL(request.url()).pathname);
      });
      await page.goto(url);
      await page.getByText('Connected', { exact: true }).waitFor({ timeout: 60_000 });
      await page.waitForLoadState('networkidle', { timeout: 30_000 });
      const files = [...scripts].map((pathname) => {
        const body = readFileSync(path.join(builtRenderer, pathname));
        return { name: pathname.replace(/^\//, ''), bytes: body.length, gzip: gzipSync(body).length };
      });
      return { files, builtBytes, monaco: files.some((file) => /editor\.api|monaco|DiffEditor/i.test(file.name)) };
    } finally {
      await browser.close();
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  statSync(builtServer);
  const app: StartupSample[] = [];
  const floor: StartupSample[] = [];
  // Interleaved, so a change in the machine's load hits both alike.
  for (let i = 0; i < runs; i++) {
    floor.push(await coldStart({ args: [floorScript, builtRenderer] }));
    app.push(await coldStartServer({ env: serverEnv }));
    progress(
      `run ${i + 1}/${runs}: serve.js address ${round(app[i]!.addressMs)} ms, frame ${round(app[i]!.frameMs)} ms, idle ${mb(app[i]!.idleRssBytes)} MB | ` +
        `floor ${round(floor[i]!.addressMs)} ms, ${round(floor[i]!.frameMs)} ms, ${mb(floor[i]!.idleRssBytes)} MB`,
    );
  }
  const ours = figures(app);
  const base = figures(floor);
  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

  progress('recording the modules loaded at idle…');
  const recorded = await coldStartServer({ env: serverEnv, recordModules: true });
  const modules = recorded.modules ?? [];
  const clients = cloudClientsIn(modules);
  const packages = [...packagesIn(modules).entries()].sort((a, b) => b[1] - a[1]);

  progress('loading the first screen in Chromium…');
  const screen = await firstScreenScripts();
  const screenBytes = screen.files.reduce((sum, file) => sum + file.bytes, 0);
  const screenGzip = screen.files.reduce((sum, file) => sum + file.gzip, 0);

  const line = (what: string, a: { p50: number; max: number }, b: { p50: number; max: number }, unit: string): string =>
    `${what.padEnd(28)} p50 ${String(a.p50).padStart(7)} ${unit} (max ${a.max})   floor p50 ${String(b.p50).padStart(7)} ${unit} (max ${b.max})   ratio ${ratio(a.p50, b.p50)}x`;
  console.log(`\nstartup over ${runs} cold starts of out/main/serve.js (empty data folder each, SOPHIA_SANDBOX_POOL_SIZE=0) vs bare Node + ws serving out/renderer:`);
  console.log(line('time to printed address', ours.addressMs, base.addressMs, 'ms'));
  console.log(line('time to first frame answered', ours.frameMs, base.frameMs, 'ms'));
  console.log(line('resident memory once idle', ours.idleRssMb, base.idleRssMb, 'MB'));
  const goals = {
    addressWithin3xFloor: ours.addressMs.p50 <= 3 * base.addressMs.p50,
    addressUnder600Ms: ours.addressMs.p50 < 600,
    idleRssUnder120Mb: ours.idleRssMb.p50 < 120,
    noCloudClientAtIdle: Object.keys(clients).length === 0,
    noMonacoOnFirstScreen: !screen.monaco,
  };
  console.log(`goals: ${Object.entries(goals).map(([goal, met]) => `${goal} ${met ? 'met' : 'NOT met'}`).join(', ')}`);
  console.log(`\nmodules loaded at idle: ${modules.length} files; by package: ${packages.slice(0, 25).map(([name, count]) => `${name} ${count}`).join(', ')}`);
  console.log(`cloud clients loaded at idle: ${Object.keys(clients).length === 0 ? 'none' : Object.entries(clients).map(([name, files]) => `${name} (${files.length} files)`).join(', ')}`);
  console.log(
    `\nfirst screen JavaScript: ${kb(screenBytes)} kB (${kb(screenGzip)} kB gzipped) in ${screen.files.length} files, ${Math.round((screenBytes / screen.builtBytes) * 1000) / 10}% of the ${kb(screen.builtBytes)} kB built; Monaco ${screen.monaco ? 'LOADED' : 'not loaded'}`,
  );
  for (const file of screen.files.sort((a, b) => b.bytes - a.bytes)) console.log(`  ${file.name.padEnd(48)} ${String(kb(file.bytes)).padStart(8)} kB`);
  console.log(
    JSON.stringify({
      runs,
      serve: ours,
      floor: base,
      ratios: { addressMs: ratio(ours.addressMs.p50, base.addressMs.p50), frameMs: ratio(ours.frameMs.p50, base.frameMs.p50), idleRssMb: ratio(ours.idleRssMb.p50, base.idleRssMb.p50) },
      goals,
      modulesAtIdle: modules.length,
      cloudClientsAtIdle: Object.keys(clients),
      firstScreen: { bytes: screenBytes, gzipBytes: screenGzip, files: screen.files.length, builtBytes: screen.builtBytes, monaco: screen.monaco },
    }),
  );
}

await main();
