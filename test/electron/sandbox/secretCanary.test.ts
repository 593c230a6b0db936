/**
 * Secrets do not leak sideways. A canary sits in the workspace's `.env` (not ignored), in a
 * private key, in a folder named like a secret, and in the real keychain. The real core
 * then runs what used to carry it out: the agent (the real Anthropic SDK against the
 * stand-in) calls `run_command "cat .env"` and friends in real sandbox containers (warm
 * and cold), each approved run takes a checkpoint, and `search_code` builds the code index.
 * Then every file under the data folder (raw, inflated when it inflates, and every object
 * of every git directory through `git cat-file --batch-all-objects`), every log line, every
 * event the renderer would get and every request to the model are searched for the canary.
 *
 * Needs the Docker engine and a Secret Service:
 *   dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
 *     npx vitest run --project sandbox test/electron/sandbox/secretCanary.test.ts'
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { tempDataDir } from '../../support/hostFixture';
import { testKeychain } from '../keychain/keychainSupport';
import { newService } from './support';

const fileCanary = 'CANARY-db-pass-4f1d9a7c2e';
const keyCanary = 'CANARY-private-key-b83e51';
const folderCanary = 'CANARY-folder-secret-0c9a2d';
const keychainCanary = 'CANARY-keychain-token-6e2b7f';
const lateCanary = 'CANARY-late-npmrc-91d0e4';
const apiKey = `sk-ant-api03-CANARY${'q'.repeat(40)}`;
const canaries = [fileCanary, keyCanary, folderCanary, keychainCanary, lateCanary];

let model: AnthropicStandIn;
let core: SophiaCore;
let workspace: string;
let dataDir: string;
const events: SophiaEvent[] = [];
const logged: string[] = [];
const { service } = newService({ poolSize: 1, workspace: () => workspace });

beforeAll(async () => {
  model = await startAnthropicStandIn();
  workspace = await mkdtemp(path.join(tmpdir(), 'sophia-canary-'));
  await writeFile(path.join(workspace, 'app.py'), 'import os\n\nDB_PASSWORD = os.environ["DB_PASSWORD"]\n');
  await writeFile(path.join(workspace, '.gitignore'), '__pycache__/\n');
  await writeFile(path.join(workspace, '.env'), `DB_PASSWORD=${fileCanary}\n`);
  await writeFile(path.join(workspace, '.env.example'), 'DB_PASSWORD=change-me\n');
  await mkdir(path.join(workspace, 'deploy'));
  await writeFile(path.join(workspace, 'deploy', 'server.pem'), `-----BEGIN PRIVATE KEY-----\n${keyCanary}\n-----END PRIVATE KEY-----\n`);
  await mkdir(path.join(workspace, 'credentials'));
  await writeFile(path.join(workspace, 'credentials', 'prod.py'), `def prod_token():\n    return "${folderCanary}"\n`);
  // The sandbox's command user is not this process's user: the workspace is readable by all.
  await chmod(workspace, 0o755);
  dataDir = tempDataDir();

  vi.stubEnv('SOPHIA_LOG_LEVEL', 'debug');
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logged.push(String(chunk));
    return write(chunk as string, ...(rest as []));
  });
  core = createSophiaCore({
    host: 'browser',
    dataDir,
    keychain: testKeychain(),
    endpoints: { anthropicBaseURL: model.baseURL },
    sandbox: service,
    approvalTimeoutMs: 120_000,
  });
  core.safety.secrets.set('anthropic-api-key', apiKey);
  core.safety.secrets.set('github-token', keychainCanary);
  core.settings.update({ provider: 'anthropic', workspace });
  // The person approves every card the gate shows.
  core.events.subscribe((event) => {
    events.push(event);
    if (event.type === 'approval.request') queueMicrotask(() => core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' }));
  });
  expect((await service.start()).state).toBe('ready');
  expect(await service.poolSettled(120_000)).toBe(true);
});

afterAll(async () => {
  core?.safety.secrets.remove('anthropic-api-key');
  core?.safety.secrets.remove('github-token');
  await core?.close();
  await model?.close();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await rm(workspace, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

/** Every file under `root`, and each one's bytes. */
function filesUnder(root: string): Array<{ file: string; bytes: Buffer }> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push({ file: path.relative(root, full), bytes: readFileSync(full) });
    }
  };
  walk(root);
  return out;
}

/** Every git directory under `root` (bare or not), by its `objects` folder. */
function gitDirsUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (existsSync(path.join(dir, 'objects')) && existsSync(path.join(dir, 'HEAD'))) out.push(dir);
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) walk(path.join(dir, entry.name));
  };
  walk(root);
  return out;
}

function inflated(bytes: Buffer): Buffer | undefined {
  for (const inflate of [inflateSync, gunzipSync]) {
    try {
      return inflate(bytes);
    } catch {
      // Not that kind of compressed data.
    }
  }
  return undefined;
}

describe('secret files and keychain values', () => {
  it('never reach the sandbox, the model, the chat, the logs or any file in the data folder', async () => {
    // A secret file that appears after the warm container was made: that container does not
    // cover it, so it must not be used.
    await writeFile(path.join(workspace, '.npmrc'), `//registry.npmjs.org/:_authToken=${lateCanary}\n`);
    const commands = ['cat .env .npmrc', 'cat deploy/server.pem; cat credentials/prod.py', 'cat "$(printf .e%sv n)" ./.e* 2>&1; grep -r CANARY . 2>&1; echo done'];
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Checking the settings.'], tools: [{ name: 'run_command', input: { command: commands[0]!, timeoutSeconds: 60 } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'run_command', input: { command: commands[1]!, timeoutSeconds: 60 } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'run_command', input: { command: commands[2]!, timeoutSeconds: 60 } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'search_code', input: { query: 'prod_token DB_PASSWORD' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Nothing to fix.'] }) },
    );
    const sent = core.agent.send('run the tests and fix what fails with the database password');
    await core.agent.whenIdle(sent.conversationId);

    const calls = events.filter((event): event is Extract<SophiaEvent, { type: 'tool.call' }> => event.type === 'tool.call');
    expect(calls.map((call) => call.tool)).toEqual(['run_command', 'run_command', 'run_command', 'search_code']);
    const results = events.filter((event): event is Extract<SophiaEvent, { type: 'tool.result' }> => event.type === 'tool.result');
    expect(results).toHaveLength(4);
    // The commands ran (each approved, each in a container), and saw empty files where the secrets are.
    expect(results[0]).toMatchObject({ ok: true });
    expect(results[2]?.output).toContain('done');

    // Each approved run took a checkpoint; the index was built.
    expect(events.filter((event) => event.type === 'checkpoint.created').length).toBe(3);
    expect(JSON.stringify(results[3])).toContain('app.py');

    const files = filesUnder(dataDir);
    expect(files.some((entry) => entry.file.startsWith('checkpoints'))).toBe(true);
    expect(files.some((entry) => entry.file.startsWith('code-index'))).toBe(true);
    const gitDirs = gitDirsUnder(dataDir);
    expect(gitDirs.length).toBeGreaterThan(0);
    const objects = gitDirs.map((gitDir) =>
      execFileSync('git', ['cat-file', '--batch-all-objects', '--batch'], { env: { ...process.env, GIT_DIR: gitDir }, maxBuffer: 256 * 1024 * 1024 }),
    );
    // The checkpoints do hold the workspace's other files, so the search would see a leak.
    expect(Buffer.concat(objects).includes('os.environ["DB_PASSWORD"]')).toBe(true);

    const bodies = JSON.stringify(model.requests.map((request) => request.body));
    const headers = JSON.stringify(model.requests.map((request) => request.headers));
    const logs = logged.join('');
    const shown = JSON.stringify(events);
    expect(logs.length).toBeGreaterThan(0);
    // Every place a canary turned up, so one run names them all.
    const leaks: string[] = [];
    for (const canary of canaries) {
      if (bodies.includes(canary)) leaks.push(`${canary} in a model request body`);
      if (headers.includes(canary)) leaks.push(`${canary} in a model request header`);
      if (shown.includes(canary)) leaks.push(`${canary} in an event for the chat or the renderer`);
      if (logs.includes(canary)) leaks.push(`${canary} in the logs`);
      for (const entry of files) {
        if (entry.bytes.includes(canary)) leaks.push(`${canary} in ${entry.file}`);
        else if (inflated(entry.bytes)?.includes(canary)) leaks.push(`${canary} in ${entry.file} (inflated)`);
      }
      objects.forEach((bytes, index) => {
        if (bytes.includes(canary)) leaks.push(`${canary} in a git object of ${path.relative(dataDir, gitDirs[index]!)}`);
      });
    }
    expect(leaks).toEqual([]);
    // The Anthropic key went to the model in its header, and nowhere else.
    expect(headers).toContain(apiKey);
    expect(bodies).not.toContain(apiKey);
    for (const entry of files) expect(entry.bytes.includes(apiKey), `data folder: ${entry.file}`).toBe(false);
    expect(statSync(path.join(workspace, '.env')).size).toBeGreaterThan(0);

    // A command that names a secret file is shown as high risk, and says why.
    const cards = events.filter((event): event is Extract<SophiaEvent, { type: 'approval.request' }> => event.type === 'approval.request');
    expect(cards.map((card) => card.risk)).toEqual(['high', 'high', 'high']);
    expect(cards[0]?.reasons.join(' ')).toContain('secret file ".env"');
    expect(cards[1]?.reasons.join(' ')).toContain('secret file "server.pem"');
  });
});
