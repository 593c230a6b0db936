/**
 * The emergency stop with a remote sandbox engine that has gone away, in the built app: a
 * mutual-TLS engine is saved through Settings → Engines' request (its check passes while it
 * runs), then its dockerd is stopped. Stop still ends at once, and the banner names that
 * engine as not reachable, in words, beside what it stopped on this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineSecretNames } from '../../electron/sandbox/engines/engineClient';
import { startTlsEngine, type TlsEngine } from '../support/engines';
import { screenshot } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

let tls: TlsEngine | undefined;
let session: BrowserSession;

beforeAll(async () => {
  tls = await startTlsEngine({ id: 'stop-tls' });
  session = await openBrowserSession();
});

afterAll(async () => {
  await session?.close();
  await tls?.stop();
});

describe('Stop with a remote engine that does not answer, in Chromium', () => {
  it('names the engine in the banner as not reachable, and says what that means', async () => {
    const engine = tls;
    if (engine === undefined) throw new Error('no TLS engine');
    const { id } = engine.profile;
    const material = { ca: engine.secret(engineSecretNames.ca(id)) ?? '', cert: engine.secret(engineSecretNames.cert(id)) ?? '', key: engine.secret(engineSecretNames.key(id)) ?? '' };
    const saved = await session.app.request('engines.save', { profile: engine.profile, material });
    expect(saved.check.ok).toBe(true);
    expect(saved.engines.engines.map((entry) => entry.profile.id)).toEqual(['local', id]);

    // The engine goes away (its host shut down): nothing listens on its port any more.
    await engine.stop();
    tls = undefined;

    const { page } = session;
    await page.getByTestId('stop-button').click();
    const banner = page.getByTestId('stop-banner');
    await expect.poll(() => banner.innerText()).toMatch(/Everything is stopped/);
    const summary = await page.getByTestId('stop-summary').innerText();
    expect(summary).toContain('Test engine over TLS: not reachable; its containers may still run, they end when their connection closes.');
    await screenshot(page, 'stop-engine-unreachable');

    const audit = await session.app.request('audit.query', { kind: 'stop', limit: 5 });
    expect(audit.entries[0]?.summary).toMatch(/1 engine\(s\) unreachable/);
    await banner.getByRole('button', { name: 'Resume' }).click();
    await banner.waitFor({ state: 'detached' });
  });
});
