/**
 * One end-to-end session: a scripted model (the Anthropic SSE stand-in), the real core and
 * browser host over it, and Debian's Chromium on the app, connected. Every end-to-end
 * suite starts from this and adds the stand-ins of its own.
 */
import type { Browser, Page } from 'playwright-core';
import type { AppSettings } from '../../../shared/contract';
import type { CoreOptions, SophiaCore } from '../../../electron/core/sophiaCore';
import type { BrowserHost } from '../../../electron/host/browserHost';
import { startHost } from '../../support/hostFixture';
import { startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { launchChromium, watchPage, type PageProblems } from './chromium';

export interface BrowserSession {
  readonly model: AnthropicStandIn;
  readonly core: SophiaCore;
  readonly host: BrowserHost;
  readonly browser: Browser;
  readonly page: Page;
  readonly watched: PageProblems;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Core options over the defaults (a fixed Anthropic key, the model stand-in). */
  readonly core?: Partial<CoreOptions>;
  /** Settings applied before the page opens (provider is Anthropic unless given). */
  readonly settings?: Partial<AppSettings>;
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Runs on the core before the page opens (register tools, subscribe to events). */
  readonly prepare?: (core: SophiaCore) => void;
}

export async function openBrowserSession(options: SessionOptions = {}): Promise<BrowserSession> {
  const model = await startAnthropicStandIn();
  const { core, host } = await startHost(undefined, {
    secrets: { get: async () => 'sk-ant-e2e' },
    endpoints: { anthropicBaseURL: model.baseURL },
    ...options.core,
  });
  core.settings.update({ provider: 'anthropic', ...options.settings });
  options.prepare?.(core);
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1500, height: 900 } });
  const watched = watchPage(page);
  await page.goto(host.url);
  await page.getByText('Connected', { exact: true }).waitFor();
  return {
    model,
    core,
    host,
    browser,
    page,
    watched,
    close: async () => {
      await browser.close();
      await host.close();
      await core.close();
      await model.close();
    },
  };
}
