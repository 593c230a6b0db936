/**
 * A workspace's own sandbox image, in Chromium against the BUILT app: Settings → Sandbox shows
 * what the workspace's Dockerfile would build (and that its devcontainer.json's lifecycle
 * command is ignored), the person chooses it for this folder, and the next sandbox (the
 * sandbox check) runs in the hardened workspace image, built with its progress in the status.
 * Real Docker; the Dockerfile starts FROM the default image (no registry here).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '../../electron/sandbox/dockerClient';
import { defaultSandboxImage } from '../../electron/sandbox/sandboxImage';
import { startServedApp, type ServedApp } from '../support/servedApp';
import { launchChromium, screenshot, watchPage, type PageProblems } from './support/chromium';

let app: ServedApp;
let browser: Browser;
let page: Page;
let watched: PageProblems;
let workspace: string;
const docker = createDockerClient();
const built: string[] = [];

beforeAll(async () => {
  workspace = mkdtempSync(path.join(tmpdir(), 'sophia-e2e-wsimage-'));
  writeFileSync(path.join(workspace, 'Dockerfile'), `FROM ${defaultSandboxImage()}\nUSER root\nCOPY tool.txt /opt/tool.txt\nRUN chmod 4755 /opt/tool.txt\n`);
  writeFileSync(path.join(workspace, 'tool.txt'), 'from the workspace image\n');
  mkdirSync(path.join(workspace, '.devcontainer'));
  writeFileSync(path.join(workspace, '.devcontainer', 'devcontainer.json'), '{ "build": { "dockerfile": "../Dockerfile", "context": ".." }, "postCreateCommand": "echo never" }');
  chmodSync(workspace, 0o755);
  app = await startServedApp();
  await app.request('settings.set', { workspace });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  watched = watchPage(page);
  await page.goto(app.url);
  await page.getByText('Connected', { exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  rmSync(workspace, { recursive: true, force: true });
  for (const image of built) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
});

describe("a workspace's own sandbox image, chosen in Settings", () => {
  it('shows what would be built, and once chosen the next sandbox runs in it, hardened', async () => {
    const first = page.getByTestId('first-run');
    if (await first.count()) await first.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const section = page.getByTestId('workspace-image');
    await section.scrollIntoViewIfNeeded();
    const dockerfile = section.getByTestId('workspace-image-dockerfile');
    await expect.poll(() => dockerfile.innerText()).toContain(`From: ${defaultSandboxImage()}`);
    expect(await dockerfile.innerText()).toContain('not built yet');
    expect(await section.getByTestId('workspace-image-devcontainer').innerText()).toContain('Ignored (Sophia never runs or applies them): postCreateCommand');
    expect(await section.getByTestId('workspace-image-default').isChecked()).toBe(true);
    await screenshot(page, 'settings-workspace-image');

    await dockerfile.getByRole('radio').check();
    await section.getByTestId('workspace-image-save').click();
    await expect.poll(() => section.getByTestId('workspace-image-status').innerText()).toContain('Saved');
    expect((await app.request('settings.get', {})).sandboxWorkspaceImages).toEqual([{ workspace, source: 'dockerfile' }]);
    const tag = (await app.request('sandbox.workspaceImage', {})).options[0]?.tag ?? '';
    built.push(tag);

    // The sandbox check acquires a sandbox for the workspace: the image is built (its steps in the status), then used.
    const check = await app.request('sandbox.check', {});
    expect(check.exitCode).toBe(0);
    expect(check.output).toMatch(/^v\d+/m);
    const statuses = app.events.filter((event) => event.type === 'sandbox.status').map((event) => event.status.message);
    expect(statuses.some((message) => /^Building the workspace's sandbox image: Step \d+\/\d+ : COPY tool\.txt/.test(message))).toBe(true);
    const info = await docker.getImage(tag).inspect();
    expect(info.Config.User).toBe('65532:65532');
    expect(info.Config.Labels?.['app.sophia.hardened']).toBe('1');
    expect(watched.problems).toEqual([]);
  });
});
