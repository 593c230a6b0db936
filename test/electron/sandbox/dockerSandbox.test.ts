import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sophiaEvent } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import { execLimits } from '../../../electron/sandbox/dockerSandbox';
import { statusCodeOf } from '../../../electron/sandbox/dockerClient';
import type { Sandbox } from '../../../electron/sandbox/sandbox';
import { docker, makeWorkspace, newService } from './support';

const { service, events } = newService();
let workspace: Awaited<ReturnType<typeof makeWorkspace>>;
let box: Sandbox;

beforeAll(async () => {
  workspace = await makeWorkspace(true);
  expect((await service.start()).state).toBe('ready');
  box = await service.acquire('exec-tests', { workspace: workspace.dir, access: 'read-write' });
});

afterAll(async () => {
  await service.close();
  await workspace.remove();
});

describe('a sandbox runs commands', () => {
  it('streams stdout and stderr as they come, with the exit code and duration', async () => {
    const seen: string[] = [];
    const result = await box.exec('echo out; echo err >&2; sleep 0.2; echo late; exit 3', {
      onOutput: (stream, chunk) => seen.push(`${stream}:${chunk}`),
    });
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\nlate\n', stderr: 'err\n', timedOut: false, stopped: false, truncated: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(200);
    expect(seen.join('')).toContain('stdout:out\n');
    expect(seen.at(-1)).toBe('stdout:late\n');
  });

  it('tells the execution log what ran: started, output, ended, all valid contract events', async () => {
    const before = events.length;
    const result = await box.exec('echo logged');
    const mine = events.slice(before).filter((event) => 'taskId' in event && event.taskId === 'exec-tests');
    for (const event of mine) expect(sophiaEvent.safeParse(event).success).toBe(true);
    expect(mine.map((event) => event.type)).toEqual(['container.started', 'container.output', 'container.ended']);
    expect(mine[0]).toMatchObject({ type: 'container.started', execId: result.execId, command: 'echo logged' });
    expect(mine[1]).toMatchObject({ type: 'container.output', execId: result.execId, stream: 'stdout', chunk: 'logged\n' });
    expect(mine[2]).toMatchObject({ type: 'container.ended', execId: result.execId, exitCode: 0, timedOut: false, stopped: false });
  });

  it('passes an argv through untouched by the shell', async () => {
    const result = await box.exec(['printf', '%s|', "it's", 'a b', '$HOME', '`id`', 'x\ny']);
    expect(result.stdout).toBe("it's|a b|$HOME|`id`|x\ny|");
  });

  it('runs multi-line scripts and feeds standard input', async () => {
    const script = ['set -e', 'read -r first', 'cat > /tmp/rest', 'echo "first=$first"', 'wc -l < /tmp/rest'].join('\n');
    const result = await box.exec(script, { stdin: 'one\ntwo\nthree\n' });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'first=one\n2\n' });
    expect((await box.exec('cat')).stdout).toBe('');
  });

  it('runs one command at a time, in order', async () => {
    const first = box.exec('sleep 0.3; echo one');
    const second = box.exec('echo two');
    const [a, b] = await Promise.all([first, second]);
    const ended = events.find((event) => event.type === 'container.ended' && event.execId === a.execId);
    const started = events.find((event) => event.type === 'container.started' && event.execId === b.execId);
    expect(a.stdout).toBe('one\n');
    expect(b.stdout).toBe('two\n');
    expect(events.indexOf(started!)).toBeGreaterThan(events.indexOf(ended!));
  });

  it('keeps the first MiB of a flood of output and says it dropped the rest', async () => {
    const result = await box.exec('head -c 3000000 /dev/zero | tr "\\0" x');
    expect(result.exitCode).toBe(0);
    expect(result.truncated).toBe(true);
    expect(result.stdout.length).toBe(execLimits.keptBytes);
    const streamed = events
      .filter((event) => event.type === 'container.output' && event.execId === result.execId)
      .reduce((sum, event) => sum + (event.type === 'container.output' ? event.chunk.length : 0), 0);
    expect(streamed).toBeLessThan(execLimits.streamedBytes + 1000);
  });

  it('refuses empty commands and NUL bytes', async () => {
    await expect(box.exec('  ')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(box.exec('echo a\0b')).rejects.toBeInstanceOf(SophiaError);
  });
});

describe('files go in and out', () => {
  it('copies text and binary files into /tmp and back out unchanged', async () => {
    const binary = randomBytes(200_000);
    await box.copyIn('/tmp/in', [
      { path: 'notes/a.txt', content: Buffer.from('alpha\n') },
      { path: 'blob.bin', content: binary, mode: 0o600 },
    ]);
    expect((await box.exec('cat /tmp/in/notes/a.txt; stat -c %a /tmp/in/blob.bin')).stdout).toBe('alpha\n600\n');
    const out = await box.copyOut('/tmp/in');
    const byPath = new Map(out.map((file) => [file.path, file]));
    expect(Buffer.from(byPath.get('notes/a.txt')!.content).toString()).toBe('alpha\n');
    expect(Buffer.compare(Buffer.from(byPath.get('blob.bin')!.content), binary)).toBe(0);
    const single = await box.copyOut('/tmp/in/notes/a.txt');
    expect(single.map((file) => file.path)).toEqual(['a.txt']);
  });

  it('refuses paths that climb out', async () => {
    await expect(box.copyIn('/tmp', [{ path: '../etc/x', content: Buffer.from('x') }])).rejects.toMatchObject({ code: 'bad_request' });
    await expect(box.copyOut('relative/path')).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('writes into a workspace mounted writable, and the host sees it', async () => {
    await box.copyIn('/workspace', [{ path: 'from-sandbox.txt', content: Buffer.from('written inside\n') }]);
    expect(await readFile(path.join(workspace.dir, 'from-sandbox.txt'), 'utf8')).toBe('written inside\n');
  });

  it('cannot write into a read-only workspace', async () => {
    const readOnly = await service.acquire('exec-tests-ro', { workspace: workspace.dir, access: 'read-only' });
    try {
      expect((await readOnly.exec('cat /workspace/README.txt')).stdout).toBe('hello from the host\n');
      await expect(readOnly.copyIn('/workspace', [{ path: 'nope.txt', content: Buffer.from('x') }])).rejects.toMatchObject({ code: 'refused' });
    } finally {
      await readOnly.destroy();
    }
  });
});

describe('destroy', () => {
  it('ends a running command as stopped and removes the container', async () => {
    const doomed = await service.acquire('exec-tests-doomed');
    const running = doomed.exec('echo started; sleep 60');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = performance.now();
    await doomed.destroy();
    const result = await running;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({ stopped: true, exitCode: null, stdout: 'started\n' });
    const inspected = await docker.getContainer(doomed.containerId).inspect().catch((error: unknown) => statusCodeOf(error));
    expect(inspected).toBe(404);
    await expect(doomed.exec('echo again')).rejects.toMatchObject({ code: 'stopped' });
    await doomed.destroy();
  });
});
