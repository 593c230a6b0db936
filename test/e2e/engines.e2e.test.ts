/**
 * Settings → Engines in the built app, in Chromium: the person adds this machine's Docker
 * socket as a profile of its own, checks it (the real engine answers), saves it and uses it
 * for tasks; a TLS profile with a broken CA certificate is refused beside the form, and one
 * with good material but no engine behind its port fails its check and is not saved either.
 * The keys typed never reach the audit log or the list; removing asks first and puts tasks
 * back on this machine.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../support/closedPort';
import { makeTestMaterial, type TestMaterial } from '../support/engineMaterial';
import { startSshEngine } from '../support/engines';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

let session: BrowserSession;
let page: Page;
let watched: PageProblems;
let material: TestMaterial;

beforeAll(async () => {
  material = makeTestMaterial();
  session = await openBrowserSession();
  ({ page, watched } = session);
});

afterAll(async () => {
  await session?.close();
});

const engines = () => page.getByTestId('settings-engines');

/**
 * Waits for `locator` to read as `pattern`. A check (also the one Save runs) logs in, asks for
 * the version and starts a hardened container, which over SSH on a loaded 2-core machine can
 * take a while: the wait is bounded (90 s), and a failure says what the page showed instead.
 */
async function shows(locator: Locator, pattern: RegExp, form?: Locator): Promise<void> {
  try {
    await locator.filter({ hasText: pattern }).waitFor({ timeout: 90_000 });
  } catch (error) {
    const shown = await locator.innerText({ timeout: 1000 }).catch(() => '(nothing)');
    const problem = form ? await form.getByTestId('engine-error').innerText({ timeout: 1000 }).catch(() => '') : '';
    throw new Error(`Expected ${String(pattern)}; the page showed: ${shown} ${problem}`, { cause: error });
  }
}
const checkShows = (form: Locator, pattern: RegExp): Promise<void> => shows(form.getByTestId('engine-check'), pattern, form);

describe('Settings → Engines, in Chromium', () => {
  it('adds this machine\'s Docker socket as a profile: Check shows the engine, Save keeps it, Use for tasks makes it active', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('button', { name: 'Engines' }).click();
    const section = engines();
    await section.waitFor();
    const thisMachine = section.getByTestId('engine-local');
    await thisMachine.waitFor();
    expect(await thisMachine.innerText()).toMatch(/This machine[\s\S]*Active/);

    await section.getByRole('button', { name: 'Add an engine' }).click();
    const form = section.getByRole('form', { name: 'Engine profile' });
    await form.getByLabel('Name', { exact: true }).fill('Docker here');
    expect(await form.getByLabel('Id', { exact: true }).inputValue()).toBe('docker-here');
    await form.getByRole('radio', { name: /Another Docker socket on this machine/ }).check();
    await form.getByLabel('Socket path', { exact: true }).fill('/var/run/docker.sock');
    await form.getByRole('button', { name: 'Check' }).click();
    await checkShows(form, /^Check passed: Engine \d+\.\d+[\s\S]*A container with the sandbox hardening ran there/);
    await screenshot(page, 'settings-engines-check');
    await form.getByRole('button', { name: 'Save engine' }).click();

    await shows(section.getByTestId('engines-status'), /Docker here was saved after its check passed/, form);
    const added = section.getByTestId('engine-docker-here');
    expect(await added.innerText()).toContain('/var/run/docker.sock');
    expect(await added.getByTestId('engine-active').count()).toBe(0);

    await section.getByRole('button', { name: 'Use Docker here for tasks' }).click();
    await expect.poll(() => added.getByTestId('engine-active').count()).toBe(1);
    expect(await thisMachine.getByTestId('engine-active').count()).toBe(0);
    await screenshot(page, 'settings-engines');
    const listed = await session.app.request('engines.list', {});
    expect(listed.active).toBe('docker-here');
    expect(listed.engines.map((engine) => engine.profile)).toEqual([
      { id: 'local', name: 'This machine', kind: 'local' },
      { id: 'docker-here', name: 'Docker here', kind: 'local', socketPath: '/var/run/docker.sock' },
    ]);
  });

  it('refuses a TLS profile with a broken CA beside the form, and one whose engine does not answer; neither is saved', async () => {
    const section = engines();
    await section.getByRole('button', { name: 'Add an engine' }).click();
    const form = section.getByRole('form', { name: 'Engine profile' });
    await form.getByLabel('Name', { exact: true }).fill('Bad TLS');
    await form.getByRole('radio', { name: /mutual TLS/ }).check();
    await form.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await form.getByLabel('Port', { exact: true }).fill(String(await closedPort()));
    await form.getByLabel('CA certificate (PEM)').fill('this is not a certificate');
    await form.getByLabel('Client certificate (PEM)').fill(material.cert);
    await form.getByLabel('Client key (PEM)').fill(material.key);
    await form.getByRole('button', { name: 'Save engine' }).click();
    await expect.poll(() => form.getByTestId('engine-error').innerText()).toMatch(/The CA certificate is not a PEM certificate/);
    await screenshot(page, 'settings-engines-refused');

    await form.getByLabel('CA certificate (PEM)').fill(material.ca);
    await form.getByRole('button', { name: 'Save engine' }).click();
    await shows(form.getByTestId('engine-error'), /^Not saved: the check of Bad TLS failed\./);
    expect(await section.getByTestId('engine-bad-tls').count()).toBe(0);
    await form.getByRole('button', { name: 'Cancel' }).click();

    const listed = await session.app.request('engines.list', {});
    expect(listed.engines.map((engine) => engine.profile.id)).toEqual(['local', 'docker-here']);
    // The material reached neither the audit log nor the list; the refused saves are audited by field name.
    const keyLine = material.key.trim().split('\n')[1] ?? '';
    const audit = await session.app.request('audit.query', { kind: 'request', limit: 200 });
    const saves = audit.entries.filter((entry) => entry.summary === 'engines.save requested');
    expect(saves.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(audit)).not.toContain(keyLine);
    const materials = saves.map((entry) => (JSON.parse(String(entry.data)) as { input: { material?: unknown } }).input.material);
    expect(materials).toContainEqual(['ca', 'cert', 'key']);
    expect(await page.content()).not.toContain(keyLine);
  });

  it('an SSH engine: Check names the host key the real sshd presented, Save waits for "Trust this host key", the key is then only "set"', async () => {
    const sshd = await startSshEngine({ socketPath: '/var/run/docker.sock' }, { id: 'ssh-e2e' });
    try {
      const section = engines();
      await section.getByRole('button', { name: 'Add an engine' }).click();
      const form = section.getByRole('form', { name: 'Engine profile' });
      await form.getByLabel('Name', { exact: true }).fill('Build over SSH');
      await form.getByRole('radio', { name: /Docker over SSH/ }).check();
      await form.getByLabel('User', { exact: true }).fill(sshd.profile.user ?? '');
      await form.getByLabel('Host', { exact: true }).fill('127.0.0.1');
      await form.getByLabel('Port', { exact: true }).fill(String(sshd.port));
      await form.getByRole('radio', { name: /A key kept in the keychain/ }).check();
      await form.getByLabel(/SSH private key/).fill(sshd.secrets['engine-ssh-e2e-ssh-key'] ?? '');
      await form.getByLabel(/Remote Docker socket/).fill('/var/run/docker.sock');
      const save = form.getByRole('button', { name: 'Save engine' });
      expect(await save.isDisabled()).toBe(true);

      await form.getByRole('button', { name: 'Check' }).click();
      await checkShows(form, /^Check failed: [\s\S]*host key/i);
      expect(await form.getByTestId('engine-host-key').innerText()).toBe(sshd.hostKey);
      expect(await save.isDisabled()).toBe(true);
      await screenshot(page, 'settings-engines-ssh-host-key');
      await form.getByRole('button', { name: 'Trust this host key' }).click();
      await form.getByRole('button', { name: 'Check' }).click();
      await checkShows(form, /^Check passed: /);
      await save.click();
      await shows(section.getByTestId('engines-status'), /Build over SSH was saved after its check passed/, form);

      const added = section.getByTestId('engine-build-over-ssh');
      expect(await added.innerText()).toContain(`ssh://${sshd.profile.user ?? ''}@127.0.0.1:${sshd.port}`);
      expect(await added.innerText()).toContain('SSH private key: set');
      const listed = await session.app.request('engines.list', {});
      expect(listed.engines.find((engine) => engine.profile.id === 'build-over-ssh')).toMatchObject({ profile: { kind: 'ssh', hostKey: sshd.hostKey, sshAuth: 'key' }, material: { sshKey: true } });

      // Editing shows the key as set, with Replace, never its text.
      await section.getByRole('button', { name: 'Edit Build over SSH' }).click();
      expect(await form.getByTestId('engine-material-sshKey').innerText()).toContain('set');
      expect(await form.getByRole('button', { name: /Replace SSH private key/ }).count()).toBe(1);
      await form.getByRole('button', { name: 'Cancel' }).click();
      const keyLine = (sshd.secrets['engine-ssh-e2e-ssh-key'] ?? '').trim().split('\n')[1] ?? '';
      expect(keyLine.length).toBeGreaterThan(16);
      expect(await page.content()).not.toContain(keyLine);
      expect(JSON.stringify(listed)).not.toContain(keyLine);

      await section.getByRole('button', { name: 'Remove Build over SSH' }).click();
      await section.getByRole('alertdialog', { name: 'Remove Build over SSH?' }).getByRole('button', { name: 'Remove engine' }).click();
      await expect.poll(() => section.getByTestId('engine-build-over-ssh').count()).toBe(0);
    } finally {
      await sshd.stop();
    }
  });

  it('removes the profile after asking; tasks go back to this machine', async () => {
    const section = engines();
    await section.getByRole('button', { name: 'Remove Docker here' }).click();
    const confirm = section.getByRole('alertdialog', { name: 'Remove Docker here?' });
    expect(await confirm.innerText()).toContain('Tasks will run on this machine.');
    await confirm.getByRole('button', { name: 'Remove engine' }).click();
    await expect.poll(() => section.getByTestId('engine-docker-here').count()).toBe(0);
    await expect.poll(() => section.getByTestId('engine-local').getByTestId('engine-active').count()).toBe(1);
    expect((await session.app.request('engines.list', {})).active).toBe('local');
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
