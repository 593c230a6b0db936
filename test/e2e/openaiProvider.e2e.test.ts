/**
 * The OpenAI-compatible provider chosen in Settings, in Chromium: the person picks
 * "OpenAI-compatible", gives a base URL and a model, saves, and the next conversation runs
 * through the real `openai` SDK against the Chat Completions stand-in, with the key read
 * from the real keychain, in the built app (out/main/serve.js). The stand-in refuses any call to a tool the request did not offer.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace } from '../support/agentFixture';
import { startOpenAiStandIn, type OpenAiStandIn } from '../support/standIns/openaiStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

const openaiKey = 'sk-proj-e2e-keychain-0123456789';
let model: OpenAiStandIn;
let session: BrowserSession;
let page: Page;
let watched: PageProblems;

beforeAll(async () => {
  model = await startOpenAiStandIn({ apiKey: openaiKey, models: ['gpt-5.5'] });
  session = await openBrowserSession({
    settings: { workspace: await makeWorkspace() },
    // The key goes where a person puts it: the Credentials channel, into the real keychain.
    secrets: { 'openai-api-key': openaiKey },
  });
  ({ page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await model?.close();
});

describe('OpenAI-compatible provider from Settings, in Chromium', () => {
  it('is chosen in Settings and saved', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByRole('radio', { name: /OpenAI-compatible \(OpenAI, Azure/ }).check();
    await page.getByLabel('OpenAI-compatible address (base URL)').fill(model.baseURL);
    await page.getByLabel('OpenAI-compatible model').fill('gpt-5.5');
    await screenshot(page, 'settings-openai-compatible');
    await page.getByRole('button', { name: 'Save model' }).click();
    await page.getByText('Saved.').waitFor();
    expect(await session.app.request('settings.get', {})).toMatchObject({ provider: 'openai', openaiBaseUrl: model.baseURL, openaiModel: 'gpt-5.5' });
    await page.getByRole('button', { name: 'Close' }).first().click();
  });

  it('runs a conversation with a tool call through it', async () => {
    model.script(
      { kind: 'turn', text: ['Reading the definition.'], tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] },
      { kind: 'turn', text: ['The table has ', '**four** columns.'], promptTokens: 900, completionTokens: 20 },
    );
    const input = page.getByTestId('composer-input');
    await input.fill('review the employees table definition');
    await input.press('Enter');

    const tool = page.getByTestId('tool-call');
    await tool.waitFor();
    await expect.poll(() => tool.innerText()).toMatch(/read_file[\s\S]*read-only[\s\S]*ok/);
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
    expect(await page.getByTestId('message-assistant').last().innerText()).toContain('The table has four columns.');
    await expect.poll(() => page.getByTestId('status-model').innerText()).toContain('OpenAI-compatible · gpt-5.5');
    await screenshot(page, 'chat-openai-compatible');

    expect(model.refusals).toEqual([]);
    expect(model.requests).toHaveLength(2);
    expect(model.requests.every((r) => r.headers.authorization === `Bearer ${openaiKey}`)).toBe(true);
    // The tool result went back as a `tool` message answering the call.
    expect(model.requests[1]?.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
