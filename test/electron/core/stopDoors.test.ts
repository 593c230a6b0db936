/**
 * The emergency stop closes every door, not only the agent's: an outside MCP call in flight
 * and the server process behind it, adding or refreshing an outside server, the code index's
 * build worker, preparing the sandbox image and rolling back to a checkpoint. Each is ended
 * by Stop and refused until Resume.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodeIndexService } from '../../../electron/code/indexService';
import { dispatch } from '../../../electron/ipc/dispatch';
import { runTool } from '../../../electron/sandbox/sandboxImage';
import { mcpHarness, type McpHarness } from '../mcp/mcpHarness';

const fixture = path.resolve(import.meta.dirname, '../../fixtures/mcp/outsideServer.mjs');
const scratch = mkdtempSync(path.join(tmpdir(), 'sophia-stop-doors-'));
const pidFile = path.join(scratch, 'pids.txt');
const context = { transport: 'test' } as const;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const started = (): number[] => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n').filter((line) => /^\d+$/.test(line)).map(Number) : []);
const callsSeen = (): number => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n').filter((line) => line.startsWith('call ')).length : 0);

let h: McpHarness;
beforeAll(async () => {
  process.env['FIXTURE_PID_FILE'] = pidFile;
  process.env['FIXTURE_CALL_DELAY_MS'] = '60000';
  h = await mcpHarness();
  h.core.settings.update({
    mcpServers: [{ id: 'fixture', transport: 'stdio', command: process.execPath, args: [fixture], envNames: ['FIXTURE_PID_FILE', 'FIXTURE_CALL_DELAY_MS'] }],
  });
  await h.core.mcp.outside.refresh();
});
afterAll(async () => {
  await h.close();
  for (const pid of started()) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('Stop', () => {
  it('ends an outside MCP call in flight and the server process behind it; nothing starts one again until Resume', async () => {
    const [pid] = started();
    expect(pid && alive(pid)).toBe(true);
    const from = h.events.length;
    const call = h.core.registry.invoke('mcp_fixture_note', { text: 'slow' }, { conversationId: 'stop-doors', callId: 'call-1', signal: new AbortController().signal });
    const approval = await h.nextApproval(from);
    expect(await h.answer(approval.approvalId, 'approve')).toBe(true);
    await expect.poll(callsSeen, { timeout: 10_000 }).toBe(1);

    const report = await h.core.stop.stopAll();
    expect(report.stopped).toContainEqual(expect.objectContaining({ id: 'mcp-fixture', outcome: 'stopped' }));
    const outcome = await call;
    expect(outcome).toMatchObject({ kind: 'executed', result: { ok: false, output: expect.stringContaining('Stopped') } });
    await expect.poll(() => alive(pid!), { timeout: 10_000 }).toBe(false);
    expect(h.core.registry.definitions().some((tool) => tool.name.startsWith('mcp_fixture_'))).toBe(false);

    // Refreshing or adding a server (each starts a process) is refused while stopped.
    expect(await dispatch(h.core.handlers, 'mcp.refresh', {}, context)).toMatchObject({ ok: false, error: { code: 'stopped' } });
    const added = await dispatch(h.core.handlers, 'mcp.addServer', { server: { id: 'second', transport: 'stdio', command: process.execPath, args: [fixture], envNames: ['FIXTURE_PID_FILE'] } }, context);
    expect(added).toMatchObject({ ok: false, error: { code: 'stopped' } });
    expect(h.core.settings.get().mcpServers.map((server) => server.id)).toEqual(['fixture']);
    expect(started()).toHaveLength(1);

    // Resume starts the configured server again.
    await dispatch(h.core.handlers, 'stop.resume', {}, context);
    await expect.poll(() => started().length, { timeout: 15_000 }).toBe(2);
    await expect.poll(() => h.core.registry.definitions().some((tool) => tool.name === 'mcp_fixture_note'), { timeout: 15_000 }).toBe(true);
  });

  it('refuses to prepare the sandbox image and to roll back to a checkpoint until Resume', async () => {
    await h.core.stop.stopAll();
    try {
      expect(await dispatch(h.core.handlers, 'sandbox.prepare', {}, context)).toMatchObject({ ok: false, error: { code: 'stopped' } });
      const before = readFileSync(path.join(h.workspace, 'src', 'greet.ts'), 'utf8');
      const rolled = await dispatch(h.core.handlers, 'checkpoint.rollback', { conversationId: 'stop-doors', checkpointId: 'a1b2c3d4' }, context);
      expect(rolled).toMatchObject({ ok: false, error: { code: 'stopped' } });
      expect(readFileSync(path.join(h.workspace, 'src', 'greet.ts'), 'utf8')).toBe(before);
    } finally {
      await dispatch(h.core.handlers, 'stop.resume', {}, context);
    }
  });

  it('kills a step of the image build (debootstrap, tar) when the build is aborted', async () => {
    const abort = new AbortController();
    const step = runTool('sleep', ['60'], abort.signal);
    abort.abort();
    await expect(step).rejects.toThrow();
  });
});

describe('Stop and the code index', () => {
  const workerScript = pathToFileURL(path.resolve(import.meta.dirname, '../../../out/main/indexWorker.js'));

  it('terminates the build worker, builds nothing in its place, and refuses to index until Resume', async () => {
    if (!existsSync(workerScript)) throw new Error('out/main/indexWorker.js is missing: run `npm run build` first (npm test does).');
    const workspace = path.join(scratch, 'workspace');
    await mkdir(path.join(workspace, 'src'), { recursive: true });
    for (let i = 0; i < 2000; i += 1) await writeFile(path.join(workspace, 'src', `module${i}.ts`), `export function handler${i}(input: string): string {\n  return input + ${i};\n}\n`);
    const storeDir = path.join(scratch, 'index-store');
    const service = new CodeIndexService({ workspace: () => workspace, storeDir, watch: false, worker: workerScript });
    try {
      const building = service.index();
      building.catch(() => undefined);
      const stopped = await service.stopAll();
      expect(stopped).toEqual([expect.objectContaining({ label: 'code index build', outcome: 'stopped' })]);
      await expect(building).rejects.toMatchObject({ code: 'stopped' });
      expect(service.lastBuild).toBeUndefined();
      await expect(service.index()).rejects.toMatchObject({ code: 'stopped' });
      service.resume();
      expect((await service.index())?.size).toBe(2000);
    } finally {
      service.close();
    }
  });
});

writeFileSync(path.join(scratch, 'README'), 'scratch for stopDoors.test.ts\n');
