/**
 * First run without a manual, and Settings in sections, in Chromium against the BUILT app
 * (out/main/serve.js) on an empty data folder: the checklist opens by itself and each item is
 * green or says what to do with the button that does it (the key under Credentials & role,
 * a workspace picked from the host's folders, Docker and the sandbox image, the keychain).
 * Then Settings: each section saves on its own with its status beside its Save, the workspace
 * path's `~` is expanded and a missing folder or a file is refused beside the field, the
 * Sandbox section shows the variable that overrides a field, the Ollama models come from the
 * server's /api/tags with a connection test, and the audit drawer covers nothing.
 * The app's HOME is a folder of this test's, so the picker's listing is known.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedApp, type ServedApp } from '../support/servedApp';
import { startOllamaStandIn, type OllamaStandIn } from '../support/standIns/ollamaStandIn';
import { launchChromium, screenshot, watchPage, type PageProblems } from './support/chromium';

let app: ServedApp;
let browser: Browser;
let page: Page;
let watched: PageProblems;
let ollama: OllamaStandIn;
let home: string;

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'sophia-firstrun-home-'));
  mkdirSync(path.join(home, 'projects', 'payroll'), { recursive: true });
  mkdirSync(path.join(home, 'projects', 'website'), { recursive: true });
  mkdirSync(path.join(home, 'Documents'));
  mkdirSync(path.join(home, '.cache'));
  writeFileSync(path.join(home, 'notes.txt'), 'not a folder');
  symlinkSync(path.join(home, 'projects', 'payroll'), path.join(home, 'payroll-link'));
  symlinkSync(path.join(home, 'nowhere'), path.join(home, 'dangling-link'));
  ollama = await startOllamaStandIn({ models: ['qwen3:8b', 'llama3.2:3b', 'gpt-oss:20b'] });
  // Nothing saved and no key: what a person has after installing. The pool is off by its variable, which Settings must show.
  app = await startServedApp({ env: { HOME: home, SOPHIA_SANDBOX_POOL_SIZE: '0' } });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  watched = watchPage(page);
  await page.goto(app.url);
  await page.getByText('Connected', { exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  if (process.env['SOPHIA_E2E_DEBUG']) process.stderr.write(app?.log() ?? '');
  await app?.close();
  await ollama?.close();
});

const item = (id: string) => page.getByTestId(`checklist-${id}`);
const stateOf = (id: string) => item(id).getAttribute('data-state');
const settingsSection = (id: string) => page.locator(`#settings-section-${id}`);
/** Whether an element's top is inside the viewport (a section brought into view). */
const inView = (selector: string) =>
  page.locator(selector).evaluate((element) => {
    // Runs in the page; the test project has no DOM types.
    const box = (element as unknown as { getBoundingClientRect(): { top: number } }).getBoundingClientRect();
    return box.top >= 0 && box.top < (globalThis as unknown as { innerHeight: number }).innerHeight;
  });

describe('first run on an empty data folder, in Chromium', () => {
  it('opens the checklist by itself, each item green or saying what to do', async () => {
    await page.getByTestId('first-run').waitFor();
    // The sandbox item follows the real Docker engine: the image is built here, so it turns green.
    await expect.poll(() => stateOf('sandbox'), { timeout: 60_000 }).toBe('ok');
    expect(await stateOf('keychain')).toBe('ok');
    expect(await item('keychain').innerText()).toContain('Secret Service');
    expect(await stateOf('model')).toBe('todo');
    expect(await item('model').innerText()).toContain('No Anthropic API key is stored');
    expect(await stateOf('workspace')).toBe('todo');
    await screenshot(page, 'first-run-checklist');
  });

  it('picks the workspace from the host\'s folders (browser mode), directories only', async () => {
    await item('workspace').getByRole('button', { name: 'Choose a folder…' }).click();
    const browserPanel = page.getByTestId('folder-browser');
    await browserPanel.waitFor();
    expect(await page.getByTestId('folder-browser-path').innerText()).toBe(home);
    const names = await browserPanel.locator('.folder-entry').allInnerTexts();
    // Folders and links to folders, visible ones first; no file, no dangling link.
    expect(names.map((name) => name.replace('📁', '').trim())).toEqual(['Documents', 'payroll-link', 'projects', '.cache']);
    await browserPanel.getByRole('button', { name: /projects/ }).click();
    await expect.poll(() => page.getByTestId('folder-browser-path').innerText()).toBe(path.join(home, 'projects'));
    await browserPanel.getByRole('button', { name: /payroll/ }).click();
    await expect.poll(() => page.getByTestId('folder-browser-path').innerText()).toBe(path.join(home, 'projects', 'payroll'));
    await screenshot(page, 'first-run-folder-picker');
    await browserPanel.getByRole('button', { name: 'Use this folder' }).click();
    await expect.poll(() => stateOf('workspace')).toBe('ok');
    expect((await app.request('settings.get', {})).workspace).toBe(path.join(home, 'projects', 'payroll'));
  });

  it('takes the person to Credentials & role for the missing key, and turns green once it is stored', async () => {
    await item('model').getByTestId('checklist-open-credentials').click();
    await page.getByTestId('settings-credentials').waitFor();
    await expect.poll(() => inView('#settings-section-credentials')).toBe(true);
    const row = page.getByTestId('secret-anthropic-api-key');
    await row.getByRole('button', { name: 'Set' }).click();
    await row.getByLabel(/value/).fill('sk-ant-firstrun');
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.innerText()).toContain('Set');
    await page.getByTestId('first-run').getByRole('button', { name: 'Check again' }).click();
    await expect.poll(() => stateOf('model')).toBe('ok');
    await expect.poll(() => page.getByTestId('first-run').getByRole('heading').innerText()).toBe('Sophia is ready');
    await screenshot(page, 'first-run-ready');
    await page.getByTestId('first-run').getByRole('button', { name: 'Close' }).click();
    expect(await page.getByTestId('first-run').count()).toBe(0);
    // Reachable again from the status bar.
    await page.getByTestId('status-checklist').click();
    await page.getByTestId('first-run').waitFor();
    await page.getByTestId('first-run').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('settings').getByRole('button', { name: 'Close', exact: true }).click();
  });
});

describe('the host\'s folder listing (host.listFolders)', () => {
  it('refuses a path that is not absolute, a file and a missing folder; expands ~; resolves links', async () => {
    expect(await app.send('host.listFolders', { path: 'projects' })).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('absolute') } });
    expect(await app.send('host.listFolders', { path: path.join(home, 'notes.txt') })).toMatchObject({ ok: false, error: { message: expect.stringContaining('is a file, not a folder') } });
    expect(await app.send('host.listFolders', { path: path.join(home, 'missing') })).toMatchObject({ ok: false, error: { message: expect.stringContaining('does not exist') } });
    const tilde = await app.request('host.listFolders', { path: '~/projects' });
    expect(tilde.path).toBe(path.join(home, 'projects'));
    expect(tilde.parent).toBe(home);
    expect(tilde.folders.map((folder) => folder.name)).toEqual(['payroll', 'website']);
    const linked = await app.request('host.listFolders', { path: path.join(home, 'payroll-link') });
    expect(linked.path).toBe(path.join(home, 'projects', 'payroll'));
    expect((await app.request('host.listFolders', { path: '/' })).parent).toBeNull();
  });

  it('cuts a huge folder and says so', async () => {
    const huge = path.join(home, 'huge');
    mkdirSync(huge);
    for (let index = 0; index < 1100; index++) mkdirSync(path.join(huge, `d${String(index).padStart(4, '0')}`));
    const listing = await app.request('host.listFolders', { path: huge });
    expect(listing.truncated).toBe(true);
    expect(listing.folders.length).toBe(1000);
  });

  it('has no folder dialog in the browser host', async () => {
    expect(await app.send('host.pickFolder', {})).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });
});

describe('Settings in sections, in Chromium', () => {
  it('saves each section on its own, its status beside its Save', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const git = page.getByTestId('settings-git');
    await git.getByLabel('Commit author name').fill('Grace Hopper');
    const workspace = settingsSection('workspace');
    await workspace.getByLabel('Folder').fill('~/projects/website');
    await workspace.getByRole('button', { name: 'Save workspace' }).click();
    await expect.poll(() => workspace.getByTestId('settings-status').innerText()).toBe('Saved.');
    const saved = await app.request('settings.get', {});
    // `~` expanded, and the Git section's edit did not ride along with the workspace's Save.
    expect(saved.workspace).toBe(path.join(home, 'projects', 'website'));
    expect(saved.gitAuthorName).toBe('');
    expect(await workspace.getByLabel('Folder').inputValue()).toBe(path.join(home, 'projects', 'website'));
    expect(await git.getByTestId('settings-status').count()).toBe(0);
    await git.getByRole('button', { name: 'Save git' }).click();
    await expect.poll(() => git.getByTestId('settings-status').innerText()).toBe('Saved.');
    expect((await app.request('settings.get', {})).gitAuthorName).toBe('Grace Hopper');
  });

  it('refuses a missing folder and a file beside the workspace field, and keeps the saved one', async () => {
    const workspace = settingsSection('workspace');
    await workspace.getByLabel('Folder').fill(path.join(home, 'no-such-project'));
    await workspace.getByRole('button', { name: 'Save workspace' }).click();
    const error = workspace.getByTestId('workspace-error');
    await expect.poll(() => error.innerText()).toContain('does not exist');
    expect(await workspace.getByLabel('Folder').getAttribute('aria-invalid')).toBe('true');
    // Beside the field: right under it, not at the bottom of the form.
    const [field, shown] = await Promise.all([workspace.getByLabel('Folder').boundingBox(), error.boundingBox()]);
    expect(shown!.y - (field!.y + field!.height)).toBeLessThan(40);
    await screenshot(page, 'settings-workspace-error');
    await workspace.getByLabel('Folder').fill('~/notes.txt');
    await workspace.getByRole('button', { name: 'Save workspace' }).click();
    await expect.poll(() => error.innerText()).toContain('is a file, not a folder');
    expect((await app.request('settings.get', {})).workspace).toBe(path.join(home, 'projects', 'website'));
    expect(await app.send('settings.set', { workspace: 'relative/path' })).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('absolute'), data: { field: 'workspace' } } });
  });

  it('shows the Sandbox section with the variable that overrides a field, and saves the rest', async () => {
    const sandbox = settingsSection('sandbox');
    await sandbox.scrollIntoViewIfNeeded();
    const pool = sandbox.getByLabel('Warm sandboxes kept ready (0: none)');
    expect(await pool.isDisabled()).toBe(true);
    expect(await sandbox.getByTestId('sandbox-override').innerText()).toContain('SOPHIA_SANDBOX_POOL_SIZE');
    expect(await sandbox.getByTestId('sandbox-in-use').innerText()).toContain('0 warm');
    await sandbox.getByLabel('Memory per sandbox (MB)').fill('2048');
    await sandbox.getByLabel('CPUs per sandbox').fill('2');
    await sandbox.getByRole('button', { name: 'Save sandbox' }).click();
    await expect.poll(() => sandbox.getByTestId('settings-status').innerText()).toBe('Saved.');
    expect((await app.request('settings.get', {})).sandbox).toMatchObject({ memoryMb: 2048, cpus: 2, poolSize: 2 });
    await screenshot(page, 'settings-sandbox');
    // The schema's bounds hold for the channel too.
    const current = (await app.request('settings.get', {})).sandbox;
    expect(await app.send('settings.set', { sandbox: { ...current, memoryMb: 1_000_000 } })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const config = await app.request('sandbox.config', {});
    expect(config.overrides).toEqual([{ field: 'poolSize', variable: 'SOPHIA_SANDBOX_POOL_SIZE' }]);
  });

  it('lists the Ollama server\'s models from /api/tags, with a connection test', async () => {
    const model = settingsSection('model');
    await model.scrollIntoViewIfNeeded();
    await model.getByLabel('Ollama address').fill(ollama.host);
    const before = ollama.tagRequests();
    await model.getByTestId('ollama-test').click();
    await expect.poll(() => model.getByTestId('ollama-status').innerText()).toContain('3 models');
    expect(ollama.tagRequests()).toBeGreaterThan(before);
    const picker = model.getByTestId('ollama-model-picker');
    expect(await picker.locator('option').allInnerTexts()).toEqual(expect.arrayContaining(['llama3.2:3b (3B)', 'gpt-oss:20b (20B)']));
    await picker.selectOption('llama3.2:3b');
    await model.getByRole('radio', { name: /Ollama \(offline/ }).check();
    await model.getByRole('button', { name: 'Save model' }).click();
    await expect.poll(() => model.getByTestId('settings-status').innerText()).toBe('Saved.');
    expect(await app.request('settings.get', {})).toMatchObject({ provider: 'ollama', ollamaHost: ollama.host, ollamaModel: 'llama3.2:3b' });
    await screenshot(page, 'settings-ollama-models');
    // A server that is not there says so, in words.
    await model.getByLabel('Ollama address').fill('http://127.0.0.1:9');
    await model.getByTestId('ollama-test').click();
    await expect.poll(() => model.getByTestId('ollama-status').innerText()).toContain('Could not reach Ollama at http://127.0.0.1:9');
    // Only a server on this machine is asked.
    expect(await app.send('ollama.models', { host: 'http://192.0.2.1:11434' })).toMatchObject({ ok: false, error: { code: 'refused' } });
    await model.getByLabel('Ollama address').fill(ollama.host);
    await model.getByRole('radio', { name: /Anthropic \(cloud\)/ }).check();
    await model.getByRole('button', { name: 'Save model' }).click();
    await expect.poll(() => app.request('settings.get', {}).then((settings) => settings.provider)).toBe('anthropic');
  });

  it('makes the no-key notice a button to Credentials & role', async () => {
    // Without a key the model list cannot be read; the notice names the button that exists.
    await app.request('secrets.remove', { name: 'anthropic-api-key' });
    await page.getByTestId('settings').getByRole('button', { name: 'Close', exact: true }).click();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const notice = page.getByTestId('model-list-error');
    await expect.poll(() => notice.innerText()).toContain('Credentials & role');
    expect(await notice.innerText()).not.toContain('Settings → Credentials');
    await notice.getByTestId('model-list-open-credentials').click();
    await expect.poll(() => inView('#settings-section-credentials')).toBe(true);
    // The header's button is named the same and opens the same section.
    await settingsSection('model').scrollIntoViewIfNeeded();
    await page.getByTestId('open-credentials').click();
    await expect.poll(() => inView('#settings-section-credentials')).toBe(true);
  });

  it('keeps the audit drawer from covering Settings', async () => {
    await page.getByTestId('open-audit').click();
    const drawer = page.locator('.safety-drawer');
    await drawer.waitFor();
    const [form, covering] = await Promise.all([page.getByTestId('settings').boundingBox(), drawer.boundingBox()]);
    expect(form!.x + form!.width).toBeLessThanOrEqual(covering!.x + 1);
    await screenshot(page, 'settings-with-audit-drawer');
    await page.getByTestId('open-audit').click();
    expect(watched.problems).toEqual([]);
  });
});
