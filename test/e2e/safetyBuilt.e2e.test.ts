/**
 * The safety flows a person meets, against the BUILT app (`out/main/serve.js`) in Chromium:
 * the role in the status bar; an approval card for the scripted model's push to a protected
 * branch (high risk, no session approval, Cancel denies it); a credential typed into the page
 * lands in the real OS keychain and is never shown again; the audit viewer filters and verifies
 * the chain; Stop ends a streaming reply and Resume unlocks. (safety.e2e.test.ts keeps the
 * checks that reach inside the core: recording tools, held sandbox containers.)
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OsKeychain } from '../../electron/keychain/keychain';
import { secretAccount } from '../../electron/safety/secretStore';
import { makeWorkspace } from '../support/agentFixture';
import type { ServedApp } from '../support/servedApp';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

let session: BrowserSession;
let app: ServedApp;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
const secretValue = 'ghp_e2eBuiltCanary0123456789abcdefghijklmn';

beforeAll(async () => {
  session = await openBrowserSession({ settings: { workspace: await makeWorkspace() } });
  ({ app, model, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
});

async function ask(text: string): Promise<void> {
  await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
}

describe('safety in Chromium, against the built app', () => {
  it('shows the active role in the status bar', async () => {
    await expect.poll(() => page.getByTestId('status-role').innerText()).toMatch(/^Role: developer$/i);
  });

  it('asks before a push to a protected branch, offers no session approval, and Cancel denies it', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Pushing main.'], tools: [{ name: 'git_push', input: { branch: 'main' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The push was cancelled.'] }) },
    );
    const before = model.requests.length;
    await ask('push main to origin');
    const card = page.getByTestId('approval-card');
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getByTestId('approval-risk').innerText()).toMatch(/^high$/i);
    expect(await card.innerText()).toContain('protected branch "main"');
    expect(await card.getByRole('button', { name: 'Approve for this session' }).count()).toBe(0);
    await screenshot(page, 'built-approval-card-protected');
    await card.getByRole('button', { name: 'Cancel' }).click();
    await card.waitFor({ state: 'detached' });
    await expect.poll(() => model.requests.length).toBe(before + 2);
    // The model learns the call was refused; nothing was pushed.
    expect(JSON.stringify(model.requests[before + 1]?.body.messages)).toMatch(/"is_error":true/);
    const approvals = await app.request('audit.query', { kind: 'approval' });
    expect(approvals.entries.map((entry) => entry.summary).join('\n')).toMatch(/git_push[^\n]*cancel/i);
  });

  it('stores a credential from the page in the real keychain and never shows it again', async () => {
    await page.getByTestId('open-credentials').click();
    const row = page.getByTestId('secret-github-token');
    await row.waitFor();
    expect(await row.innerText()).toContain('Not set');
    await row.getByRole('button', { name: 'Set' }).click();
    await row.getByLabel('GitHub token value').fill(secretValue);
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.innerText()).toContain('Set');
    expect(await page.getByTestId('keychain-status').innerText()).toContain('Secret Service');
    // In the OS keychain, under this app's service name, and nowhere on the page.
    expect(new OsKeychain(app.keychainService).get(secretAccount('github-token'))).toBe(secretValue);
    expect(await page.content()).not.toContain(secretValue);
    await page.getByTestId('open-credentials').click();
  });

  it('shows the audit log, filters it by kind and risk, and verifies the chain', async () => {
    await page.getByTestId('open-audit').click();
    const viewer = page.getByTestId('audit-viewer');
    await viewer.waitFor();
    await expect.poll(() => viewer.getByTestId('audit-entry').count()).toBeGreaterThan(3);
    await viewer.getByLabel('Kind').selectOption('approval');
    await viewer.getByLabel('Risk').selectOption('high');
    await expect.poll(async () => [...new Set(await viewer.getByTestId('audit-entry').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-kind'))))]).toEqual(['approval']);
    expect(await viewer.innerText()).toMatch(/git_push/);
    await viewer.getByRole('button', { name: 'Verify chain' }).click();
    await expect.poll(() => viewer.getByTestId('audit-verify').innerText()).toMatch(/^All \d+ entries verify, and the signed head matches\.$/);
    expect(await page.content()).not.toContain(secretValue);
    await page.getByTestId('open-audit').click();
  });

  it('stops a streaming reply with one click, locks until Resume', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ text: Array.from({ length: 20_000 }, (_, i) => `word${i} `) }), intervalMs: 10, holdOpen: true });
    await ask('write a very long essay');
    await expect.poll(() => model.firstDeltaAt.length, { timeout: 30_000 }).toBeGreaterThan(0);
    await page.getByTestId('stop-button').click();
    const banner = page.getByTestId('stop-banner');
    await expect.poll(() => banner.innerText()).toMatch(/Everything is stopped/);
    expect(await banner.innerText()).toMatch(/model/);
    expect((await app.request('app.status', {})).locked).toBe(true);
    expect((await app.request('audit.query', { kind: 'stop' })).entries).toHaveLength(1);
    await page.getByRole('button', { name: 'Resume' }).click();
    await banner.waitFor({ state: 'detached' });
    expect((await app.request('app.status', {})).locked).toBe(false);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });

  it('on close, the app and its process group end, and its keychain entries go with it', async () => {
    const { pid, keychainService } = app;
    await session.close();
    // Signal 0 only asks whether the process, or anything in its group, is still there.
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(() => process.kill(-pid, 0)).toThrow(/ESRCH/);
    const keychain = new OsKeychain(keychainService);
    expect(keychain.get(secretAccount('github-token'))).toBeNull();
    expect(keychain.get(secretAccount('anthropic-api-key'))).toBeNull();
  });
});
