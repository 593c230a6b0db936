/**
 * Settings → Telemetry in Chromium, against the built app: the person turns export on, gives
 * a loopback OTLP endpoint and a header (saved to the real keychain), and the next turn's
 * spans arrive at the receiver, decoded, with the header and without the prompt's text.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace } from '../support/agentFixture';
import { OtlpReceiver } from '../support/otlpReceiver';
import { anthropicTurn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

const headerValue = 'otlp-e2e-key-3f9a71';
const prompt = 'PROMPT-E2E-7c1d: what is in this workspace?';
let receiver: OtlpReceiver;
let session: BrowserSession;
let page: Page;
let watched: PageProblems;

beforeAll(async () => {
  receiver = new OtlpReceiver();
  await receiver.start();
  session = await openBrowserSession({ settings: { workspace: await makeWorkspace() } });
  ({ page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await receiver?.close();
});

describe('Telemetry from Settings, in Chromium', () => {
  it('is off until turned on in Settings, and is saved with its header in the keychain', async () => {
    expect(await session.app.request('settings.get', {})).toMatchObject({ telemetry: { enabled: false, endpoint: '', captureContent: false } });
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const section = page.getByTestId('settings-telemetry');
    await section.scrollIntoViewIfNeeded();
    await expect.poll(() => page.getByTestId('telemetry-status').innerText()).toContain('Not exporting.');
    await page.getByTestId('telemetry-enabled').check();
    await page.getByTestId('telemetry-endpoint').fill(receiver.url);
    await page.getByTestId('telemetry-headers').fill(`x-otlp-key=${headerValue}`);
    await page.getByRole('button', { name: 'Save telemetry' }).click();
    await section.getByText('Saved. The next turn is exported.').waitFor();
    expect(await session.app.request('settings.get', {})).toMatchObject({ telemetry: { enabled: true, endpoint: receiver.url, captureContent: false } });
    const listed = (await session.app.request('secrets.list', {})) as { secrets: { name: string; set: boolean }[] };
    expect(listed.secrets.find((secret) => secret.name === 'otlp-headers')?.set).toBe(true);
    expect(JSON.stringify(listed)).not.toContain(headerValue);
    await page.getByRole('button', { name: 'Close' }).first().click();
  });

  it("exports the next turn's spans to the endpoint, without its content", async () => {
    session.model.script({ kind: 'stream', events: anthropicTurn({ text: ['A payroll project.'], inputTokens: 700, outputTokens: 12 }) });
    const input = page.getByTestId('composer-input');
    await input.fill(prompt);
    await input.press('Enter');
    await expect.poll(() => page.getByTestId('message-assistant').last().innerText()).toContain('A payroll project.');

    // The batch goes out within its 2 s delay.
    await receiver.until(() => receiver.spans.some((span) => span.name === 'invoke_agent Sophia') && receiver.spans.some((span) => span.name.startsWith('chat ')), 'the turn and its model call');
    const root = receiver.spans.find((span) => span.name === 'invoke_agent Sophia');
    const chat = receiver.spans.find((span) => span.name.startsWith('chat '));
    expect(root?.parentSpanId).toBe('');
    expect(chat?.parentSpanId).toBe(root?.spanId);
    expect(chat?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.usage.input_tokens': 700, 'gen_ai.usage.output_tokens': 12 });
    expect(receiver.requests.every((request) => request.headers['x-otlp-key'] === headerValue)).toBe(true);
    const received = Buffer.concat(receiver.requests.map((request) => request.body));
    expect(received.includes(Buffer.from('PROMPT-E2E-7c1d'))).toBe(false);
    expect(received.includes(Buffer.from('A payroll project.'))).toBe(false);

    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByTestId('settings-telemetry').scrollIntoViewIfNeeded();
    await expect.poll(() => page.getByTestId('telemetry-status').innerText()).toMatch(/Exporting: [1-9]\d* spans sent\./);
    await screenshot(page, 'settings-telemetry');
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
