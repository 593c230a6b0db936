#!/usr/bin/env node
/**
 * The README's own command, as a new user runs it: `npm run serve` (build, then
 * `node out/main/serve.js`) with a fresh data folder. Waits for the printed address, opens it
 * in Debian's Chromium and waits for "Connected", lists both MCP servers' tools through the
 * stdio bridge (`node out/main/mcp.js code|infra`) with the official MCP SDK client, then stops
 * the server by its PID and checks that it ended and its port is closed. Prints what it saw;
 * exits non-zero on any failure. `.ci/run` calls it after `npm test`.
 *
 *   node test/smoke/serveSmoke.mjs            # runs `npm run serve` (builds first)
 *   node test/smoke/serveSmoke.mjs --no-build # runs `node out/main/serve.js` on today's build
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../..');
const noBuild = process.argv.includes('--no-build');
const startTimeoutMs = Number(process.env['SOPHIA_SMOKE_TIMEOUT_MS'] ?? 300_000);
const dataDir = mkdtempSync(path.join(tmpdir(), 'sophia-smoke-'));
const say = (line) => process.stdout.write(`${line}\n`);

/** The PIDs of the process `pid` and everything under it (npm → sh → node), from /proc. */
function descendants(pid) {
  const table = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent; the command name before it may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      table.push([Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])]);
    } catch {
      // ended while we looked
    }
  }
  const found = [pid];
  for (let i = 0; i < found.length; i++) for (const [child, parent] of table) if (parent === found[i]) found.push(child);
  return found;
}

/** The PID of the process listening on `port` among `pids` (`ss` from iproute2), if `ss` can tell. */
function listener(port, pids) {
  try {
    const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
    const owner = /pid=(\d+)/.exec(out)?.[1];
    return owner && pids.includes(Number(owner)) ? Number(owner) : undefined;
  } catch {
    return undefined;
  }
}

const portOpen = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

async function main() {
  const command = noBuild ? [process.execPath, [path.join(root, 'out/main/serve.js')]] : ['npm', ['run', 'serve']];
  say(`$ ${noBuild ? 'node out/main/serve.js' : 'npm run serve'}   (SOPHIA_DATA_DIR=${dataDir})`);
  const child = spawn(command[0], command[1], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SOPHIA_DATA_DIR: dataDir, SOPHIA_LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ended already
    }
  };
  let browser;
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no address within ${startTimeoutMs} ms`)), startTimeoutMs);
      child.stdout.setEncoding('utf8').on('data', (chunk) => {
        stdout += chunk;
        const found = /http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]+/.exec(stdout);
        if (found) {
          clearTimeout(timer);
          resolve(found[0]);
        }
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code ?? signal}) before printing an address`));
      });
    });
    const port = Number(new URL(url).port);
    say(stdout.split('\n').filter((line) => line.startsWith('Sophia is running') || line.includes('#token=')).join('\n').replace(/#token=[0-9a-f]+/, '#token=…'));

    browser = await chromium.launch({
      executablePath: process.env['SOPHIA_CHROMIUM'] ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(url);
    await page.getByText('Connected', { exact: true }).waitFor({ timeout: 60_000 });
    const status = (await page.getByTestId('status-bar').innerText()).replace(/\s+/g, ' ').trim();
    say(`Chromium: the page says Connected (status bar: ${status})`);
    if (problems.length) throw new Error(`the page raised errors: ${problems.join('; ')}`);

    // The app starts its MCP endpoint once the window (here, the tab) has its first answer,
    // and writes mcp-endpoint.json for the bridge: wait for it, bounded.
    const endpointFile = path.join(dataDir, 'mcp-endpoint.json');
    for (const deadline = Date.now() + 30_000; !existsSync(endpointFile); ) {
      if (Date.now() > deadline) throw new Error('the app did not write mcp-endpoint.json within 30 s of the page connecting');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    for (const kind of ['code', 'infra']) {
      const client = new Client({ name: 'sophia-serve-smoke', version: '1.0.0' });
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [path.join(root, 'out/main/mcp.js'), kind],
        env: { ...process.env, SOPHIA_DATA_DIR: dataDir, SOPHIA_LOG_LEVEL: 'warn' },
        stderr: 'pipe',
      });
      await client.connect(transport);
      const { tools } = await client.listTools();
      const server = client.getServerVersion();
      say(`$ node out/main/mcp.js ${kind}   → ${server?.name ?? '?'}: ${tools.map((tool) => tool.name).join(', ')}`);
      await client.close();
      if (tools.length === 0) throw new Error(`the ${kind} bridge listed no tools`);
    }
    await browser.close();
    browser = undefined;

    // Stop the server by its PID: the node process that listens on the printed port.
    const family = descendants(child.pid);
    const serverPid = listener(port, family) ?? family.at(-1);
    say(`stopping the server: kill -TERM ${serverPid}`);
    process.kill(serverPid, 'SIGTERM');
    const ended = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 20_000))]);
    if (!ended) throw new Error(`the server (pid ${serverPid}) did not stop within 20 s of SIGTERM`);
    if (await portOpen(port)) throw new Error(`port ${port} is still open after the server stopped`);
    say(`stopped; port ${port} is closed`);
  } catch (error) {
    await browser?.close().catch(() => {});
    killGroup('SIGKILL');
    process.stderr.write(`serve smoke test FAILED: ${error instanceof Error ? error.message : String(error)}\n--- server stdout ---\n${stdout.slice(-4000)}\n--- server stderr ---\n${stderr.slice(-8000)}\n`);
    return 1;
  } finally {
    killGroup('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
  say('serve smoke test passed');
  return 0;
}

process.exitCode = await main();
