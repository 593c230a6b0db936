/**
 * "Deploy the Snowflake schema changes to staging" through the real core: the agent (real
 * Anthropic SDK against its stand-in) plans the DDL (validated, classified, dry-run), the
 * approval card shows the DDL and its classification, and the approved DDL runs through the
 * real snowflake-sdk against the REST stand-in. A destructive statement without a recovery
 * point is refused; production needs the admin role.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../../../shared/contract';
import { harness, makeWorkspace, ofType, type AgentHarness } from '../../../support/agentFixture';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../../support/standIns/anthropicStandIn';
import { employeesTable, snowflakeStandInAccount, startSnowflakeStandIn, type SnowflakeStandIn } from '../../../support/standIns/snowflakeStandIn';
import { testKeychain } from '../../keychain/keychainSupport';

let model: AnthropicStandIn;
let stand: SnowflakeStandIn;
let h: AgentHarness;
const cards: ApprovalRequest[] = [];

beforeAll(async () => {
  model = await startAnthropicStandIn();
});

afterAll(async () => {
  await model.close();
});

afterEach(async () => {
  await h.core.close();
  await stand.close();
  cards.length = 0;
});

async function setUp(): Promise<void> {
  stand = await startSnowflakeStandIn({ EMPLOYEES: employeesTable, OLD_PAYSLIPS: [{ name: 'ID', type: 'NUMBER(38,0)', nullable: false }] });
  h = harness({
    keychain: testKeychain(),
    secrets: { get: async (name) => (name === 'snowflake-password' ? snowflakeStandInAccount.password : 'sk-ant-test-key') },
    endpoints: { anthropicBaseURL: model.baseURL },
    approvalTimeoutMs: 10_000,
  });
  const connection = { account: 'acme-staging', username: snowflakeStandInAccount.user, warehouse: 'DEPLOY_WH', database: 'PAYROLL', schema: 'HR', role: 'SYSADMIN', accessUrl: stand.accessUrl };
  h.core.settings.update({ provider: 'anthropic', workspace: await makeWorkspace(), snowflake: { staging: connection, production: connection } });
  h.core.events.subscribe((event) => {
    if (event.type !== 'approval.request') return;
    cards.push(event);
    setTimeout(() => h.core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' }), 5);
  });
}

const ddlSent = () => stand.statements.filter((sql) => !/INFORMATION_SCHEMA|CURRENT_TIMESTAMP/.test(sql));

describe('Snowflake DDL through the agent', () => {
  it('plans (validated, classified, dry-run), shows the DDL on the card, and applies it after approval', async () => {
    await setUp();
    const ddl = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);\nALTER TABLE EMPLOYEES ADD COLUMN EMAIL VARCHAR(320);';
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Planning the DDL.'], tools: [{ name: 'snowflake_plan', input: { environment: 'staging', text: ddl } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Two additive statements, dry-run clean. Apply?'] }) },
    );
    const first = await h.turn('Deploy the Snowflake schema changes to staging');
    const plan = ofType(first.events, 'deployment.plan')[0]?.plan;
    expect(plan?.summary).toBe('2 statement(s): 2 additive, 0 changing, 0 destructive');
    expect(ofType(first.events, 'agent.intent')[0]?.intent).toBe('infra-deploy');
    expect(ddlSent()).toEqual([]);

    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Applying.'], tools: [{ name: 'snowflake_apply', input: { environment: 'staging', planId: plan!.deploymentId, ddl } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Done.'] }) },
    );
    const second = await h.turn('yes, apply it', first.conversationId);
    const card = cards.find((item) => item.tool === 'snowflake_apply');
    expect(card).toMatchObject({ risk: 'high', operation: `apply DDL to Snowflake staging (${plan!.deploymentId})` });
    expect(card?.preview).toContain('line 1 [additive] ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20)');
    expect(card?.preview).toContain(ddl);
    expect(ofType(second.events, 'tool.result').at(-1)).toMatchObject({ ok: true, output: 'Applied 2 statement(s) to staging.' });
    expect(ddlSent()).toEqual(['ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20)', 'ALTER TABLE EMPLOYEES ADD COLUMN EMAIL VARCHAR(320)']);
    const audited = h.core.safety.audit.query({ kind: 'infrastructure' }).map((entry) => entry.summary);
    expect(audited.some((summary) => summary.startsWith(`Applying DDL plan ${plan!.deploymentId} to Snowflake staging`))).toBe(true);
  });

  it('invalid DDL comes back to the model with its line and never reaches Snowflake', async () => {
    await setUp();
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'snowflake_plan', input: { environment: 'staging', text: 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);\nALTER TABLE EMPLOYES ADD COLUMN EMAIL VARCHAR(320);' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Line 2 names a table that does not exist.'] }) },
    );
    const turn = await h.turn('Deploy the Snowflake schema changes to staging');
    const result = ofType(turn.events, 'tool.result')[0];
    expect(result?.ok).toBe(false);
    expect(result?.output).toMatch(/Line 2: .*EMPLOYES.*does not exist/);
    expect(result?.output).toContain('Nothing was sent to Snowflake');
    expect(ddlSent()).toEqual([]);
  });

  it('a destructive statement is critical on the card and refused without a recovery point', async () => {
    await setUp();
    stand.refuse = /CLONE/;
    const ddl = 'DROP TABLE OLD_PAYSLIPS;';
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'snowflake_plan', input: { environment: 'staging', text: ddl } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['One destructive statement.'] }) },
    );
    const first = await h.turn('Deploy the Snowflake schema changes to staging');
    const plan = ofType(first.events, 'deployment.plan')[0]!.plan;
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'snowflake_apply', input: { environment: 'staging', planId: plan.deploymentId, ddl } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['It was refused.'] }) },
    );
    const second = await h.turn('apply it', first.conversationId);
    expect(cards.find((item) => item.tool === 'snowflake_apply')).toMatchObject({ risk: 'critical', reasons: expect.arrayContaining(['runs a DROP or TRUNCATE']) });
    const result = ofType(second.events, 'tool.result').at(-1);
    expect(result?.ok).toBe(false);
    expect(result?.output).toMatch(/^Line 1 refused: no recovery point could be recorded for OLD_PAYSLIPS/);
    expect(ddlSent().some((sql) => sql.startsWith('DROP'))).toBe(false);
    expect(stand.tables.has('OLD_PAYSLIPS')).toBe(true);
  });
});
