import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createDockerClient } from '../../../electron/sandbox/dockerClient';
import { defaultSandboxImage, ensureSandboxImage, recipeHash, sandboxRecipe } from '../../../electron/sandbox/sandboxImage';

const docker = createDockerClient();

describe('the sandbox image', () => {
  it('is tagged with the hash of its recipe, which changes with the recipe', () => {
    const image = defaultSandboxImage();
    expect(image).toBe(`sophia-sandbox:${recipeHash().slice(0, 16)}`);
    expect(recipeHash({ ...sandboxRecipe, packages: ['git'] } as unknown as typeof sandboxRecipe)).not.toBe(recipeHash());
  });

  it('is built once: asking again finds it and builds nothing', async () => {
    const started = performance.now();
    const result = await ensureSandboxImage(docker);
    expect(result).toMatchObject({ image: defaultSandboxImage(), built: false });
    expect(performance.now() - started).toBeLessThan(10_000);
    const info = await docker.getImage(defaultSandboxImage()).inspect();
    expect(info.Config.User).toBe('65532:65532');
    expect(info.Config.Env).toContain('HOME=/tmp');
  });

  it('runs git, Node.js and Python with the network off, and carries its recipe', async () => {
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const [result, container] = (await docker.run(
      defaultSandboxImage(),
      ['sh', '-c', 'node -v && git --version && python3 -V && cat /etc/sophia-sandbox-recipe'],
      sink,
      { User: '1000:1000', HostConfig: { NetworkMode: 'none' } },
    )) as [{ StatusCode: number }, Docker.Container];
    await container.remove({ force: true });
    expect(result.StatusCode).toBe(0);
    expect(output).toMatch(/^v\d+\.\d+/m);
    expect(output).toMatch(/^git version /m);
    expect(output).toMatch(/^Python 3\./m);
    expect(output).toContain(recipeHash());
  });
});
