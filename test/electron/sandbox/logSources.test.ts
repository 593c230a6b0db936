/**
 * Log sources on the real Docker engine: a container's logs read through dockerode (since,
 * tail, timestamps, stdout and stderr demultiplexed), and a saved command run in a real
 * sandbox container (workspace read-only, no network) whose output is the log. A known
 * secret value is cut from both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogSource } from '../../../shared/logSources';
import { SophiaError } from '../../../shared/errors';
import { SecretRedactor } from '../../../electron/keychain/redactor';
import { LogSourceService } from '../../../electron/logs/logSourceService';
import { ensureSandboxImage } from '../../../electron/sandbox/sandboxImage';
import { containersOf, docker, makeWorkspace, newService, waitFor } from './support';

const secret = 'Pl4in-Canary-Value-0042';
const { service: sandbox } = newService();
let sources: LogSource[] = [];
let logs: LogSourceService;
let container: Docker.Container;
const containerName = `sophia-logs-test-${randomBytes(4).toString('hex')}`;
let workspace: { dir: string; remove: () => Promise<void> };
let dataDir: string;

const read = (args: { source: string; since?: string; until?: string; grep?: string; tail?: number }) => logs.read(args, new AbortController().signal);
const bodyOf = (output: string): string[] => output.split('\n---\n')[1]?.split('\n') ?? [];

beforeAll(async () => {
  workspace = await makeWorkspace();
  dataDir = await mkdtemp(path.join(tmpdir(), 'sophia-data-'));
  const redactor = new SecretRedactor();
  redactor.add('snowflake-password', secret);
  logs = new LogSourceService({
    sources: () => sources,
    saveSources: (next) => {
      sources = next;
    },
    workspace: () => workspace.dir,
    dataDir,
    sandbox,
    redact: (text) => redactor.redact(text),
  });
  expect((await sandbox.start()).state).toBe('ready');
  const { image } = await ensureSandboxImage(docker);
  // A service that logs three lines two seconds apart, one on stderr, one with a secret in it.
  container = await docker.createContainer({
    name: containerName,
    Image: image,
    User: '65534:65534',
    Cmd: ['/bin/sh', '-c', `echo "sync started"; sleep 2; echo "ERROR notion 429 token=${secret}" >&2; sleep 2; echo "sync ended"`],
    HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
    Labels: { 'sophia.test': 'logSources' },
  });
  await container.start();
  await waitFor(async () => !(await container.inspect()).State.Running, 60_000, 'the logging container to finish');
});

afterAll(async () => {
  await container?.remove({ force: true }).catch(() => undefined);
  await sandbox.close();
  await workspace?.remove();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a Docker container as a log source', () => {
  it('is refused when Docker has no such container, naming the field', async () => {
    const error = await logs.save({ name: 'ghost', kind: 'docker', container: 'no-such-container-here' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SophiaError);
    expect((error as SophiaError).message).toContain('Docker has no container named no-such-container-here');
    expect((error as SophiaError).data).toEqual({ field: 'container' });
  });

  it("reads its stdout and stderr with Docker's timestamps, the secret cut", async () => {
    await logs.save({ name: 'api', kind: 'docker', container: containerName });
    const result = await read({ source: 'api' });
    expect(result.ok).toBe(true);
    expect(result.output).toContain(`Log source: api (docker; container ${containerName})`);
    expect(result.output).toContain('Lines: 3 matched, 3 returned');
    const lines = bodyOf(result.output);
    expect(lines).toEqual([
      expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z sync started$/),
      expect.stringMatching(/^\[stderr\] \d{4}-.*Z ERROR notion 429 token=\[redacted:snowflake-password\]$/),
      expect.stringMatching(/^\d{4}-.*Z sync ended$/),
    ]);
    expect(result.output).not.toContain(secret);
  });

  it('filters, tails, and takes a window from Docker', async () => {
    const errors = await read({ source: 'api', grep: 'ERROR|WARN' });
    expect(errors.output).toContain('Lines: 1 matched, 1 returned');
    const last = await read({ source: 'api', tail: 1 });
    expect(bodyOf(last.output)).toEqual([expect.stringMatching(/sync ended$/)]);
    // From the error line's own time on: the first line, two seconds earlier, is left out.
    const stamp = /\] (\S+) ERROR/.exec(bodyOf((await read({ source: 'api' })).output)[1] ?? '')?.[1] ?? '';
    const since = await read({ source: 'api', since: stamp });
    expect(since.output).toContain("applied by Docker's log times");
    expect(bodyOf(since.output)).toEqual([expect.stringContaining('ERROR notion 429'), expect.stringMatching(/sync ended$/)]);
    const probe = await read({ source: 'api', grep: 'Canary' });
    expect(probe.output).toContain('Lines: 0 matched');
  });

  it('reads a running container that has gone quiet without waiting for more', async () => {
    const running = await docker.createContainer({
      name: `${containerName}-running`,
      Image: (await ensureSandboxImage(docker)).image,
      User: '65534:65534',
      Cmd: ['/bin/sh', '-c', 'echo "worker ready"; sleep 600'],
      HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
      Labels: { 'sophia.test': 'logSources' },
    });
    try {
      await running.start();
      await waitFor(async () => (await running.logs({ stdout: true, follow: false })).toString().includes('worker ready'), 30_000, 'the first line');
      await logs.save({ name: 'worker', kind: 'docker', container: `${containerName}-running` });
      const result = await read({ source: 'worker' });
      expect(result.ok).toBe(true);
      expect(bodyOf(result.output)).toEqual([expect.stringMatching(/worker ready$/)]);
    } finally {
      await running.remove({ force: true });
      await logs.remove('worker');
    }
  });

  it('says so when the container is gone', async () => {
    await container.remove({ force: true });
    const gone = await read({ source: 'api' });
    expect(gone.ok).toBe(false);
    expect(gone.output).toContain(`Docker has no container named ${containerName} any more`);
  });
});

describe('a saved command in the sandbox as a log source', () => {
  const command = [
    `echo "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ) INFO nightly import ok"`,
    `echo "$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ) ERROR import failed: HTTP 429 key=${secret}"`,
    'echo "  at fetchPage (sync.js:12)"',
    'touch /workspace/written 2>&1 || true',
    'cat /workspace/README.txt',
  ].join('; ');

  it('runs in a sandbox container with the workspace read-only; its output is the log, windowed by its timestamps', async () => {
    await logs.save({ name: 'import', kind: 'command', command });
    const all = await read({ source: 'import' });
    expect(all.ok).toBe(true);
    expect(all.output).toContain('(in a sandbox container, workspace read-only, no network)');
    const lines = bodyOf(all.output);
    expect(lines[1]).toMatch(/ERROR import failed: HTTP 429 key=\[redacted:snowflake-password\]$/);
    expect(lines.some((line) => /Read-only file system/.test(line))).toBe(true);
    expect(lines.at(-1)).toBe('hello from the host');

    const recent = await read({ source: 'import', since: '1h' });
    expect(recent.output).toContain('applied by line timestamps');
    // The error, and the lines after it (no timestamp of their own: they belong to it).
    expect(bodyOf(recent.output)[0]).toContain('ERROR import failed');
    expect(bodyOf(recent.output)).not.toContainEqual(expect.stringContaining('nightly import ok'));
    const grep = await read({ source: 'import', grep: '429' });
    expect(grep.output).toContain('Lines: 1 matched, 1 returned');
    // Every container it used is gone.
    expect(await containersOf(sandbox.ownerId)).toEqual([]);
  });
});
