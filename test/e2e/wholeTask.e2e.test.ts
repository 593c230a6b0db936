/**
 * One conversation carries a whole task in Chromium: "the tests fail: fix it, then commit it
 * on a new branch and open a pull request". The scripted model (the real Anthropic SDK against
 * the current-API stand-in, thinking on: every turn opens with a signed thinking block that must
 * come back unchanged) posts its plan, runs the failing tests with run_command in a real Docker
 * sandbox, proposes the fix, the person approves it, the tests pass, and it commits, pushes to a
 * real git http-backend and opens the pull request on the GitHub stand-in. It calls only tools it
 * was offered: the stand-in refuses anything else. It runs against the built app
 * (out/main/serve.js), with the GitHub token stored through the Credentials channel.
 * (wholeTaskOpenAi.e2e.test.ts carries out the same task through the OpenAI-compatible provider.)
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';
import { carryOutWholeTask, expectWholeTaskLanded, prepareWholeTask, wholeTaskTurns, type WholeTaskFixture } from './support/wholeTask';

let fixture: WholeTaskFixture;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let session: BrowserSession;

beforeAll(async () => {
  fixture = await prepareWholeTask();
  session = await openBrowserSession({
    // The GitHub token goes where a person puts it: Credentials, into the real keychain.
    secrets: { 'github-token': fixture.token },
    settings: fixture.settings,
    viewport: { width: 1600, height: 1000 },
    // Its log says what happened if the task stalls (printed on a failure).
    env: { SOPHIA_LOG_LEVEL: 'info' },
  });
  ({ model, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await fixture?.close();
});

describe('a whole task in one conversation', () => {
  it('the tests fail: fix it, then commit it on a new branch and open a pull request', async () => {
    // On a failure, the app's own log says what the page could not.
    onTestFailed(() => {
      process.stderr.write(`--- the app's log (tail) ---\n${session.app.log().slice(-30_000)}\n`);
    });
    model.script(
      ...wholeTaskTurns.map((turn) => ({
        kind: 'stream' as const,
        events: anthropicTurn({ ...(turn.note ? { thinking: [turn.note] } : {}), ...(turn.text ? { text: [turn.text] } : {}), tools: turn.tools }),
      })),
    );
    await carryOutWholeTask(page);
    // The progress notes between tool calls are there, quiet and collapsed.
    expect(await page.getByTestId('thinking').count()).toBeGreaterThanOrEqual(3);
    expect(await page.getByTestId('thinking').first().innerText()).toContain('The tests fail; I will run them first');
    await screenshot(page, 'whole-task');
    expectWholeTaskLanded(fixture);

    // Against today's API: every scripted call was offered, no request was refused (each
    // tool-use turn went back with its signed thinking block), and the cache breakpoints were set.
    expect(model.violations).toEqual([]);
    expect(model.refusals).toEqual([]);
    expect(model.requests).toHaveLength(10);
    const last = model.requests.at(-1)!.body;
    const assistantTurns = last.messages.filter((message) => message.role === 'assistant') as { content: { type: string }[] }[];
    expect(assistantTurns.every((turn) => turn.content[0]?.type === 'thinking')).toBe(true);
    expect(last.thinking).toEqual({ type: 'adaptive', display: 'summarized' });

    // The plan is stored with the conversation and comes back on reopening.
    const [conversation] = (await session.app.request('conversation.list', {})).conversations;
    const reopened = (await session.app.request('conversation.open', { conversationId: conversation!.id })) as { events: { type: string; steps?: { status: string }[] }[] };
    expect(reopened.events.filter((event) => event.type === 'agent.plan').at(-1)?.steps?.map((step) => step.status)).toEqual(['done', 'done', 'done', 'done']);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
