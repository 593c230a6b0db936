/**
 * Pulumi and Snowflake settings, and Snowflake DDL, in Chromium. The person fills in the
 * Pulumi project and backend and a Snowflake connection per environment in the Settings
 * panel and saves them (the staging connection points at the loopback stand-in that speaks
 * Snowflake's REST protocol). Then "Deploy the Snowflake schema changes to staging" with a
 * scripted model (the real Anthropic SDK against its stand-in): the DDL is planned
 * (validated, classified, dry-run on a shadow copy), the approval card shows the DDL and
 * each statement's classification, the person approves, and exactly that DDL reaches
 * Snowflake through the real snowflake-sdk. A DROP whose recovery point cannot be recorded
 * is refused and never reaches Snowflake.
 */
import { openBrowserSession, type BrowserSession } from './support/session';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentPlan } from '../../shared/contract';
import { makeWorkspace } from '../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { employeesTable, snowflakeStandInAccount, startSnowflakeStandIn, type SnowflakeStandIn } from '../support/standIns/snowflakeStandIn';
import { screenshot, type PageProblems } from './support/chromium';
import type { ServedApp } from '../support/servedApp';

let app: ServedApp;
let model: AnthropicStandIn;
let snowflake: SnowflakeStandIn;
let page: Page;
let watched: PageProblems;
/** The plans the app pushed, in order. */
const plans = (): DeploymentPlan[] => app.events.flatMap((event) => (event.type === 'deployment.plan' ? [event.plan] : []));

let session: BrowserSession;
beforeAll(async () => {
  snowflake = await startSnowflakeStandIn({ EMPLOYEES: employeesTable, OLD_PAYSLIPS: [{ name: 'ID', type: 'NUMBER(38,0)', nullable: false }] });
  session = await openBrowserSession({
    secrets: { 'snowflake-password': snowflakeStandInAccount.password },
    settings: { workspace: await makeWorkspace() },
    viewport: { width: 1600, height: 1000 },
  });
  ({ model, app, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
  await snowflake?.close();
});

/** What reached Snowflake apart from Sophia's own catalogue and clock lookups. */
const ddlSent = () => snowflake.statements.filter((sql) => !/INFORMATION_SCHEMA|CURRENT_TIMESTAMP/.test(sql));

async function ask(text: string): Promise<void> {
  await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
}

function cardFor(operation: RegExp) {
  return page.getByTestId('approval-card').filter({ hasText: operation });
}

async function approve(operation: RegExp): Promise<void> {
  const card = cardFor(operation);
  await card.waitFor({ timeout: 30_000 });
  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  await card.waitFor({ state: 'detached' });
}

/** Asks the scripted model to plan `ddl` on staging, approves the (low-risk) plan, and returns it. */
async function planned(request: string, ddl: string): Promise<DeploymentPlan> {
  const before = plans().length;
  model.script(
    { kind: 'stream', events: anthropicTurn({ text: ['Planning the DDL against a shadow copy first.'], tools: [{ name: 'snowflake_plan', input: { environment: 'staging', text: ddl } }] }) },
    { kind: 'stream', events: anthropicTurn({ text: ['The plan is ready. Shall I apply it?'] }) },
  );
  await ask(request);
  await approve(/plan Snowflake DDL for staging/);
  await expect.poll(() => plans().length, { timeout: 30_000 }).toBe(before + 1);
  await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
  return plans().at(-1)!;
}

function applyScript(plan: DeploymentPlan, ddl: string, reply: string): void {
  model.script(
    { kind: 'stream', events: anthropicTurn({ text: ['Applying the planned DDL.'], tools: [{ name: 'snowflake_apply', input: { environment: 'staging', planId: plan.deploymentId, ddl } }] }) },
    { kind: 'stream', events: anthropicTurn({ text: [reply] }) },
  );
}

describe('Pulumi and Snowflake settings, and Snowflake DDL, in Chromium', () => {
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
    // Each section saves on its own, its status beside its Save.
    await pulumi.getByRole('button', { name: 'Save pulumi' }).click();
    await expect.poll(() => pulumi.getByTestId('settings-status').innerText()).toBe('Saved.');
    const snowflakeSection = page.getByTestId('settings-snowflake');
    await snowflakeSection.getByRole('button', { name: 'Save snowflake' }).click();
    await expect.poll(() => snowflakeSection.getByTestId('settings-status').innerText()).toBe('Saved.');
    expect(await app.request('settings.get', {})).toMatchObject({
      pulumiProjectDir: 'infra/mcp',
      pulumiBackendUrl: 'file:///var/lib/pulumi-state',
      snowflake: {
        staging: { account: 'acme-staging', username: 'SOPHIA_DEPLOY', warehouse: 'DEPLOY_WH', database: 'PAYROLL', schema: 'HR', role: 'SYSADMIN', accessUrl: snowflake.accessUrl },
        production: { account: 'acme-prod', username: 'SOPHIA_RELEASE', warehouse: '', database: '', schema: '', role: 'DEPLOYER', accessUrl: '' },
      },
    });

    // A folder outside the workspace is refused with the schema's message, and nothing changes.
    await pulumi.getByLabel('Project folder (inside the workspace)').fill('../elsewhere');
    await pulumi.getByRole('button', { name: 'Save pulumi' }).click();
    await expect.poll(() => pulumi.getByTestId('settings-status').innerText()).toContain('a folder inside the workspace');
    expect((await app.request('settings.get', {})).pulumiProjectDir).toBe('infra/mcp');

    // Reopened, the panel shows what was saved.
    await page.getByRole('button', { name: 'Close' }).first().click();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    expect(await page.getByTestId('settings-pulumi').getByLabel('Project folder (inside the workspace)').inputValue()).toBe('infra/mcp');
    expect(await page.getByTestId('settings-snowflake-staging').getByLabel('Access URL', { exact: true }).inputValue()).toBe(snowflake.accessUrl);
    await page.getByRole('button', { name: 'Close' }).first().click();
    expect(snowflake.loginCount()).toBe(0);
  });

  it('"Deploy the Snowflake schema changes to staging": the card shows the DDL and its classification; approved, exactly that DDL reaches Snowflake', async () => {
    const ddl = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);\nALTER TABLE EMPLOYEES ADD COLUMN EMAIL VARCHAR(320);';
    const plan = await planned('Deploy the Snowflake schema changes to staging', ddl);
    expect(plan.summary).toBe('2 statement(s): 2 additive, 0 changing, 0 destructive');
    // Planning read the tables' definitions only.
    expect(ddlSent()).toEqual([]);

    applyScript(plan, ddl, 'PHONE_NUMBER and EMAIL are on EMPLOYEES in staging.');
    await ask('yes, apply it');
    const card = cardFor(/apply DDL to Snowflake staging/);
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getByTestId('approval-risk').innerText()).toMatch(/^high$/i);
    const preview = await card.getByTestId('approval-preview').innerText();
    expect(preview).toContain('2 statement(s): 2 additive, 0 changing, 0 destructive');
    expect(preview).toContain('line 1 [additive] ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20)');
    expect(preview).toContain('line 2 [additive] ALTER TABLE EMPLOYEES ADD COLUMN EMAIL VARCHAR(320)');
    expect(preview).toContain(ddl);
    // Nothing runs before the approval.
    expect(ddlSent()).toEqual([]);
    await screenshot(page, 'snowflake-approval');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await card.waitFor({ state: 'detached' });

    await expect.poll(() => page.getByTestId('message-assistant').last().innerText(), { timeout: 30_000 }).toContain('PHONE_NUMBER and EMAIL are on EMPLOYEES');
    expect(ddlSent()).toEqual(['ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20)', 'ALTER TABLE EMPLOYEES ADD COLUMN EMAIL VARCHAR(320)']);
    expect(snowflake.tables.get('EMPLOYEES')?.map((column) => column.name)).toEqual(['ID', 'NAME', 'SALARY', 'MANAGER_ID', 'PHONE_NUMBER', 'EMAIL']);
    const applied = page.getByTestId('tool-call').last();
    await applied.getByRole('button').click();
    expect(await applied.getByTestId('tool-output').innerText()).toBe('Applied 2 statement(s) to staging.');
    // The deployment monitor shows each statement run, with its classification.
    const monitor = page.getByTestId('deployment').first();
    expect(await monitor.getAttribute('aria-label')).toBe('Snowflake DDL of staging');
    expect(await monitor.getByTestId('deployment-status').innerText()).toMatch(/^succeeded$/i);
    const steps = await monitor.getByTestId('deployment-step').allInnerTexts();
    expect(steps).toHaveLength(2);
    for (const step of steps) expect(step).toMatch(/^\+\s*line \d\s*ALTER TABLE EMPLOYEES ADD COLUMN \w+ VARCHAR\(\d+\)\s*additive\s*done/);
    await screenshot(page, 'snowflake-applied');
  });

  it('a destructive statement is critical on the card and, with no recovery point recorded, refused before it reaches Snowflake', async () => {
    snowflake.refuse = /CLONE/;
    const ddl = 'DROP TABLE OLD_PAYSLIPS;';
    const plan = await planned('Deploy the Snowflake schema changes to staging: drop the old payslips table', ddl);
    expect(plan.summary).toBe('1 statement(s): 0 additive, 0 changing, 1 destructive');

    const sentBefore = ddlSent().length;
    applyScript(plan, ddl, 'The DROP was refused because no recovery point could be recorded; OLD_PAYSLIPS is untouched.');
    await ask('apply it');
    const card = cardFor(/apply DDL to Snowflake staging/);
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getByTestId('approval-risk').innerText()).toMatch(/^critical$/i);
    expect(await card.innerText()).toContain('runs a DROP or TRUNCATE');
    const preview = await card.getByTestId('approval-preview').innerText();
    expect(preview).toContain('line 1 [destructive] DROP TABLE OLD_PAYSLIPS');
    expect(preview).toContain('a zero-copy clone of the table and a Time Travel point are recorded');
    expect(await card.getByRole('button', { name: 'Approve for this session' }).count()).toBe(0);
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await card.waitFor({ state: 'detached' });

    await expect.poll(() => page.getByTestId('message-assistant').last().innerText(), { timeout: 30_000 }).toContain('The DROP was refused');
    expect(await page.getByTestId('tool-call').last().innerText()).toMatch(/Line 1 refused: no recovery point could be recorded for OLD_PAYSLIPS/);
    // Only the attempted recovery clone was sent; the DROP never was.
    expect(ddlSent().slice(sentBefore).every((sql) => /CLONE/.test(sql))).toBe(true);
    expect(ddlSent().some((sql) => /^DROP/i.test(sql))).toBe(false);
    expect(snowflake.tables.has('OLD_PAYSLIPS')).toBe(true);
    const monitor = page.getByTestId('deployment').first();
    expect(await monitor.getByTestId('deployment-status').innerText()).toMatch(/^failed$/i);
    expect(await monitor.innerText()).toContain('the destructive statement was not run');
    await screenshot(page, 'snowflake-destructive-refused');
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
