/**
 * Egress and a run secret in the BUILT app, in Chromium, with the real sandbox: the person
 * saves NOTION_TOKEN under Settings → Run secrets; the scripted model asks run_command for
 * egress to a loopback API stand-in and for NOTION_TOKEN; the approval card is high risk,
 * offers no session approval and names the host and the secret (never the value); approved,
 * the command reaches the stand-in with the token through the proxy, and the chat shows the
 * output with the value cut. The value is nowhere on the page, in the app's log or in the
 * model's requests; every proxy connection is in the audit log.
 */
import { createServer, type Server } from 'node:http';
import { chmod, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorkspace } from '../support/agentFixture';
import type { ServedApp } from '../support/servedApp';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import { openBrowserSession, type BrowserSession } from './support/session';

let session: BrowserSession;
let app: ServedApp;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let api: Server;
let apiPort: number;
const received: string[] = [];
const token = 'secret_e2eNotionToken0123456789abcdef';

beforeAll(async () => {
  api = createServer((request, response) => {
    received.push(request.headers.authorization ?? '');
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ object: 'list', results: [{ id: 'page-1' }], echoed: request.headers.authorization }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiPort = (api.address() as net.AddressInfo).port;
  const workspace = await makeWorkspace();
  await writeFile(
    path.join(workspace, 'sync.py'),
    `import json, os, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + os.environ["NOTION_TOKEN"]})
body = json.loads(urllib.request.urlopen(req, timeout=10).read())
print("synced", len(body["results"]), "page(s); the API saw:", body["echoed"])
`,
  );
  // The sandbox's command user may not be this process's user: the workspace is readable by all.
  await chmod(workspace, 0o755);
  session = await openBrowserSession({ settings: { workspace } });
  ({ app, model, page, watched } = session);
}, 180_000);

afterAll(async () => {
  await session?.close();
  await new Promise((resolve) => api?.close(resolve));
});

describe('egress and a run secret, in the built app', () => {
  it('saves a run secret from Settings, shown by name only', async () => {
    await page.getByTestId('open-credentials').click();
    const section = page.getByTestId('settings-run-secrets');
    await section.waitFor();
    await section.getByLabel('Run secret name').fill('NOTION_TOKEN');
    await section.getByLabel('Run secret value').fill(token);
    await section.getByRole('button', { name: 'Save run secret' }).click();
    await expect.poll(() => section.getByTestId('run-secret-NOTION_TOKEN').innerText()).toContain('Set');
    expect(await section.getByLabel('Run secret value').inputValue()).toBe('');
    expect(await page.content()).not.toContain(token);
    await page.getByTestId('open-credentials').click();
  });

  it('asks on a high-risk card naming the host and the secret, and runs the command through the proxy once approved', async () => {
    const input = { command: `python3 sync.py http://127.0.0.1:${apiPort}/v1/databases/db-1/query`, egress: [`127.0.0.1:${apiPort}`], secrets: ['NOTION_TOKEN'], timeoutSeconds: 90 };
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Reproducing the sync in the sandbox, against the API.'], tools: [{ name: 'run_command', input }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The sync reached the API and read one page.'] }) },
    );
    const composer = page.getByTestId('composer-input');
    await composer.fill('The Notion sync is failing, please investigate and fix.');
    await composer.press('Enter');
    const card = page.getByTestId('approval-card');
    await card.waitFor({ timeout: 60_000 });
    expect(await card.getByTestId('approval-risk').innerText()).toMatch(/^high$/i);
    expect(await card.getByTestId('approval-grant-host').allInnerTexts()).toEqual([`127.0.0.1:${apiPort}`]);
    expect(await card.getByTestId('approval-grant-secret').allInnerTexts()).toEqual(['NOTION_TOKEN']);
    expect(await card.getByRole('button', { name: 'Approve for this session' }).count()).toBe(0);
    expect(await card.getByTestId('approval-preview').innerText()).toContain(`Network egress for this run only, through Sophia's proxy, to: 127.0.0.1:${apiPort}`);
    expect(await page.content()).not.toContain(token);
    await screenshot(page, 'egress-card');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.waitFor({ state: 'detached' });
    const call = page.getByTestId('tool-call').last();
    await expect
      .poll(() => call.getAttribute('class'), { timeout: 180_000 })
      .toMatch(/tool-(ok|failed)/)
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)}\nThe page says:\n${(await page.locator('main').innerText()).slice(-3000)}`);
      });
    // A run that succeeded shows its output when opened.
    if ((await call.getAttribute('class'))?.includes('tool-ok')) await call.locator('.tool-header').click();
    const output = call.getByTestId('tool-output');
    expect(await output.innerText()).toContain('the API saw: Bearer [redacted:NOTION_TOKEN]');
    expect(await output.innerText()).toContain('Egress: 1 connection(s) allowed, 0 refused.');
    expect(received).toEqual([`Bearer ${token}`]);
    await expect.poll(() => model.requests.length).toBe(2);

    // The value: not on the page, not in the model's requests, not in the app's log.
    expect(await page.content()).not.toContain(token);
    expect(JSON.stringify(model.requests.map((request) => request.body))).not.toContain(token);
    expect(app.log()).not.toContain(token);
    // Every proxy connection is in the audit log.
    const egress = await app.request('audit.query', { kind: 'egress' });
    expect(egress.entries.map((entry) => JSON.parse(entry.data).event).sort()).toEqual(['close', 'open']);
    expect(JSON.stringify(egress.entries)).not.toContain(token);
  }, 240_000);

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
