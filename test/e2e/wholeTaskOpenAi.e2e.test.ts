/**
 * The same whole task as wholeTask.e2e.test.ts ("the tests fail: fix it, then commit it on a
 * new branch and open a pull request"), through the OpenAI-compatible provider: the person picks
 * it in Settings (base URL, model) with its key stored through Credentials, and the real
 * `openai` SDK in the built app (out/main/serve.js) talks Chat Completions to the stand-in,
 * which streams tool-call deltas and refuses any call to a tool the request did not offer.
 * The sandbox, the git server and the GitHub stand-in are the same real and loopback ones.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startOpenAiStandIn, type OpenAiStandIn } from '../support/standIns/openaiStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';
import { carryOutWholeTask, expectWholeTaskLanded, prepareWholeTask, wholeTaskTurns, type WholeTaskFixture } from './support/wholeTask';

const openaiKey = 'sk-proj-e2e-whole-task-0123456789';
let fixture: WholeTaskFixture;
let model: OpenAiStandIn;
let page: Page;
let watched: PageProblems;
let session: BrowserSession;

beforeAll(async () => {
  fixture = await prepareWholeTask();
  model = await startOpenAiStandIn({ apiKey: openaiKey, models: ['gpt-5.5'] });
  session = await openBrowserSession({
    secrets: { 'github-token': fixture.token, 'openai-api-key': openaiKey },
    settings: { ...fixture.settings, provider: 'openai', openaiBaseUrl: model.baseURL, openaiModel: 'gpt-5.5' },
    viewport: { width: 1600, height: 1000 },
    // Its log says what happened if the task stalls (printed on a failure).
    env: { SOPHIA_LOG_LEVEL: 'info' },
  });
  ({ page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await fixture?.close();
  await model?.close();
});

describe('a whole task in one conversation, through the OpenAI-compatible provider', () => {
  it('the tests fail: fix it, then commit it on a new branch and open a pull request', async () => {
    // On a failure, the app's own log says what the page could not.
    onTestFailed(() => {
      process.stderr.write(`--- the app's log (tail) ---\n${session.app.log().slice(-30_000)}\n`);
    });
    // Chat Completions has no thinking blocks: a note is said as text before the calls.
    model.script(...wholeTaskTurns.map((turn) => ({ kind: 'turn' as const, text: [turn.note ?? turn.text ?? ''].filter(Boolean), tools: turn.tools })));
    await expect.poll(() => page.getByTestId('status-model').innerText()).toContain('gpt-5.5');
    await carryOutWholeTask(page);
    await screenshot(page, 'whole-task-openai');
    expectWholeTaskLanded(fixture);

    // Every request carried the key from the keychain; no call was refused (each was offered,
    // each tool message answered its call).
    expect(model.refusals).toEqual([]);
    expect(model.requests).toHaveLength(10);
    expect(model.requests.every((request) => request.headers.authorization === `Bearer ${openaiKey}`)).toBe(true);
    const roles = model.requests.at(-1)!.body.messages.map((message) => message.role);
    expect(roles.filter((role) => role === 'tool')).toHaveLength(wholeTaskTurns.reduce((sum, turn) => sum + turn.tools.length, 0));
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
