/**
 * The agent core in Chromium: a scripted model (the real Anthropic SDK against a loopback
 * stand-in) reviews the employees table. The chat shows the intent and plan, the read_file
 * call with its output, and the streamed answer; a stored conversation reopens from the
 * sidebar exactly as it was.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost } from '../support/hostFixture';
import { makeWorkspace } from '../support/agentFixture';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { launchChromium, screenshot, watchPage, type PageProblems } from './support/chromium';
import type { BrowserHost } from '../../electron/host/browserHost';
import type { SophiaCore } from '../../electron/core/sophiaCore';

let browser: Browser;
let host: BrowserHost;
let core: SophiaCore;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;

const answer = [
  'The `employees` table has four columns. Findings:\n\n',
  '1. **`salary`** has no `CHECK (salary >= 0)`.\n',
  '2. **`manager_id`** should reference `employees(id)`.\n\n',
  '```sql\nALTER TABLE employees\n  ADD CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (id);\n```\n',
];

beforeAll(async () => {
  model = await startAnthropicStandIn();
  ({ core, host } = await startHost(undefined, { secrets: { get: async () => 'sk-ant-e2e' }, endpoints: { anthropicBaseURL: model.baseURL } }));
  core.settings.update({ provider: 'anthropic', workspace: await makeWorkspace() });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  watched = watchPage(page);
  await page.goto(host.url);
  await page.getByText('Connected', { exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await core?.close();
  await model?.close();
});

describe('agent core in Chromium', () => {
  it('shows the intent, the tool call with its output, and the streamed answer', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Let me read the table definition.'], tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: answer.flatMap((part) => part.match(/.{1,6}/gs) ?? []), inputTokens: 1500, outputTokens: 120 }), intervalMs: 2 },
    );
    const input = page.getByTestId('composer-input');
    await input.fill('review the employees table definition');
    await input.press('Enter');

    const intent = page.getByTestId('intent');
    await intent.waitFor();
    expect(await intent.innerText()).toMatch(/CODE REVIEW/i);
    expect(await intent.innerText()).toContain('Change nothing');

    const tool = page.getByTestId('tool-call');
    await tool.waitFor();
    await expect.poll(() => tool.innerText()).toMatch(/read_file[\s\S]*read-only[\s\S]*ok/);
    await tool.locator('.tool-header').click();
    expect(await page.getByTestId('tool-output').innerText()).toContain('CREATE TABLE employees');

    await page.locator('.message-assistant code.hljs, .message-assistant pre code').last().waitFor();
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
    const assistant = page.getByTestId('message-assistant').last();
    expect(await assistant.locator('strong').first().innerText()).toBe('salary');
    expect(await assistant.locator('pre code').innerText()).toContain('FOREIGN KEY (manager_id)');
    expect(await page.getByTestId('status-usage').innerText()).toMatch(/in · .* out · \$/);
    expect(await page.getByTestId('status-model').innerText()).toContain('Anthropic');
    await screenshot(page, 'agent-review');
  });

  it('reopens the conversation from the sidebar exactly as it was', async () => {
    // The expanded tool output is view state, not conversation: fold it first.
    await page.getByTestId('tool-call').locator('.tool-header').click();
    const before = await page.getByTestId('message-list').innerText();
    await page.getByRole('button', { name: '+ New chat' }).click();
    await expect.poll(() => page.getByTestId('message-list').innerText()).toContain('Ask Sophia');
    await page.getByTestId('conversation-list').getByText('review the employees table definition').click();
    await expect.poll(() => page.getByTestId('message-list').innerText()).toBe(before);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
