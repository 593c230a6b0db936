/**
 * Offline mode holds for every tool, not only the model. With Ollama selected, the real core
 * (its real git, GitHub, Pulumi, Snowflake and outside-MCP clients) refuses each call that
 * would reach a host off this machine, with a plain reason, before it connects; what stays
 * on this machine (a git remote on 127.0.0.1, a Pulumi backend in a local folder, an outside
 * stdio MCP server, the code index's worker thread, the model) still works.
 *
 * The whole test process is watched by `strace -f` (test/support/connectionWatch.ts): every
 * thread, worker threads included, and every process it starts (the stdio MCP server, git,
 * the Pulumi CLI). Any connection or datagram to an address that is not loopback, a DNS query
 * included, fails the test; the last case shows the watch catching one from a worker thread
 * and from a child process.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import type { InvokeOutcome } from '../../../electron/agent/tools';
import { watchConnections, type ConnectionWatch } from '../../support/connectionWatch';
import { tempDataDir } from '../../support/hostFixture';
import { gitCli, gitCliAsync, startGitHttpServer, type GitHttpServer } from '../../support/standIns/gitHttpServer';
import { ollamaTurn, startOllamaStandIn, type OllamaStandIn } from '../../support/standIns/ollamaStandIn';
import { makePulumiWorkspace, pulumiStandInRoot } from '../../support/standIns/pulumiProject';

const repo = path.resolve(import.meta.dirname, '../../..');
const fixtureServer = path.join(repo, 'test/fixtures/mcp/outsideServer.mjs');
const token = 'offline-test-token';
const ddl = 'CREATE TABLE audit_events (id INTEGER, at TIMESTAMP);';
// Names, not addresses: reaching them at all would start with a DNS query the watch sees.
const offMachine = {
  gitRemote: 'https://git.example.com/acme/payroll.git',
  githubApi: 'https://api.github.com',
  pulumiBackend: 'https://api.pulumi.com',
  snowflakeAccount: 'xy12345',
  mcpUrl: 'https://mcp.example.com/mcp',
};

let watch: ConnectionWatch;
let ollama: OllamaStandIn;
let gitServer: GitHttpServer;
let core: SophiaCore;
let workspace: string;
let backendUrl: string;
let outDir: string;
let calls = 0;
// Worker threads started in this process, by name: the code index's must be among them.
const workers: string[] = [];
process.on('worker', (worker) => workers.push((worker as unknown as { threadName?: string }).threadName ?? String(worker.threadId)));

const invoke = (tool: string, input: unknown): Promise<InvokeOutcome> =>
  core.registry.invoke(tool, input, { conversationId: 'conv-offline', callId: `call-${++calls}`, signal: new AbortController().signal });

function outputOf(outcome: InvokeOutcome): { ok: boolean; output: string } {
  if (outcome.kind !== 'executed') throw new Error(`expected the call to run, got ${JSON.stringify(outcome)}`);
  return { ok: outcome.result.ok, output: outcome.result.output };
}

beforeAll(async () => {
  // Built first (vite may look things up); the watch starts before anything offline mode covers.
  await mkdir(path.join(repo, 'out'), { recursive: true });
  outDir = await mkdtemp(path.join(repo, 'out', 'offline-test-'));
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
  watch = await watchConnections();

  ollama = await startOllamaStandIn();
  gitServer = await startGitHttpServer({ password: token });
  gitServer.createRepository('acme', 'payroll');
  workspace = await mkdtemp(path.join(os.tmpdir(), 'sophia-offline-ws-'));
  const basic = Buffer.from(`x:${token}`).toString('base64');
  await gitCliAsync(workspace, '-c', `http.extraHeader=Authorization: Basic ${basic}`, 'clone', '--quiet', gitServer.urlOf('acme', 'payroll'), '.');
  gitCli(workspace, 'switch', '--quiet', '-c', 'feature/offline');
  await writeFile(path.join(workspace, 'payroll.py'), 'def net_salary(gross, rate):\n    return gross - gross * rate\n');
  gitCli(workspace, 'add', 'payroll.py');
  gitCli(workspace, '-c', 'user.name=Ada', '-c', 'user.email=ada@example.com', 'commit', '--quiet', '-m', 'net salary');
  ({ backendUrl } = await makePulumiWorkspace(undefined, workspace));

  core = createSophiaCore({
    host: 'browser',
    dataDir: tempDataDir(),
    secrets: { get: async (name) => (name === 'github-token' ? token : name === 'snowflake-password' ? 'snow-pass' : undefined) },
    pulumiCliRoot: pulumiStandInRoot,
    indexWorker: pathToFileURL(path.join(outDir, 'indexWorker.js')),
    approvalTimeoutMs: 60_000,
  });
  core.events.subscribe((event) => {
    if (event.type === 'approval.request') queueMicrotask(() => core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' }));
  });
  const staging = core.settings.get().snowflake.staging;
  core.settings.update({
    provider: 'ollama',
    ollamaHost: ollama.host,
    workspace,
    gitAuthorName: 'Ada Lovelace',
    gitAuthorEmail: 'ada@example.com',
    githubRepository: 'acme/payroll',
    githubApiUrl: offMachine.githubApi,
    pulumiProjectDir: 'infra',
    snowflake: { ...core.settings.get().snowflake, staging: { ...staging, account: offMachine.snowflakeAccount, username: 'DEPLOYER' } },
    mcpServers: [
      { id: 'local', transport: 'stdio', command: process.execPath, args: [fixtureServer], envNames: [] },
      { id: 'remote', transport: 'http', url: offMachine.mcpUrl },
    ],
  });
  await core.mcp.outside.refresh();
}, 120_000);

afterAll(async () => {
  await watch?.stop();
  await core?.close();
  await ollama?.close();
  await gitServer?.close();
  if (workspace) await rm(workspace, { recursive: true, force: true });
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('offline mode (Ollama) for every tool', () => {
  it('says it is offline', () => {
    expect(core.status().model).toMatchObject({ provider: 'ollama', offline: true });
  });

  it('refuses git push to a remote off this machine, GitHub, Pulumi with a cloud backend, Snowflake and an outside MCP server at a URL, before connecting', async () => {
    core.settings.update({ gitRemoteUrl: offMachine.gitRemote, pulumiBackendUrl: offMachine.pulumiBackend });

    const push = outputOf(await invoke('git_push', { branch: 'feature/offline' }));
    expect(push).toMatchObject({ ok: false, output: expect.stringContaining('Offline mode: git push would connect to git.example.com') });

    const pullRequest = outputOf(await invoke('github_open_pull_request', { title: 'Net salary', body: 'Adds net_salary.' }));
    expect(pullRequest).toMatchObject({ ok: false, output: expect.stringContaining('Offline mode: GitHub would connect to api.github.com') });

    const preview = outputOf(await invoke('pulumi_preview', { stack: 'dev' }));
    expect(preview).toMatchObject({ ok: false, output: expect.stringContaining('Offline mode: Pulumi (its backend) would connect to api.pulumi.com') });
    core.settings.update({ pulumiBackendUrl: '' });
    const noBackend = outputOf(await invoke('pulumi_stacks', {}));
    expect(noBackend).toMatchObject({ ok: false, output: expect.stringContaining('Offline mode: Pulumi has no backend set') });

    // Planning reads the affected tables' definitions from Snowflake, so it is refused already;
    // applying and restoring connect through the same client.
    const plan = outputOf(await invoke('snowflake_plan', { environment: 'staging', text: ddl }));
    expect(plan).toMatchObject({ ok: false, output: expect.stringContaining('Offline mode: Snowflake staging would connect to xy12345.snowflakecomputing.com') });

    const servers = core.mcp.outside.view();
    expect(JSON.stringify(servers)).toContain('Offline mode: this MCP server would connect to mcp.example.com');

    expect(watch.report().violations).toEqual([]);
  });

  it('allows what stays on this machine: a loopback git remote, a local Pulumi backend, a stdio MCP server, the index worker, the model', async () => {
    core.settings.update({ gitRemoteUrl: '', pulumiBackendUrl: backendUrl });

    const push = outputOf(await invoke('git_push', { branch: 'feature/offline' }));
    expect(push.ok, push.output).toBe(true);
    expect(gitServer.git('acme', 'payroll', 'log', '--format=%s', '-1', 'feature/offline')).toBe('net salary');

    const preview = outputOf(await invoke('pulumi_preview', { stack: 'dev' }));
    expect(preview.ok, preview.output).toBe(true);

    const env = outputOf(await invoke('mcp_local_show_env', {}));
    expect(env.ok, env.output).toBe(true);

    ollama.script(
      { kind: 'stream', lines: ollamaTurn({ toolCalls: [{ name: 'search_code', arguments: { query: 'net_salary' } }] }) },
      { kind: 'stream', lines: ollamaTurn({ text: ['It is in payroll.py.'] }) },
    );
    const sent = core.agent.send('where is net_salary defined?');
    await core.agent.whenIdle(sent.conversationId);
    expect(ollama.requests).toHaveLength(2);
    expect(JSON.stringify(ollama.requests[1])).toContain('payroll.py');
    // The index was built in its worker thread, under the watch.
    expect(workers).toContain('sophia-code-index');

    const report = watch.report();
    expect(report.violations).toEqual([]);
    // The watch did see this traffic, from more than one thread or process.
    expect(report.addresses.length).toBeGreaterThan(0);
    expect(report.tids.size).toBeGreaterThan(1);
  });

  it('the watch catches a connection off this machine from a worker thread and from a child process', async () => {
    const before = watch.report().violations.length;
    // 0.0.0.0 is not loopback to the watch, yet the kernel answers a connect to it on this
    // machine: the check names an address off loopback without sending a packet anywhere.
    const code = (port: number, address: string) => `require('node:net').connect(${port}, '${address}').on('error', () => {}).on('connect', function () { this.destroy(); })`;
    const worker = new Worker(`${code(40007, '0.0.0.0')}; setTimeout(() => {}, 300);`, { eval: true });
    await new Promise((resolve) => worker.once('exit', resolve));
    const child = spawn(process.execPath, ['-e', `${code(40008, '0.0.0.0')}; setTimeout(() => {}, 300);`], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    const caught = watch.report().violations.slice(before);
    expect(caught.some((line) => line.includes('htons(40007)'))).toBe(true);
    expect(caught.some((line) => line.includes('htons(40008)'))).toBe(true);
  });
});
