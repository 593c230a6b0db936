/**
 * A SOURCE-LEVEL session, for the few end-to-end checks that must reach inside the core
 * (register a recording tool, hold a sandbox container, read the audit log directly): the
 * core and browser host built from source in the test process, a scripted model, Chromium.
 * Every user-facing flow also runs against the built app (./session.ts, `out/main/serve.js`).
 */
import type { Browser, Page } from 'playwright-core';
import type { AppSettings } from '../../../shared/contract';
import type { CoreOptions, SophiaCore } from '../../../electron/app/sophiaCore';
import type { BrowserHost } from '../../../electron/host/browserHost';
import { startHost } from '../../support/hostFixture';
import { startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { launchChromium, watchPage, type PageProblems } from './chromium';

export interface SourceSession {
  readonly model: AnthropicStandIn;
  readonly core: SophiaCore;
  readonly host: BrowserHost;
  readonly browser: Browser;
  readonly page: Page;
  readonly watched: PageProblems;
  close(): Promise<void>;
}

export interface SourceSessionOptions {
  /** Core options over the defaults (a fixed Anthropic key, the model stand-in). */
  readonly core?: Partial<CoreOptions>;
  /** Settings applied before the page opens (provider is Anthropic unless given). */
  readonly settings?: Partial<AppSettings>;
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Runs on the core before the page opens (register tools, subscribe to events). */
  readonly prepare?: (core: SophiaCore) => void;
}

export async function openSourceSession(options: SourceSessionOptions = {}): Promise<SourceSession> {
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
