import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sandboxStatus, sophiaEvent } from '../../../shared/contract';
import { createSophiaCore } from '../../../electron/app/sophiaCore';
import { dispatch } from '../../../electron/ipc/dispatch';
import { createDockerClient } from '../../../electron/sandbox/dockerClient';
import { containerSpec, defaultLimits, labelKeys } from '../../../electron/sandbox/hardening';
import { defaultSandboxImage } from '../../../electron/sandbox/sandboxImage';
import { ownerLabels, ownerOf } from '../../../electron/sandbox/sandboxOwner';
import { containersOf, docker, newService, waitFor } from './support';

describe('killAll', () => {
  const { service, events } = newService({ poolSize: 2 });
  afterAll(() => service.close());

  it('stops and removes every container of the launch at once, busy or warm, and the pool waits for resume', async () => {
    expect((await service.start()).state).toBe('ready');
    await service.poolSettled(60_000);
    const boxes = await Promise.all([0, 1, 2].map((i) => service.acquire(`kill-${i}`)));
    const running = boxes.map((box) => box.exec('echo busy; while :; do :; done', { timeoutMs: 120_000 }));
    await waitFor(() => events.filter((e) => e.type === 'container.output' && e.chunk === 'busy\n').length === 3, 20_000, 'three busy commands');
    await service.poolSettled(60_000);
    expect((await containersOf(service.ownerId)).length).toBe(5);

    const started = performance.now();
    const stopped = await service.killAll();
    const elapsed = performance.now() - started;
    expect(stopped.length).toBe(5);
    expect(stopped.every((item) => item.kind === 'container' && item.outcome !== 'stuck')).toBe(true);
    expect(stopped.filter((item) => item.label.startsWith('sandbox of task kill-')).length).toBe(3);
    expect(elapsed).toBeLessThan(10_000);
    expect(await containersOf(service.ownerId)).toEqual([]);
    for (const result of await Promise.all(running)) expect(result).toMatchObject({ stopped: true, timedOut: false });

    // Paused: nothing is created until the stop is lifted.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await containersOf(service.ownerId)).toEqual([]);
    await expect(service.acquire('while-stopped')).rejects.toMatchObject({ code: 'stopped' });
    service.resume();
    await waitFor(() => service.pool.warm === 2, 60_000, 'the pool to refill after resume');
  });
});

describe('start-up clean-up', () => {
  it('removes containers of launches that ended, and leaves those of live launches alone', async () => {
    // A process that has ended: its pid names no one now.
    const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(ended.stdout.toString());
    const host = hostname();
    const make = async (name: string, labels: Record<string, string>) => {
      const spec = containerSpec({ image: defaultSandboxImage(), name, labels, workspace: undefined, access: 'read-only', limits: defaultLimits });
      // Started without Sophia's keeper stream, as after a crash: it runs until someone removes it.
      const container = await docker.createContainer({ ...spec, Entrypoint: ['/bin/sh', '-c', 'sleep 600'], OpenStdin: false, StdinOnce: false });
      await container.start();
      return container.id;
    };
    const orphan = await make(`sophia-test-orphan-${deadPid}`, {
      [labelKeys.app]: '1',
      [labelKeys.owner]: `${host}/${deadPid}/1`,
      [labelKeys.host]: host,
      [labelKeys.pid]: String(deadPid),
    });
    // The parent of this test process is alive, so its containers are not leftovers.
    const live = await make(`sophia-test-live-${process.ppid}`, ownerLabels(ownerOf(process.ppid)));
    try {
      const { service } = newService();
      expect((await service.start()).state).toBe('ready');
      const ids = (await docker.listContainers({ all: true })).map((info) => info.Id);
      expect(ids).not.toContain(orphan);
      expect(ids).toContain(live);
      await service.close();
    } finally {
      await docker.getContainer(live).remove({ force: true });
      await docker.getContainer(orphan).remove({ force: true }).catch(() => undefined);
    }
  });
});

describe('when Docker cannot be reached', () => {
  const unreachable = () => createDockerClient({ socketPath: '/nonexistent/docker.sock' });

  it('says so plainly, with how to start it, and refuses sandboxes with a typed error', async () => {
    const { service, events } = newService({ docker: unreachable() });
    const status = await service.start();
    expect(sandboxStatus.parse(status).state).toBe('docker-unavailable');
    expect(status.message).toMatch(/Docker is not running/);
    expect(status.message).toMatch(/systemctl start docker|Docker Desktop/);
    await expect(service.acquire('no-docker')).rejects.toMatchObject({ code: 'unavailable' });
    expect(await service.killAll()).toEqual([]);
    expect(events.some((event) => event.type === 'sandbox.status' && event.status.state === 'docker-unavailable')).toBe(true);
    await service.close();
  });

  it('does not keep the core from starting: status, settings and the stop still work', async () => {
    const { service } = newService({ docker: unreachable() });
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sophia-core-'));
    const core = createSophiaCore({ host: 'browser', dataDir, sandbox: service });
    core.startAfterWindow();
    try {
      await waitFor(() => service.status().state === 'docker-unavailable', 10_000, 'the sandbox status');
      const context = { transport: 'test' as const };
      expect(await dispatch(core.handlers, 'app.status', {}, context)).toMatchObject({ ok: true });
      expect(await dispatch(core.handlers, 'settings.get', {}, context)).toMatchObject({ ok: true });
      const status = await dispatch(core.handlers, 'sandbox.status', {}, context);
      expect(status).toMatchObject({ ok: true, value: { state: 'docker-unavailable' } });
      const check = await dispatch(core.handlers, 'sandbox.check', {}, context);
      expect(check).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      expect(await dispatch(core.handlers, 'stop.all', {}, context)).toMatchObject({ ok: true });
    } finally {
      await core.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('a named image that is not here', () => {
  it('is reported as missing, with what to do', async () => {
    const { service } = newService({ image: 'sophia-sandbox:not-on-this-machine' });
    const status = await service.start();
    expect(status.state).toBe('image-missing');
    expect(status.message).toMatch(/not on this machine/);
    await expect(service.acquire('no-image')).rejects.toMatchObject({ code: 'unavailable' });
    // A named image is the user's to provide: prepare checks again but builds nothing.
    expect((await service.prepare()).state).toBe('image-missing');
    await service.close();
  });
});

describe('the core', () => {
  it('runs the sandbox check through the contract, with the execution log fed by events', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sophia-core-'));
    const core = createSophiaCore({ host: 'browser', dataDir });
    const events: unknown[] = [];
    core.events.subscribe((event) => events.push(event));
    core.startAfterWindow();
    try {
      const context = { transport: 'test' as const };
      await waitFor(() => core.sandbox.status().state === 'ready', 30_000, 'the sandbox to be ready');
      const check = await dispatch(core.handlers, 'sandbox.check', {}, context);
      expect(check).toMatchObject({ ok: true, value: { exitCode: 0, timedOut: false } });
      const output = check.ok ? (check.value as { output: string }).output : '';
      expect(output).toMatch(/^v\d+/m);
      expect(output).toMatch(/git version/);
      expect(output).toMatch(/Python 3/);
      const types = events.map((event) => sophiaEvent.parse(event).type);
      expect(types).toContain('container.started');
      expect(types).toContain('container.output');
      expect(types).toContain('container.ended');
      // The stop reaches the sandbox through the core's stopper.
      const sandbox = await core.sandbox.acquire('core-stop');
      const running = sandbox.exec('echo sleeping; sleep 60');
      const startedSleeping = (): boolean =>
        events.some((event) => {
          const parsed = sophiaEvent.parse(event);
          return parsed.type === 'container.output' && parsed.taskId === 'core-stop';
        });
      await waitFor(startedSleeping, 10_000, 'the command to start');
      const report = await dispatch(core.handlers, 'stop.all', {}, context);
      expect(report).toMatchObject({ ok: true });
      expect(JSON.stringify(report)).toContain('sandbox of task core-stop');
      expect(await running).toMatchObject({ stopped: true });
      await expect(core.sandbox.acquire('after-stop')).rejects.toMatchObject({ code: 'stopped' });
    } finally {
      await core.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
