/**
 * The sandbox image reaches another engine with no registry: `docker save` on this machine's
 * engine streamed into `docker load` on the other, checked by image id, abortable.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SophiaError } from '../../../shared/errors';
import { createDockerClient, imageExists } from '../../../electron/sandbox/dockerClient';
import { ensureImageOnEngine, type TransferProgress } from '../../../electron/sandbox/engines/imageTransfer';
import { startRegistryStandIn } from '../../support/standIns/registryStandIn';
import { engineOn, makeImage, removeImage, startPodman, type TestEngine } from './fleetSupport';

const local = createDockerClient();

describe('ensureImageOnEngine', () => {
  let second: TestEngine;
  const made: string[] = [];

  beforeAll(async () => {
    second = await startPodman('transfer-target');
  });

  afterAll(async () => {
    for (const image of made) await removeImage(local, image);
    await second?.stop();
  });

  it('sends an image the target lacks, with progress, and finds it there the second time', async () => {
    const { image, id } = await makeImage(local, 6 * 1024 * 1024);
    made.push(image);
    const target = second.engine.docker();
    expect(await imageExists(target, image)).toBe(false);

    const progress: TransferProgress[] = [];
    const result = await ensureImageOnEngine({ from: local, to: second.engine, image, named: false, onProgress: (p) => progress.push(p) });

    expect(result).toMatchObject({ image, transferred: true });
    expect(result.bytes).toBeGreaterThan(6 * 1024 * 1024);
    expect((await target.getImage(image).inspect()).Id).toBe(id);
    const phases = progress.map((p) => p.phase);
    expect(phases[0]).toBe('checking');
    expect(phases).toContain('saving');
    expect(phases).toContain('loading');
    expect(phases.at(-1)).toBe('done');
    // Bytes only grow, and each report says about how many there are.
    const saving = progress.filter((p) => p.phase === 'saving' || p.phase === 'loading');
    expect(saving.every((p, i) => i === 0 || p.bytes >= (saving[i - 1]?.bytes ?? 0))).toBe(true);
    expect(saving.every((p) => p.totalBytes !== undefined && p.totalBytes >= 6 * 1024 * 1024)).toBe(true);

    const again = await ensureImageOnEngine({ from: local, to: second.engine, image, named: false });
    expect(again).toMatchObject({ image, transferred: false, bytes: 0 });
  });

  it('stops when aborted mid-stream: both streams end and the target has no image', async () => {
    const { image } = await makeImage(local, 48 * 1024 * 1024);
    made.push(image);
    const abort = new AbortController();
    const outcome = ensureImageOnEngine({
      from: local,
      to: second.engine,
      image,
      named: false,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.phase === 'saving' && p.bytes > 0) abort.abort();
      },
    });
    await expect(outcome).rejects.toMatchObject({ code: 'stopped' });
    expect(abort.signal.aborted).toBe(true);
    expect(await imageExists(second.engine.docker(), image)).toBe(false);
  });

  it('says plainly when no engine has the image to send', async () => {
    const missing = 'sophia-transfer-test:0000missing0000';
    await expect(ensureImageOnEngine({ from: local, to: second.engine, image: missing, named: false })).rejects.toThrow(/on neither this machine nor .*Build it here first/);
    await expect(ensureImageOnEngine({ from: undefined, to: second.engine, image: missing, named: false })).rejects.toThrow(/no Docker on this machine.*Build it on a machine with Docker first/);
  });

  it('refuses a name that is not an image reference', async () => {
    await expect(ensureImageOnEngine({ from: local, to: second.engine, image: '../../containers/json?', named: false })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('has the target engine pull a named registry image, its progress lines passed on; a missing one is said plainly', async () => {
    const registry = await startRegistryStandIn();
    const target = engineOn(local, 'local', 'local');
    try {
      const progress: TransferProgress[] = [];
      const result = await ensureImageOnEngine({ from: undefined, to: target, image: registry.image, named: true, onProgress: (p) => progress.push(p) });
      expect(result).toMatchObject({ image: registry.image, transferred: true });
      expect((await local.getImage(registry.image).inspect()).Id).toBe(registry.imageId);
      const lines = progress.filter((p) => p.phase === 'pulling').map((p) => p.line ?? '');
      expect(lines.some((line) => /Pull complete|Downloaded newer image|Status/i.test(line))).toBe(true);
      expect(registry.requests.some((request) => request.startsWith('GET /v2/sophia/pull-test/blobs/sha256:'))).toBe(true);
      expect(progress.at(-1)?.phase).toBe('done');

      const before = registry.requests.length;
      expect(await ensureImageOnEngine({ from: undefined, to: target, image: registry.image, named: true })).toMatchObject({ transferred: false });
      expect(registry.requests.length).toBe(before);

      const missing = registry.image.replace(/:v1$/, ':nope');
      await expect(ensureImageOnEngine({ from: undefined, to: target, image: missing, named: true })).rejects.toThrow(/could not pull .*:nope/);
    } finally {
      await removeImage(local, registry.image);
      await registry.close();
    }
  });

  it('fails closed when the target loads another image than the one sent, and removes that tag', async () => {
    const { image } = await makeImage(local, 64 * 1024);
    made.push(image);
    const removed: string[] = [];
    let loaded = false;
    // A target that takes the whole stream and then reports another image under the tag.
    const stub = {
      getImage: (name: string) => ({
        inspect: () => (loaded ? Promise.resolve({ Id: 'sha256:' + 'f'.repeat(64), Size: 1 }) : Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 }))),
        remove: () => {
          removed.push(name);
          return Promise.resolve();
        },
      }),
      loadImage: async (stream: NodeJS.ReadableStream) => {
        for await (const chunk of stream) void chunk;
        loaded = true;
        const reply = new PassThrough();
        reply.end(JSON.stringify({ stream: `Loaded image: ${image}\n` }) + '\n');
        return reply;
      },
    } as unknown as Docker;
    const outcome = ensureImageOnEngine({ from: local, to: engineOn(stub, 'liar', 'tls'), image, named: false });
    await expect(outcome).rejects.toThrow(/loaded an image other than the one sent/);
    await expect(outcome).rejects.toBeInstanceOf(SophiaError);
    expect(removed).toEqual([image]);
  });
});
