/**
 * The safety core in Chromium, against the browser host and the real core: approval cards
 * (approve, session approval for low risk only, cancel), credentials set through the page
 * into the real keychain and never shown again, the audit viewer with filters and a chain
 * check, the role in the status bar; and the emergency stop with three busy containers
 * (real Docker) and a streaming reply, after which no app container remains.
 */
import { openSourceSession, type SourceSession } from './support/sourceSession';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolDefinition } from '../../electron/agent/tools';
import type { SophiaCore } from '../../electron/app/sophiaCore';
import { createDockerClient } from '../../electron/sandbox/dockerClient';
import type { EngineFleet } from '../../electron/sandbox/engines/engineFleet';
import { secretNames } from '../../shared/contract';
import { makeWorkspace } from '../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { testKeychain } from '../electron/keychain/keychainSupport';
import { tools } from '../electron/safety/safetyFixtures';
import { screenshot, type PageProblems } from './support/chromium';

let core: SophiaCore;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
const ran: string[] = [];
const secretValue = 'ghp_e2eCanary0123456789abcdefghijklmnopqr';

let session: SourceSession;
beforeAll(async () => {
  session = await openSourceSession({
    core: { keychain: testKeychain(), managedPolicyFile: path.join(mkdtempSync(path.join(tmpdir(), 'sophia-managed-')), 'policy.yaml') },
    settings: { workspace: await makeWorkspace() },
    prepare: (core) => {
      for (const tool of [tools.writeFile, { ...tools.gitPush, name: 'push_branch' }] as ToolDefinition[]) {
        core.registry.register(tool, async (input) => {
          ran.push(`${tool.name} ${JSON.stringify(input)}`);
          return { ok: true, output: 'done' };
        });
      }
    },
  });
  ({ model, core, page, watched } = session);
});

afterAll(async () => {
  for (const name of secretNames) core?.safety.secrets.remove(name);
  await session?.close();
});

const call = (tool: string, input: unknown, callId: string) =>
  core.registry.invoke(tool, input, { conversationId: 'e2e', callId, signal: new AbortController().signal });

describe('safety in Chromium', () => {
  it('shows the active role in the status bar', async () => {
    await expect.poll(() => page.getByTestId('status-role').innerText()).toMatch(/^Role: developer$/i);
  });

  it('asks with a card: operation, risk and why, the diff; a low-risk write can be approved for the session', async () => {
    const first = call('write_file', { path: 'src/app.ts', content: 'export const answer = 42;' }, 'w1');
    const card = page.getByTestId('approval-card');
    await card.waitFor();
    expect(await card.getByTestId('approval-risk').innerText()).toMatch(/low/i);
    expect(await card.innerText()).toContain('write src/app.ts');
    expect(await card.getByTestId('approval-preview').innerText()).toContain('+export const answer = 42;');
    await screenshot(page, 'approval-card');
    await card.getByRole('button', { name: 'Approve for this session' }).click();
    expect(await first).toMatchObject({ kind: 'executed' });
    await card.waitFor({ state: 'detached' });
    // The same tool again in this conversation: no card.
    expect(await call('write_file', { path: 'src/b.ts', content: 'b' }, 'w2')).toMatchObject({ kind: 'executed', decision: { decidedBy: 'session-grant' } });
    expect(ran).toHaveLength(2);
  });

  it('offers no session approval for a push to a protected branch, and Cancel denies it', async () => {
    const push = call('push_branch', { branch: 'main', force: true }, 'p1');
    const card = page.getByTestId('approval-card');
    await card.waitFor();
    expect(await card.getByTestId('approval-risk').innerText()).toMatch(/critical/i);
    expect(await card.innerText()).toContain('protected branch "main"');
    expect(await card.getByRole('button', { name: 'Approve for this session' }).count()).toBe(0);
    await screenshot(page, 'approval-card-critical');
    await card.getByRole('button', { name: 'Cancel' }).click();
    expect(await push).toMatchObject({ kind: 'denied', decision: { decidedBy: 'user' } });
    expect(ran).toHaveLength(2);
  });

  it('runs a modified call when the human edits the arguments', async () => {
    const push = call('push_branch', { branch: 'main' }, 'p2');
    const card = page.getByTestId('approval-card');
    await card.waitFor();
    await card.getByRole('button', { name: 'Modify' }).click();
    await card.getByLabel('Arguments (JSON)').fill('{"remote": "origin", "branch": "feature/fix", "force": false}');
    await card.getByRole('button', { name: 'Run modified' }).click();
    expect(await push).toMatchObject({ kind: 'executed' });
    expect(ran.at(-1)).toBe('push_branch {"remote":"origin","branch":"feature/fix","force":false}');
  });

  it('stores a credential in the keychain from the page and never shows it again', async () => {
    await page.getByTestId('open-credentials').click();
    const row = page.getByTestId('secret-github-token');
    await row.waitFor();
    expect(await row.innerText()).toContain('Not set');
    await row.getByRole('button', { name: 'Set' }).click();
    await row.getByLabel('GitHub token value').fill(secretValue);
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.innerText()).toContain('Set');
    expect(await page.getByTestId('keychain-status').innerText()).toContain('Secret Service');
    expect(core.safety.secrets.get('github-token')).toBe(secretValue);
    await screenshot(page, 'credentials');
    expect(await page.content()).not.toContain(secretValue);
    await page.getByTestId('open-credentials').click();
  });

  it('shows the audit log, filters it by kind and risk, and verifies the chain', async () => {
    await page.getByTestId('open-audit').click();
    const viewer = page.getByTestId('audit-viewer');
    await viewer.waitFor();
    await expect.poll(() => viewer.getByTestId('audit-entry').count()).toBeGreaterThan(5);
    await viewer.getByLabel('Kind').selectOption('approval');
    await viewer.getByLabel('Risk').selectOption('critical');
    await expect.poll(async () => [...new Set(await viewer.getByTestId('audit-entry').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-kind'))))]).toEqual(['approval']);
    expect(await viewer.innerText()).toContain('push_branch cancelled by the user');
    await viewer.getByRole('button', { name: 'Verify chain' }).click();
    await expect.poll(() => viewer.getByTestId('audit-verify').innerText()).toMatch(/^All \d+ entries verify, and the signed head matches\.$/);
    await screenshot(page, 'audit-viewer');
    expect(await page.content()).not.toContain(secretValue);
    await page.getByTestId('open-audit').click();
  });

  it('stops three busy containers and a streaming reply with one click; no app container remains', async () => {
    const sandbox = core.sandbox as EngineFleet;
    const status = await sandbox.start();
    expect(status.state, status.message).toBe('ready');
    const busy = new Set<string>();
    const off = core.events.subscribe((event) => {
      if (event.type === 'container.output' && event.chunk.includes('busy')) busy.add(event.taskId);
    });
    const boxes = await Promise.all([0, 1, 2].map((i) => sandbox.acquire(`e2e-busy-${i}`)));
    const running = boxes.map((box) => box.exec('echo busy; while :; do :; done', { timeoutMs: 120_000 }).catch((error: unknown) => error));
    await expect.poll(() => busy.size, { timeout: 60_000 }).toBe(3);

    model.script({ kind: 'stream', events: anthropicTurn({ text: Array.from({ length: 20_000 }, (_, i) => `word${i} `) }), intervalMs: 10, holdOpen: true });
    const input = page.getByTestId('composer-input');
    await input.fill('write a very long essay');
    await input.press('Enter');
    await expect.poll(() => model.firstDeltaAt.length, { timeout: 30_000 }).toBeGreaterThan(0);
    const pending = call('write_file', { path: '.github/workflows/ci.yml', content: 'x' }, 'w3');
    await page.getByTestId('approval-card').waitFor();
    await screenshot(page, 'before-stop');

    await page.getByTestId('stop-button').click();
    const banner = page.getByTestId('stop-banner');
    await expect.poll(() => banner.innerText(), { timeout: 10_000 }).toMatch(/Everything is stopped/);
    expect(await pending).toMatchObject({ kind: 'denied', decision: { decidedBy: 'stop' } });
    await page.getByTestId('approval-card').waitFor({ state: 'detached' });
    const text = await banner.innerText();
    expect(text).toMatch(/container/);
    expect(text).toMatch(/model/);
    await screenshot(page, 'stopped-with-containers');

    const left = await createDockerClient().listContainers({ all: true, filters: { label: [`app.sophia.owner=${sandbox.ownerId}`] } });
    expect(left).toEqual([]);
    await Promise.all(running);
    off();
    expect(core.safety.audit.query({ kind: 'stop' })).toHaveLength(1);
    // Each container's command start and end is in the audit log, the kill included.
    const containerEntries = core.safety.audit.query({ kind: 'container', limit: 100 }).map((entry) => entry.summary);
    for (const i of [0, 1, 2]) {
      expect(containerEntries).toContain(`Command started in task e2e-busy-${i}: echo busy; while :; do :; done`);
      expect(containerEntries).toContain(`Command ended in task e2e-busy-${i}: stopped`);
    }

    await page.getByRole('button', { name: 'Resume' }).click();
    await banner.waitFor({ state: 'detached' });
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
