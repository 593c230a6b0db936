/**
 * One end-to-end session against the BUILT app: `out/main/serve.js` (what `npm run serve`
 * runs) as a child process with its own data folder and keychain service, a scripted model
 * (the Anthropic SSE stand-in) reached through ANTHROPIC_BASE_URL, the Anthropic key and any
 * other secret stored through the Credentials channel into the real OS keychain, settings
 * through the settings channel, and Debian's Chromium on the printed address, connected.
 * Every end-to-end suite starts from this and adds the stand-ins of its own.
 * (./sourceSession.ts builds the core from source instead, for the checks that reach inside it.)
 */
import type { Browser, Page } from 'playwright-core';
import type { RequestInput, SecretName } from '../../../shared/contract';
import { startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { startServedApp, storeSecrets, type ServedApp } from '../../support/servedApp';
import { launchChromium, watchPage, type PageProblems } from './chromium';

export interface BrowserSession {
  readonly model: AnthropicStandIn;
  /** The running built app: its address, pid, events, and requests over its WebSocket. */
  readonly app: ServedApp;
  readonly browser: Browser;
  readonly page: Page;
  readonly watched: PageProblems;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Settings saved through the settings channel before the page opens (provider is Anthropic unless given). */
  readonly settings?: RequestInput<'settings.set'>;
  /**
   * Secrets stored through the Credentials channel into the real keychain before the page
   * opens; `anthropic-api-key` is `sk-ant-e2e` unless given (undefined leaves it unset).
   */
  readonly secrets?: Partial<Record<SecretName, string | undefined>>;
  /** Environment for the app over the test's own (PATH for a stand-in CLI, variables an outside MCP server gets). */
  readonly env?: Readonly<Record<string, string>>;
  /** A Pulumi installation root (`<root>/bin/pulumi`), put first on the app's PATH as a person would. */
  readonly pulumiCliRoot?: string;
  readonly viewport?: { readonly width: number; readonly height: number };
  /** A data folder prepared before the app starts (a stored conversation); a fresh one otherwise. */
  readonly dataDir?: string;
}

export async function openBrowserSession(options: SessionOptions = {}): Promise<BrowserSession> {
  const model = await startAnthropicStandIn();
  const env: Record<string, string> = { ANTHROPIC_BASE_URL: model.baseURL, ...options.env };
  if (options.pulumiCliRoot) env['PATH'] = `${options.pulumiCliRoot}/bin:${options.env?.['PATH'] ?? process.env['PATH'] ?? ''}`;
  let app: ServedApp | undefined;
  let browser: Browser | undefined;
  try {
    app = await startServedApp({ env, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
    await storeSecrets(app, { 'anthropic-api-key': 'sk-ant-e2e', ...options.secrets });
    await app.request('settings.set', { provider: 'anthropic', ...options.settings });
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1500, height: 900 } });
    const watched = watchPage(page);
    await page.goto(app.url);
    await page.getByText('Connected', { exact: true }).waitFor();
    const opened = { app, browser };
    let closing: Promise<void> | undefined;
    return {
      model,
      app,
      browser,
      page,
      watched,
      close: () =>
        (closing ??= (async () => {
          await opened.browser.close();
          if (process.env['SOPHIA_E2E_DEBUG']) process.stderr.write(opened.app.log());
          await opened.app.close();
          await model.close();
        })()),
    };
  } catch (error) {
    await browser?.close();
    await app?.close();
    await model.close();
    throw error;
  }
}
