/**
 * A workspace's own sandbox image, on the real Docker engine: a Dockerfile FROM the default
 * image is built (no network) and hardened like the default one, even when it asks for root
 * and setuid programs; a devcontainer.json pointing at it works; a missing base image and a
 * malformed devcontainer.json fail plainly; the sandbox service hands tasks (pooled ones too)
 * the workspace's image once the person chose it.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { defaultSandboxImage, sandboxRecipe } from '../../../electron/sandbox/sandboxImage';
import {
  baseImagesOf,
  ensureWorkspaceImage,
  readWorkspaceImagePlan,
  workspaceImageLabels,
  workspaceImageName,
  workspaceImageRepository,
} from '../../../electron/sandbox/workspaceImage';
import { chosenWorkspaceImage, workspaceImageHandlers } from '../../../electron/sandbox/sandboxHandlers';
import { docker, newService } from './support';

const made: string[] = [];
/** A build and its export/import move the base image's size twice: minutes on a loaded 2-core machine (a bound on waiting). */
const buildTimeoutMs = 900_000;
const images = new Set<string>();

async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sophia-wsimage-'));
  made.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  await chmod(dir, 0o755);
  return dir;
}

// Each hardened image is one flattened layer (the size of its base): removing them takes a while on a loaded machine.
afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
  await Promise.all([...images].map((image) => docker.getImage(image).remove({ force: true }).catch(() => undefined)));
}, 900_000);

/** A Dockerfile that tries to stay root and leave setuid/setgid programs behind. */
const hostile = (marker: string): string => `FROM ${defaultSandboxImage()}
USER root
COPY hello.txt /opt/hello.txt
RUN cp /bin/true /usr/local/bin/suid-true && chmod 4755 /usr/local/bin/suid-true && chmod 2755 /opt/hello.txt \\
 && echo "rogue:x:0:0::/root:/bin/sh" >> /etc/passwd \\
 && (curl -sS --max-time 5 http://deb.debian.org/ >/dev/null 2>&1 && echo network > /opt/net || echo no-network > /opt/net) \\
 && echo ${marker} > /opt/marker
USER root
WORKDIR /root
ENV FROM_DOCKERFILE=yes
`;

async function run(image: string, script: string, user = '1000:1000'): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({ Image: image, Entrypoint: ['/bin/sh', '-c', script], Cmd: [], User: user, NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    let output = '';
    const sink = { write: (chunk: Buffer) => (output += chunk.toString()) };
    docker.modem.demuxStream(stream, sink as unknown as NodeJS.WritableStream, sink as unknown as NodeJS.WritableStream);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { code: StatusCode, output };
  } finally {
    await container.remove({ force: true });
  }
}

describe("a workspace's Dockerfile", () => {
  it('reads FROM lines without stage names', () => {
    expect(baseImagesOf('FROM node:20 AS build\nRUN x\nFROM --platform=linux/amd64 build\nFROM debian:12\n')).toEqual(['node:20', 'debian:12']);
  });

  it('is built with no network, then hardened like the default image, with progress, and rebuilt only when its inputs change', { timeout: buildTimeoutMs }, async () => {
    const dir = await workspace({ Dockerfile: hostile('first'), 'hello.txt': 'hello from the workspace image\n' });
    const progress: string[] = [];
    const first = await ensureWorkspaceImage(docker, dir, 'dockerfile', { onProgress: (line) => progress.push(line) });
    images.add(first.image);
    expect(first.built).toBe(true);
    expect(first.image.startsWith(`${workspaceImageRepository}:`)).toBe(true);
    // Progress: Docker's own steps, then the hardening.
    expect(progress.some((line) => /^Step \d+\/\d+ : FROM /.test(line))).toBe(true);
    expect(progress.some((line) => line.startsWith('Hardening the image'))).toBe(true);

    // docker inspect: the default image's settings, whatever the Dockerfile said.
    const info = await docker.getImage(first.image).inspect();
    const defaults = await docker.getImage(defaultSandboxImage()).inspect();
    expect(info.Config.User).toBe(defaults.Config.User);
    expect(info.Config.User).toBe('65532:65532');
    expect(info.Config.WorkingDir).toBe('/workspace');
    expect(info.Config.Env).toContain('HOME=/tmp');
    expect(info.Config.Env).toContain('FROM_DOCKERFILE=yes');
    expect(info.Config.Labels?.[workspaceImageLabels.hardened]).toBe('1');
    expect(info.Config.Labels?.[workspaceImageLabels.source]).toBe('dockerfile');
    expect(info.RootFS.Layers).toHaveLength(1);
    // The unhardened build is not left behind.
    expect((await docker.listImages({ filters: { reference: [`${workspaceImageRepository}-unhardened`] } })).length).toBe(0);

    // exec: its file is there, no setuid/setgid file anywhere, the sandbox users, and the build had no network.
    const checked = await run(
      first.image,
      'cat /opt/hello.txt; cat /opt/net; echo "suid=$(find / -xdev -type f -perm /6000 2>/dev/null | wc -l)"; grep "^sophia" /etc/passwd; id -u',
    );
    expect(checked.code).toBe(0);
    expect(checked.output).toContain('hello from the workspace image');
    expect(checked.output).toContain('no-network');
    expect(checked.output).toContain('suid=0');
    for (const user of sandboxRecipe.users) expect(checked.output).toContain(`${user.name}:x:${user.uid}:${user.uid}:`);
    expect(checked.output).toMatch(/^1000$/m);

    // Asked again: the same inputs, the same image, nothing built.
    const again = await ensureWorkspaceImage(docker, dir, 'dockerfile');
    expect(again).toMatchObject({ image: first.image, built: false });
    // A changed input (one file of the context) is a new tag.
    await writeFile(path.join(dir, 'hello.txt'), 'changed\n');
    expect((await workspaceImageName(docker, dir, 'dockerfile')).image).not.toBe(first.image);
  });

  it('whose base image is not on this machine fails plainly, without trying a registry', async () => {
    const dir = await workspace({ Dockerfile: 'FROM registry.invalid/nobody/nothing:1\nRUN true\n' });
    await expect(ensureWorkspaceImage(docker, dir, 'dockerfile')).rejects.toThrow(/base image registry\.invalid\/nobody\/nothing:1 is not on this machine.*does not pull/);
  });

  it('that fails to build says which step and why', { timeout: buildTimeoutMs }, async () => {
    const dir = await workspace({ Dockerfile: `FROM ${defaultSandboxImage()}\nUSER root\nRUN echo about to fail && exit 3\n` });
    await expect(ensureWorkspaceImage(docker, dir, 'dockerfile')).rejects.toThrow(/Building Dockerfile failed: .*returned a non-zero code: 3/);
    // The same inputs are not built again (the warm pool retries): the same error, no build step.
    const progress: string[] = [];
    await expect(ensureWorkspaceImage(docker, dir, 'dockerfile', { onProgress: (line) => progress.push(line) })).rejects.toThrow(/non-zero code: 3/);
    expect(progress).toEqual([]);
  });
});

describe("a workspace's devcontainer.json", () => {
  it('pointing at a Dockerfile builds it with containerEnv, and never runs its lifecycle commands', { timeout: buildTimeoutMs }, async () => {
    const dir = await workspace({
      'Dockerfile': hostile('devcontainer'),
      'hello.txt': 'hello via devcontainer\n',
      '.devcontainer/devcontainer.json': `{
        // JSON with comments, as VS Code writes it
        "name": "demo",
        "build": { "dockerfile": "../Dockerfile", "context": ".." },
        "containerEnv": { "GREETING": "hello there" },
        "postCreateCommand": "touch /tmp/sophia-postcreate-ran",
        "runArgs": ["--privileged"],
        "capAdd": ["SYS_ADMIN"],
      }`,
    });
    const plan = await readWorkspaceImagePlan(dir, 'devcontainer');
    expect(plan).toMatchObject({ dockerfile: 'Dockerfile', context: '.', containerEnv: { GREETING: 'hello there' } });
    expect(plan.ignored).toEqual(['capAdd', 'postCreateCommand', 'runArgs']);
    const result = await ensureWorkspaceImage(docker, dir, 'devcontainer');
    images.add(result.image);
    const info = await docker.getImage(result.image).inspect();
    expect(info.Config.Labels?.[workspaceImageLabels.source]).toBe('devcontainer');
    expect(info.Config.User).toBe('65532:65532');
    const checked = await run(result.image, 'echo "$GREETING"; cat /opt/marker; ls /tmp');
    expect(checked.output).toContain('hello there');
    expect(checked.output).toContain('devcontainer');
    expect(checked.output).not.toContain('sophia-postcreate-ran');
  });

  it('naming an image uses that image, hardened', { timeout: buildTimeoutMs }, async () => {
    const dir = await workspace({ '.devcontainer/devcontainer.json': JSON.stringify({ image: defaultSandboxImage(), containerEnv: { IN_IMAGE: '1' } }) });
    const result = await ensureWorkspaceImage(docker, dir, 'devcontainer');
    images.add(result.image);
    const info = await docker.getImage(result.image).inspect();
    expect(info.Config.Env).toContain('IN_IMAGE=1');
    expect(info.Config.Labels?.[workspaceImageLabels.hardened]).toBe('1');
  });

  it('malformed, or reaching outside the workspace, or using Compose, is refused plainly', async () => {
    const broken = await workspace({ '.devcontainer/devcontainer.json': '{ "image": ' });
    await expect(readWorkspaceImagePlan(broken, 'devcontainer')).rejects.toThrow(/devcontainer\.json is not valid JSON/);
    const outside = await workspace({ '.devcontainer/devcontainer.json': JSON.stringify({ build: { dockerfile: '../../../../etc/hostname' } }) });
    await expect(readWorkspaceImagePlan(outside, 'devcontainer')).rejects.toThrow(/outside the workspace|does not exist in the workspace/);
    const compose = await workspace({ '.devcontainer/devcontainer.json': JSON.stringify({ dockerComposeFile: 'compose.yml', service: 'app' }) });
    await expect(readWorkspaceImagePlan(compose, 'devcontainer')).rejects.toThrow(/Docker Compose/);
    const neither = await workspace({ '.devcontainer/devcontainer.json': JSON.stringify({ name: 'x' }) });
    await expect(readWorkspaceImagePlan(neither, 'devcontainer')).rejects.toThrow(/neither an "image" nor a "build.dockerfile"/);
  });
});

describe('Settings: what would be built, and the choice per folder', () => {
  it('describes both sources without building, and says which one the person chose for this folder only', async () => {
    const dir = await workspace({
      Dockerfile: `FROM ${defaultSandboxImage()}\nRUN true\n`,
      '.devcontainer/devcontainer.json': JSON.stringify({ image: 'nothing.invalid/x:1', postStartCommand: 'rm -rf /', containerEnv: { A: 'b' } }),
    });
    const other = await workspace({ Dockerfile: 'FROM scratch\n' });
    const choices = [{ workspace: dir, source: 'dockerfile' as const }];
    expect(chosenWorkspaceImage(choices, dir)).toBe('dockerfile');
    expect(chosenWorkspaceImage(choices, other)).toBeUndefined();
    const described = await workspaceImageHandlers(() => dir, () => choices, () => docker)['sandbox.workspaceImage']({}, { transport: 'test' });
    expect(described.chosen).toBe('dockerfile');
    const [dockerfile, devcontainer] = described.options;
    expect(dockerfile).toMatchObject({ source: 'dockerfile', file: 'Dockerfile', dockerfile: 'Dockerfile', context: '.', baseImages: [defaultSandboxImage()], built: false });
    expect(dockerfile?.tag).toMatch(/^sophia-workspace:[0-9a-f]{16}$/);
    expect(devcontainer).toMatchObject({ source: 'devcontainer', image: 'nothing.invalid/x:1', containerEnv: ['A'], ignored: ['postStartCommand'], built: false });
    // Nothing was built by describing.
    expect(await docker.getImage(dockerfile?.tag ?? '').inspect().then(() => true, () => false)).toBe(false);
    const none = await workspaceImageHandlers(() => other, () => choices, () => docker)['sandbox.workspaceImage']({}, { transport: 'test' });
    expect(none.chosen).toBe('');
    expect(none.options[1]?.error).toMatch(/dev container file .* does not exist/);
  });
});

describe('the sandbox service and a workspace image', () => {
  it('hands tasks (pooled ones too) the image chosen for the workspace, with the same run-time hardening, and reports the build in its status', { timeout: buildTimeoutMs }, async () => {
    const dir = await workspace({ Dockerfile: hostile('service'), 'hello.txt': 'hello from the pool\n' });
    const expected = (await workspaceImageName(docker, dir, 'dockerfile')).image;
    images.add(expected);
    const events: SophiaEvent[] = [];
    const { service } = newService({ poolSize: 1, workspace: () => dir, workspaceImage: (folder) => (folder === dir ? 'dockerfile' : undefined), publish: (event) => events.push(event) });
    try {
      expect((await service.start()).state).toBe('ready');
      expect(await service.poolSettled(buildTimeoutMs)).toBe(true);
      expect(events.some((event) => event.type === 'sandbox.status' && event.status.message.startsWith("Building the workspace's sandbox image: "))).toBe(true);
      const box = await service.acquire('wsimage-task', { workspace: dir });
      try {
        const container = await docker.getContainer(box.containerId).inspect();
        expect(container.Config.Image).toBe(expected);
        expect(container.HostConfig.NetworkMode).toBe('none');
        expect(container.HostConfig.ReadonlyRootfs).toBe(true);
        expect(container.HostConfig.CapDrop).toEqual(['ALL']);
        const result = await box.exec(['/bin/sh', '-c', 'cat /opt/hello.txt; id -u; cat /opt/marker'], { timeoutMs: 30_000 });
        expect(result.exitCode).toBe(0);
        expect(result.stdout).toContain('hello from the pool');
        expect(result.stdout).not.toMatch(/^0$/m);
      } finally {
        await box.destroy();
      }
      // Another folder (not chosen) gets the default image.
      const other = await workspace({ Dockerfile: 'FROM scratch\n' });
      const plain = await service.acquire('wsimage-other', { workspace: other });
      try {
        expect((await docker.getContainer(plain.containerId).inspect()).Config.Image).toBe(defaultSandboxImage());
      } finally {
        await plain.destroy();
      }
    } finally {
      await service.close();
    }
  });
});
