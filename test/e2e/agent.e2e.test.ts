/**
 * The agent core in Chromium: a scripted model (the real Anthropic SDK against a loopback
 * stand-in) reviews the employees table. The chat shows the intent and plan, the read_file
 * call with its output, and the streamed answer; a stored conversation reopens from the
 * sidebar exactly as it was.
 */
import { openBrowserSession, type BrowserSession } from './support/session';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace } from '../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';

let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;

const answer = [
  'The `employees` table has four columns. Findings:\n\n',
  '1. **`salary`** has no `CHECK (salary >= 0)`.\n',
  '2. **`manager_id`** should reference `employees(id)`.\n\n',
  '```sql\nALTER TABLE employees\n  ADD CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (id);\n```\n',
];

let session: BrowserSession;
beforeAll(async () => {
  session = await openBrowserSession({ settings: { workspace: await makeWorkspace() } });
  ({ model, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
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
    // The intent is a label; no fixed per-intent plan is shown (the model posts its own).
    expect(await intent.innerText()).not.toContain('Change nothing');
    // The model's progress note, quiet and collapsed.
    await page.getByTestId('thinking').first().waitFor();
    expect(await page.getByTestId('thinking').first().innerText()).toContain('Working out the next step.');

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
