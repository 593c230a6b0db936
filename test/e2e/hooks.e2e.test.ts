/**
 * Hooks in Chromium, in the built app: the person adds a PreToolUse hook in Settings → Hooks,
 * the scripted model (through the real Anthropic SDK) calls the tool it matches, the hook (a
 * real process on the host) denies it with its reason, the chat shows the reason, and the run
 * is in the audit log. Then the person removes the hook and the same call runs.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServedApp } from '../support/servedApp';
import { makeWorkspace } from '../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { openBrowserSession, type BrowserSession } from './support/session';
import { screenshot, type PageProblems } from './support/chromium';

let app: ServedApp;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let session: BrowserSession;

beforeAll(async () => {
  session = await openBrowserSession({ settings: { workspace: await makeWorkspace() }, viewport: { width: 1500, height: 1000 } });
  ({ model, app, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
});

const section = () => page.getByTestId('settings-hooks');
const userHooks = () => section().getByTestId('hooks-source-user');

async function ask(text: string): Promise<void> {
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
}

describe('hooks in Chromium', () => {
  it('a hook added in Settings denies the call it matches, the chat shows its reason, and the run is audited', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await section().scrollIntoViewIfNeeded();
    await userHooks().getByText('None.').waitFor();
    const form = section().getByRole('form', { name: 'Add a hook' });
    await form.getByTestId('hooks-add-event').selectOption('PreToolUse');
    await form.getByTestId('hooks-add-matcher').fill('read_file');
    await form.getByTestId('hooks-add-command').fill('echo "reading files is paused during the audit" >&2; exit 2');
    await form.getByTestId('hooks-add-timeout').fill('10');
    await form.getByRole('button', { name: 'Add hook' }).click();
    await expect.poll(() => section().getByTestId('hooks-status').innerText()).toContain('Added a PreToolUse hook');
    expect(await userHooks().getByTestId('hook-entry').innerText()).toMatch(/PreToolUse[\s\S]*tools matching read_file[\s\S]*reading files is paused[\s\S]*time limit 10 s/);
    const saved = (await app.request('hooks.list', {})).sources.find((source) => source.source === 'user');
    expect(saved?.hooks).toEqual({ PreToolUse: [{ matcher: 'read_file', hooks: [{ type: 'command', command: 'echo "reading files is paused during the audit" >&2; exit 2', timeout: 10 }] }] });
    await screenshot(page, 'settings-hooks');
    await page.getByTestId('settings').getByRole('button', { name: 'Close', exact: true }).click();

    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The hook stopped me from reading the file.'] }) },
    );
    await ask('review the employees table definition');
    const tool = page.getByTestId('tool-call').last();
    await tool.waitFor();
    await expect.poll(() => tool.innerText()).toMatch(/read_file/);
    await page.getByText('The hook stopped me from reading the file.').waitFor();
    await tool.locator('.tool-header').click();
    await expect.poll(() => page.getByTestId('tool-output').last().innerText()).toContain('reading files is paused during the audit');
    expect(await page.getByTestId('tool-output').last().innerText()).toContain('Refused by a PreToolUse hook');
    await screenshot(page, 'hook-denied');

    const runs = (await app.request('audit.query', { kind: 'hook.run' })).entries;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ actor: 'hook:user' });
    expect(JSON.parse(runs[0]!.data)).toMatchObject({ event: 'PreToolUse', source: 'user', tool: 'read_file', outcome: 'deny', exitCode: 2 });
  });

  it('removed in Settings, the hook no longer runs and the same call goes ahead', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await section().scrollIntoViewIfNeeded();
    await userHooks().getByRole('button', { name: 'Remove' }).click();
    await userHooks().getByText('None.').waitFor();
    await page.getByTestId('settings').getByRole('button', { name: 'Close', exact: true }).click();
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Read it this time.'] }) },
    );
    await ask('read the employees table again');
    await page.getByText('Read it this time.').waitFor();
    await expect.poll(() => page.getByTestId('tool-call').last().innerText()).toMatch(/read_file[\s\S]*ok/);
    expect((await app.request('audit.query', { kind: 'hook.run' })).entries).toHaveLength(1);
    expect(watched.problems).toEqual([]);
  });
});
