import { describe, expect, it } from 'vitest';
import { EventHub } from '../../../electron/core/eventHub';
import { StopController } from '../../../electron/core/stopController';
import { createSophiaCore } from '../../../electron/app/sophiaCore';
import type { SophiaEvent, StoppedItem } from '../../../shared/contract';
import { tempDataDir } from '../../support/hostFixture';

describe('StopController', () => {
  it('runs every stopper, reports what they stopped, and locks', async () => {
    const events = new EventHub();
    const seen: SophiaEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const stop = new StopController(events);
    stop.register('streams', async () => [{ kind: 'model-stream', id: 's1', label: 'reply', outcome: 'stopped' }]);
    stop.register('broken', async () => {
      throw new Error('boom');
    });
    stop.register('containers', async () => [{ kind: 'container', id: 'c1', label: 'task 1', outcome: 'stuck' }]);

    const report = await stop.stopAll();

    expect(report.stopped.map((item) => item.id).sort()).toEqual(['broken', 'c1', 's1']);
    expect(report.stopped.find((item) => item.id === 'broken')?.outcome).toBe('stuck');
    expect(stop.locked).toBe(true);
    expect(seen).toEqual([{ type: 'stop', report }]);
    expect(() => stop.assertRunning()).toThrow(expect.objectContaining({ code: 'stopped' }));
    stop.resume();
    expect(() => stop.assertRunning()).not.toThrow();
  });

  it('gives a stopper that asks for it a longer bound than the default, asked at each stop', async () => {
    const stop = new StopController(new EventHub(), { stopperTimeoutMs: 50 });
    let bound: number | undefined = 10_000;
    // Takes four times the default bound, far inside its own.
    const fleet = (): Promise<StoppedItem[]> =>
      new Promise((resolve) => setTimeout(() => resolve([{ kind: 'engine', id: 'far', label: 'Far host', outcome: 'unreachable' }]), 200));
    stop.register('fleet', fleet, { kind: 'container', label: 'sandboxes', timeoutMs: () => bound });
    stop.register('slow', () => new Promise(() => undefined), { kind: 'task', label: 'slow thing' });
    expect((await stop.stopAll()).stopped).toEqual([
      { kind: 'engine', id: 'far', label: 'Far host', outcome: 'unreachable' },
      { kind: 'task', id: 'slow', label: 'slow thing', outcome: 'stuck' },
    ]);
    stop.resume();

    // Without a remote engine the fleet asks for nothing: the default bound applies.
    bound = undefined;
    const second = await stop.stopAll();
    expect(second.stopped.find((item) => item.id === 'fleet')).toEqual({ kind: 'container', id: 'fleet', label: 'sandboxes', outcome: 'stuck' });
  });

  it('locks before the stoppers run, so nothing starts while they do', async () => {
    const stop = new StopController(new EventHub());
    let lockedDuringStop: boolean | undefined;
    stop.register('probe', async () => {
      lockedDuringStop = stop.locked;
      return [];
    });
    await stop.stopAll();
    expect(lockedDuringStop).toBe(true);
  });

  it('refuses chat while stopped, through the core', async () => {
    const core = createSophiaCore({ host: 'browser', dataDir: tempDataDir() });
    await core.handlers['stop.all']({}, { transport: 'test' });
    expect(() => core.handlers['chat.send']({ text: 'hi' }, { transport: 'test' })).toThrow(
      expect.objectContaining({ code: 'stopped' }),
    );
    expect(core.status().locked).toBe(true);
  });
});
