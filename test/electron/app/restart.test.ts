/**
 * What survives a restart: two cores, one after the other, on the same data folder (the real
 * `sophia.db`). The first keeps a memory entry through the remember tool (approved on its
 * card), records a Snowflake recovery point before an approved DROP TABLE (real snowflake-sdk
 * against the REST stand-in), leaves a DDL plan unapplied, and deploys and previews Pulumi
 * stacks (real Automation API, stand-in CLI). The second core, built afresh, still has all of
 * it: the entry (in the Memory panel's channel and in the model's system prompt), the
 * recovery point with its age and Time Travel window, the stacks, deployment and outputs and
 * the plans; the table is restored from the recovery point through snowflake_restore, the
 * kept preview deploys, a preview whose program changed does not, and the kept DDL plan
 * applies only the DDL it was made from.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest, RequestOutput } from '../../../shared/contract';
import type { SophiaCore } from '../../../electron/app/sophiaCore';
import { harness, ofType, type AgentHarness } from '../../support/agentFixture';
import { tempDataDir } from '../../support/hostFixture';
import { anthropicTurn, startAnthropicStandIn, systemText, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { makePulumiWorkspace, mcpProgramWithServers, pulumiStandInRoot, type PulumiFixture } from '../../support/standIns/pulumiProject';
import { employeesTable, snowflakeStandInAccount, startSnowflakeStandIn, type SnowflakeStandIn } from '../../support/standIns/snowflakeStandIn';
import { testKeychain } from '../keychain/keychainSupport';

let model: AnthropicStandIn;
let stand: SnowflakeStandIn;
let fixture: PulumiFixture;
const keychain = testKeychain();
const dataDir = tempDataDir();
const cards: ApprovalRequest[] = [];

beforeAll(async () => {
  model = await startAnthropicStandIn();
  stand = await startSnowflakeStandIn({ EMPLOYEES: employeesTable, OLD_PAYSLIPS: [{ name: 'ID', type: 'NUMBER(38,0)', nullable: false }] });
  stand.retention.set('OLD_PAYSLIPS', 7);
  fixture = await makePulumiWorkspace();
});

afterAll(async () => {
  await model.close();
  await stand.close();
});

function start(): AgentHarness {
  const h = harness({
    dataDir,
    keychain,
    secrets: { get: async (name) => (name === 'snowflake-password' ? snowflakeStandInAccount.password : 'sk-ant-test-key') },
    endpoints: { anthropicBaseURL: model.baseURL },
    approvalTimeoutMs: 10_000,
    pulumiCliRoot: pulumiStandInRoot,
  });
  h.core.events.subscribe((event) => {
    if (event.type !== 'approval.request') return;
    cards.push(event);
    setTimeout(() => h.core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' }), 5);
  });
  return h;
}

const connection = () => ({ account: 'acme-staging', username: snowflakeStandInAccount.user, warehouse: 'DEPLOY_WH', database: 'PAYROLL', schema: 'HR', role: 'SYSADMIN', accessUrl: stand.accessUrl });
function handle(core: SophiaCore, channel: 'memory.list'): Promise<RequestOutput<'memory.list'>>;
function handle(core: SophiaCore, channel: 'infra.state'): Promise<RequestOutput<'infra.state'>>;
async function handle(core: SophiaCore, channel: 'memory.list' | 'infra.state'): Promise<unknown> {
  return channel === 'memory.list' ? core.handlers['memory.list']({}, { transport: 'test' }) : core.handlers['infra.state']({}, { transport: 'test' });
}

describe('a restart keeps memory and infrastructure state', () => {
  it('memory entries, a recovery point, plans, stacks and deployments are all there after a new core opens the same sophia.db, and a restore works', async () => {
    // --- The first launch.
    const first = start();
    first.core.settings.update({ provider: 'anthropic', workspace: fixture.workspace, pulumiBackendUrl: fixture.backendUrl, pulumiProjectDir: 'infra', snowflake: { staging: connection(), production: connection() } });

    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'remember', input: { kind: 'decision', text: 'Payroll tables live in the HR schema; schema changes go to staging first.' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Noted.'] }) },
    );
    const remembered = await first.turn('Remember that schema changes go to staging first');
    expect(ofType(remembered.events, 'tool.result')[0]).toMatchObject({ ok: true, output: expect.stringMatching(/^Kept as mem-[a-f0-9]{12} \(decision\)/) });

    const drop = 'DROP TABLE OLD_PAYSLIPS;';
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'snowflake_plan', input: { environment: 'staging', text: drop } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['One destructive statement.'] }) },
    );
    const planned = await first.turn('Drop the old payslips table on staging');
    const dropPlan = ofType(planned.events, 'deployment.plan')[0]!.plan;
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'snowflake_apply', input: { environment: 'staging', planId: dropPlan.deploymentId, ddl: drop } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Dropped; a recovery point was recorded.'] }) },
    );
    const applied = await first.turn('apply it', planned.conversationId);
    const applyResult = ofType(applied.events, 'tool.result').at(-1);
    expect(applyResult?.ok).toBe(true);
    const recoveryId = /snowflake_restore with (rp-[a-f0-9-]+)/.exec(applyResult?.output ?? '')?.[1];
    expect(recoveryId).toBeDefined();
    expect(stand.tables.has('OLD_PAYSLIPS')).toBe(false);

    // A DDL plan made and not applied, a deployed stack and a preview not yet deployed.
    const addColumn = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);';
    const keptDdl = await first.core.infra.snowflake.plan('staging', addColumn);
    const deployed = await first.core.infra.pulumi.preview('staging');
    expect(await first.core.infra.pulumi.up('staging', deployed.deploymentId)).toMatchObject({ kind: 'succeeded', outputs: { registryUrl: 'https://registry.staging.mcp.example' } });
    const keptPreview = await first.core.infra.pulumi.preview('staging');
    const stalePreview = await first.core.infra.pulumi.preview('dev');
    await first.core.infra.pulumi.listStacks();
    const entriesBefore = (await handle(first.core, 'memory.list')).entries;
    expect(entriesBefore).toHaveLength(1);
    await first.core.close();

    // --- The second launch: a new core on the same data folder.
    const restartedAt = Date.now();
    const second = start();
    const memory = await handle(second.core, 'memory.list');
    expect(memory.entries).toEqual(entriesBefore);

    const state = await handle(second.core, 'infra.state');
    const point = state.recoveryPoints.find((item) => item.id === recoveryId);
    expect(point).toMatchObject({ environment: 'staging', table: 'OLD_PAYSLIPS', clone: expect.stringMatching(/^OLD_PAYSLIPS_SOPHIA_\d{14}_L1$/), line: 1, sql: 'DROP TABLE OLD_PAYSLIPS', retentionDays: 7, retentionKnown: true, restoredAt: null });
    expect(point!.createdAt).toBeLessThanOrEqual(restartedAt);
    expect(point!.expiresAt - Date.parse(point!.at)).toBe(7 * 24 * 60 * 60 * 1000);
    expect(state.stacks.map((stack) => stack.name).sort()).toEqual(['dev', 'staging']);
    expect(state.stacks.find((stack) => stack.name === 'staging')).toMatchObject({ projectDir: fixture.projectDir, resourceCount: expect.any(Number) });
    expect(state.deployments.find((item) => item.system === 'pulumi' && item.target === 'staging')).toMatchObject({ phase: 'update', status: 'succeeded', outputs: { registryUrl: 'https://registry.staging.mcp.example' } });
    expect(state.deployments.find((item) => item.system === 'snowflake')).toMatchObject({ target: 'staging', status: 'succeeded', summary: expect.stringContaining(recoveryId!) });
    expect(state.plans.map((plan) => plan.id).sort()).toEqual([keptDdl.plan.deploymentId, keptPreview.deploymentId, stalePreview.deploymentId].sort());
    // One approval, one deployment: the preview that was deployed is not kept.
    expect(second.core.infra.pulumi.plan(deployed.deploymentId)).toBeUndefined();

    // The entry is in the next model request's system prompt; the restore goes through snowflake_restore, approved on its card.
    second.core.settings.update({ provider: 'anthropic' });
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'snowflake_restore', input: { environment: 'staging', recoveryId } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Restored.'] }) },
    );
    const requestsBefore = model.requests.length;
    const restored = await second.turn('Put OLD_PAYSLIPS back');
    expect(systemText(model.requests[requestsBefore]!.body)).toContain(`- [decision] Payroll tables live in the HR schema; schema changes go to staging first. (${entriesBefore[0]!.id})`);
    const restoreCard = cards.at(-1);
    expect(restoreCard).toMatchObject({ tool: 'snowflake_restore' });
    expect(restoreCard?.preview).toContain(`CREATE OR REPLACE TABLE OLD_PAYSLIPS CLONE ${point!.clone}`);
    expect(ofType(restored.events, 'tool.result').at(-1)).toMatchObject({ ok: true, output: expect.stringContaining(`Restored OLD_PAYSLIPS from ${point!.clone}`) });
    expect(stand.statements.at(-1)).toBe(`CREATE OR REPLACE TABLE OLD_PAYSLIPS CLONE ${point!.clone}`);
    expect(stand.tables.has('OLD_PAYSLIPS')).toBe(true);
    expect((await handle(second.core, 'infra.state')).recoveryPoints.find((item) => item.id === recoveryId)?.restoredAt).toEqual(expect.any(Number));

    // The kept DDL plan applies exactly its own DDL, and nothing else.
    await expect(second.core.infra.snowflake.apply('staging', keptDdl.plan.deploymentId, 'ALTER TABLE EMPLOYEES ADD COLUMN EMAIL VARCHAR(320);')).rejects.toThrow(/differs from the planned DDL/);
    expect(await second.core.infra.snowflake.apply('staging', keptDdl.plan.deploymentId, addColumn)).toMatchObject({ ok: true, applied: 1 });

    // The kept preview deploys; a preview whose program changed since is previewed again instead.
    expect(await second.core.infra.pulumi.up('staging', keptPreview.deploymentId)).toMatchObject({ kind: 'succeeded' });
    await writeFile(path.join(fixture.projectDir, 'Pulumi.yaml'), mcpProgramWithServers);
    const stale = await second.core.infra.pulumi.up('dev', stalePreview.deploymentId);
    expect(stale).toMatchObject({ kind: 'stale', reason: 'the Pulumi program or its configuration changed since the preview' });
    expect(second.core.infra.pulumi.plan(stalePreview.deploymentId)).toBeUndefined();
    await second.core.close();
  }, 300_000);
});
