import { afterAll, describe, expect, it } from 'vitest';
import { SandboxPool } from '../../../electron/sandbox/sandboxPool';
import { containersOf, newService, waitFor } from './support';

interface Fake {
  readonly id: number;
  alive: boolean;
}

function fakePool(size: number, createMs = 20, fail = () => false) {
  let highWater = 0;
  const created: Fake[] = [];
  const discarded: Fake[] = [];
  const pool: SandboxPool<Fake> = new SandboxPool<Fake>({
    size,
    create: async () => {
      highWater = Math.max(highWater, pool.warm + pool.creating);
      await new Promise((resolve) => setTimeout(resolve, createMs));
      if (fail()) throw new Error('engine said no');
      const item = { id: created.length, alive: true };
      created.push(item);
      return item;
    },
    discard: async (item) => void discarded.push(item),
    isAlive: (item) => item.alive,
  });
  return { pool, discarded, created, highWater: () => highWater };
}

describe('the warm pool (its rules, with stand-in items)', () => {
  it('fills to its size in the background and never holds more', async () => {
    const { pool, highWater } = fakePool(3);
    pool.resume();
    expect(await pool.settled(5000)).toBe(true);
    expect(pool.warm).toBe(3);
    for (let i = 0; i < 20; i++) {
      pool.take();
      expect(pool.warm + pool.creating).toBeLessThanOrEqual(3);
    }
    expect(await pool.settled(5000)).toBe(true);
    expect(pool.warm).toBe(3);
    expect(highWater()).toBeLessThanOrEqual(3);
    await pool.close();
  });

  it('hands out nothing rather than waiting when empty, and skips dead items', async () => {
    const { pool, discarded, created } = fakePool(2, 50);
    expect(pool.take()).toBeUndefined();
    pool.resume();
    await pool.settled(5000);
    expect(created.length).toBe(2);
    created[0]!.alive = false;
    expect(pool.take()).toBe(created[1]);
    expect(discarded).toEqual([created[0]]);
    await pool.close();
  });

  it('discards a creation that finishes while paused, and creates nothing until resumed', async () => {
    const { pool, discarded } = fakePool(2, 100);
    pool.resume();
    await new Promise((resolve) => setTimeout(resolve, 20));
    pool.pause();
    await pool.settled(5000);
    expect(pool.warm).toBe(0);
    expect(discarded.length).toBe(1);
    pool.resume();
    expect(await pool.settled(5000)).toBe(true);
    expect(pool.warm).toBe(2);
    await pool.close();
  });

  it('backs off after a failed creation instead of spinning', async () => {
    let attempts = 0;
    const { pool } = fakePool(2, 1, () => ++attempts <= 100);
    pool.resume();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(attempts).toBeLessThanOrEqual(3);
    await pool.close();
  });
});

describe('the warm pool on the real engine', () => {
  const { service } = newService({ poolSize: 2 });
  afterAll(() => service.close());

  it('hands out warm containers at once, refills in the background, and never exceeds its size', async () => {
    expect((await service.start()).state).toBe('ready');
    expect(await service.poolSettled(60_000)).toBe(true);
    let maxWarmContainers = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const warm = (await containersOf(service.ownerId)).filter((c) => c.role === 'pool' && c.name.startsWith('/sophia-warm-'));
        maxWarmContainers = Math.max(maxWarmContainers, warm.length);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const handouts: number[] = [];
    const boxes = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      boxes.push(await service.acquire(`pool-${i}`));
      handouts.push(performance.now() - started);
    }
    // The first two came from the pool: no container was created while the task waited.
    expect(Math.max(handouts[0]!, handouts[1]!)).toBeLessThan(Math.min(...handouts.slice(2)));
    for (const box of boxes) expect((await box.exec('echo ok')).stdout).toBe('ok\n');
    await Promise.all(boxes.map((box) => box.destroy()));
    await waitFor(() => service.pool.warm === 2, 60_000, 'the pool to refill');
    sampling = false;
    await sampler;
    expect(maxWarmContainers).toBeLessThanOrEqual(2);
    expect(service.pool.warm + service.pool.creating).toBeLessThanOrEqual(2);
    const remaining = await containersOf(service.ownerId);
    expect(remaining.filter((c) => c.role === 'pool').length).toBe(2);
    expect(remaining.filter((c) => c.role !== 'pool').length).toBe(0);
  });
});
