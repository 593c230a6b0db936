/**
 * Long sessions in Chromium, against the built app. A 200 KB tool output (the real agent
 * reading a file the scripted model asks for) shows as its head and tail with an "open full
 * output" link, and the viewer pages through the whole text. A stored conversation of 2,000
 * messages (written through the real store before the app starts) reopens with only the
 * rows in view mounted, shows its last message, scrolls to its first, and "find in
 * conversation" reaches a row that is not mounted; the model's plan stays mounted wherever
 * the view is.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolOutputLimits } from '../../shared/toolOutput';
import { makeWorkspace } from '../support/agentFixture';
import { tempDataDir } from '../support/hostFixture';
import { seedLongConversation, type LongConversation } from '../support/longSession';
import { anthropicTurn } from '../support/standIns/anthropicStandIn';
import { screenshot } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

const messages = 2000;
const bigLog = Array.from({ length: 6000 }, (_, i) => `build ${String(i).padStart(5, '0')} ${'w'.repeat(28)}`).join('\n').slice(0, 200 * 1024);

let session: BrowserSession;
let page: Page;
let long: LongConversation;

beforeAll(async () => {
  const dataDir = tempDataDir();
  long = seedLongConversation(dataDir, { messages, bigOutputs: 3, outputChars: 200 * 1024, title: 'Long session' });
  const workspace = await makeWorkspace();
  await writeFile(path.join(workspace, 'build.log'), bigLog);
  session = await openBrowserSession({ dataDir, settings: { workspace } });
  page = session.page;
});

afterAll(async () => {
  await session?.close();
});

const rowsMounted = (): Promise<number> => page.getByTestId('chat-row').count();

describe('long sessions in Chromium', () => {
  it('a 200 KB tool output shows its head and tail and a link; the link opens the whole text, page by page', async () => {
    session.model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Reading the build log.'], tools: [{ name: 'read_file', input: { path: 'build.log' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The build log is long.'] }) },
    );
    const input = page.getByTestId('composer-input');
    await input.fill('read build.log');
    await input.press('Enter');
    const tool = page.getByTestId('tool-call').last();
    await expect.poll(() => tool.innerText(), { timeout: 30_000 }).toMatch(/read_file[\s\S]*ok/);
    await tool.locator('.tool-header').click();

    const shown = await tool.getByTestId('tool-output').innerText();
    expect(shown).toContain('build 00000');
    expect(shown).toContain(bigLog.slice(-40));
    expect(shown).not.toContain('build 03000');
    expect(shown.length).toBeLessThan(toolOutputLimits.shownChars + 200);
    expect(await tool.getByTestId('tool-output-cut').innerText()).toMatch(/more characters/);
    const link = tool.getByTestId('tool-output-open');
    expect(await link.innerText()).toContain((200 * 1024).toLocaleString('en'));
    await screenshot(page, 'long-session-tool-output');

    await link.click();
    const viewer = page.getByTestId('tool-output-viewer');
    await viewer.waitFor();
    let whole = '';
    for (let pages = 0; pages < 10; pages += 1) {
      await expect.poll(() => viewer.getByTestId('tool-output-range').innerText()).toMatch(/^characters/);
      const range = await viewer.getByTestId('tool-output-range').innerText();
      const from = Number(/characters ([\d,]+)–/.exec(range)?.[1]?.replaceAll(',', ''));
      expect(from).toBe(whole.length);
      whole += await viewer.getByTestId('tool-output-full').evaluate((element) => element.textContent ?? '');
      if (pages === 0) await screenshot(page, 'long-session-viewer');
      const next = viewer.getByTestId('tool-output-next');
      if (await next.isDisabled()) break;
      await next.click();
      await expect.poll(() => viewer.getByTestId('tool-output-range').innerText()).not.toBe(range);
    }
    expect(whole).toBe(bigLog);
    await viewer.getByTestId('tool-output-close').click();
    await viewer.waitFor({ state: 'detached' });
  });

  it('a 2,000-message conversation reopens with far fewer rows mounted than messages, shows the last, scrolls to the first, and finds an unmounted one', async () => {
    await page.getByTitle(long.title).click();
    const list = page.getByTestId('message-list');
    await expect.poll(() => list.innerText(), { timeout: 30_000 }).toContain(long.lastText);
    const mounted = await rowsMounted();
    expect(mounted).toBeGreaterThan(0);
    expect(mounted).toBeLessThan(60);
    expect(await page.getByTestId('message-user').count() + (await page.getByTestId('message-assistant').count())).toBeLessThan(60);
    // The last message is on screen, not just in the DOM.
    await expect.poll(() => page.getByText(long.lastText).isVisible()).toBe(true);
    // The plan, posted near the start, stays mounted as the one live checklist.
    expect(await page.getByTestId('plan-step').count()).toBe(2);
    await screenshot(page, 'long-session-reopened');

    // Scrolled to the top: the first message, and still only a window of rows.
    await list.evaluate((element) => (element.scrollTop = 0));
    await expect.poll(() => list.innerText()).toContain(long.firstText);
    expect(await rowsMounted()).toBeLessThan(60);
    expect(await list.innerText()).not.toContain(long.lastText);

    // Find reaches a row far from the view (not mounted before), and scrolls it into view.
    const target = 'Message 1003:';
    expect(await list.innerText()).not.toContain(target);
    await page.getByTestId('chat-find').fill(target);
    await page.getByTestId('chat-find').press('Enter');
    await expect.poll(() => page.locator('.chat-row-found').innerText()).toContain(target);
    await expect.poll(() => page.locator('.chat-row-found').isVisible()).toBe(true);
    expect(await rowsMounted()).toBeLessThan(60);

    // A big output in the stored conversation: its card still opens the whole text.
    await page.getByTestId('chat-find').fill('cat build-1.log');
    await page.getByTestId('chat-find').press('Enter');
    const card = page.locator('.chat-row-found').getByTestId('tool-call');
    await card.locator('.tool-header').click();
    await card.getByTestId('tool-output-open').click();
    await expect.poll(() => page.getByTestId('tool-output-full').evaluate((element) => element.textContent ?? '')).toBe(long.bigOutput(1).slice(0, toolOutputLimits.pageChars));
    await page.getByTestId('tool-output-close').click();

    // Back to the bottom: the last message again.
    await list.evaluate((element) => (element.scrollTop = element.scrollHeight));
    await expect.poll(() => page.getByText(long.lastText).isVisible()).toBe(true);
    expect(session.watched.problems).toEqual([]);
  });
});
