/**
 * Pulumi and Snowflake settings in Chromium. The person fills in the Pulumi project and
 * backend and a Snowflake connection per environment in the Settings panel and saves them
 * (the staging connection points at the loopback stand-in that speaks Snowflake's REST
 * protocol); a folder outside the workspace is refused with the schema's message.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost } from '../support/hostFixture';
import { makeWorkspace } from '../support/agentFixture';
import { startAnthropicStandIn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { employeesTable, snowflakeStandInAccount, startSnowflakeStandIn, type SnowflakeStandIn } from '../support/standIns/snowflakeStandIn';
import { launchChromium, screenshot, watchPage, type PageProblems } from './support/chromium';
import type { BrowserHost } from '../../electron/host/browserHost';
import type { SophiaCore } from '../../electron/core/sophiaCore';

let browser: Browser;
let host: BrowserHost;
let core: SophiaCore;
let model: AnthropicStandIn;
let snowflake: SnowflakeStandIn;
let page: Page;
let watched: PageProblems;

beforeAll(async () => {
  model = await startAnthropicStandIn();
  snowflake = await startSnowflakeStandIn({ EMPLOYEES: employeesTable, OLD_PAYSLIPS: [{ name: 'ID', type: 'NUMBER(38,0)', nullable: false }] });
  ({ core, host } = await startHost(undefined, {
    secrets: { get: async (name) => (name === 'snowflake-password' ? snowflakeStandInAccount.password : 'sk-ant-e2e') },
    endpoints: { anthropicBaseURL: model.baseURL },
  }));
  core.settings.update({ provider: 'anthropic', workspace: await makeWorkspace() });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  watched = watchPage(page);
  await page.goto(host.url);
  await page.getByText('Connected', { exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await core?.close();
  await model?.close();
  await snowflake?.close();
});

describe('Pulumi and Snowflake settings in Chromium', () => {
  it('saves the Pulumi project and backend and a Snowflake connection per environment from the Settings panel', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const pulumi = page.getByTestId('settings-pulumi');
    await pulumi.getByLabel('Project folder (inside the workspace)').fill('infra/mcp');
    await pulumi.getByLabel('State backend URL').fill('file:///var/lib/pulumi-state');
    const staging = page.getByTestId('settings-snowflake-staging');
    const fields = { Account: 'acme-staging', User: snowflakeStandInAccount.user, Warehouse: 'DEPLOY_WH', Database: 'PAYROLL', Schema: 'HR', Role: 'SYSADMIN', 'Access URL': snowflake.accessUrl };
    for (const [label, value] of Object.entries(fields)) await staging.getByLabel(label, { exact: true }).fill(value);
    const production = page.getByTestId('settings-snowflake-production');
    await production.getByLabel('Account', { exact: true }).fill('acme-prod');
    await production.getByLabel('User', { exact: true }).fill('SOPHIA_RELEASE');
    await production.getByLabel('Role', { exact: true }).fill('DEPLOYER');
    await page.getByTestId('settings-snowflake').scrollIntoViewIfNeeded();
    await screenshot(page, 'settings-infrastructure');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    expect(core.settings.get()).toMatchObject({
      pulumiProjectDir: 'infra/mcp',
      pulumiBackendUrl: 'file:///var/lib/pulumi-state',
      snowflake: {
        staging: { account: 'acme-staging', username: 'SOPHIA_DEPLOY', warehouse: 'DEPLOY_WH', database: 'PAYROLL', schema: 'HR', role: 'SYSADMIN', accessUrl: snowflake.accessUrl },
        production: { account: 'acme-prod', username: 'SOPHIA_RELEASE', warehouse: '', database: '', schema: '', role: 'DEPLOYER', accessUrl: '' },
      },
    });

    // A folder outside the workspace is refused with the schema's message, and nothing changes.
    await pulumi.getByLabel('Project folder (inside the workspace)').fill('../elsewhere');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByTestId('settings-status').innerText()).toContain('a folder inside the workspace');
    expect(core.settings.get().pulumiProjectDir).toBe('infra/mcp');

    // Reopened, the panel shows what was saved.
    await page.getByRole('button', { name: 'Close' }).first().click();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    expect(await page.getByTestId('settings-pulumi').getByLabel('Project folder (inside the workspace)').inputValue()).toBe('infra/mcp');
    expect(await page.getByTestId('settings-snowflake-staging').getByLabel('Access URL', { exact: true }).inputValue()).toBe(snowflake.accessUrl);
    await page.getByRole('button', { name: 'Close' }).first().click();
    expect(snowflake.loginCount()).toBe(0);
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
