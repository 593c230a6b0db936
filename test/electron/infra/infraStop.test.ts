/**
 * The emergency stop with a Pulumi `up` and a Snowflake query both running: one stop
 * cancels both (SIGINT and `pulumi cancel` to the CLI; snowflake-sdk's cancel). The stop
 * controller reports a stopper still running after its timeout as "stuck"; with the timeout
 * at 1 s, "stopped" for both is the 1 s bound, without a timed assertion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../shared/contract';
import { EventHub } from '../../../electron/core/eventHub';
import { StopController } from '../../../electron/core/stopController';
import { PulumiService } from '../../../electron/infra/pulumi/pulumiService';
import { SnowflakeClient } from '../../../electron/infra/snowflake/snowflakeClient';
import { SnowflakeService } from '../../../electron/infra/snowflake/snowflakeService';
import { makePulumiWorkspace, mcpProgramWithServers, pulumiStandInRoot } from '../../support/standIns/pulumiProject';
import { employeesTable, snowflakeStandInAccount, startSnowflakeStandIn, type SnowflakeStandIn } from '../../support/standIns/snowflakeStandIn';

let stand: SnowflakeStandIn;

beforeAll(async () => {
  stand = await startSnowflakeStandIn({ EMPLOYEES: employeesTable });
  process.env['PULUMI_STANDIN_STEP_MS'] = '200';
});

afterAll(async () => {
  delete process.env['PULUMI_STANDIN_STEP_MS'];
  await stand.close();
});

describe('the emergency stop and infrastructure', () => {
  it('cancels a running up and a running query within the 1 s bound', async () => {
    const events: SophiaEvent[] = [];
    const hub = new EventHub();
    const stop = new StopController(hub, { stopperTimeoutMs: 1000 });
    const audit = { record: () => undefined };
    const fixture = await makePulumiWorkspace(mcpProgramWithServers);
    const pulumi = new PulumiService({
      projectDir: () => fixture.projectDir,
      workspace: () => fixture.workspace,
      backendUrl: () => fixture.backendUrl,
      cliRoot: pulumiStandInRoot,
      secrets: { get: async () => undefined },
      publish: (event) => events.push(event),
      audit,
      guard: () => stop.assertRunning(),
    });
    const connection = { account: 'acme', username: snowflakeStandInAccount.user, warehouse: '', database: '', schema: '', role: '', accessUrl: stand.accessUrl };
    const snowflake = new SnowflakeService({
      client: new SnowflakeClient(() => connection, { get: async () => snowflakeStandInAccount.password }),
      publish: (event) => events.push(event),
      audit,
      guard: () => stop.assertRunning(),
    });
    stop.register('pulumi', () => pulumi.stopAll(), { kind: 'deployment' });
    stop.register('snowflake', () => snowflake.stopAll(), { kind: 'ddl' });

    const ddl = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);';
    const { plan: ddlPlan } = await snowflake.plan('staging', ddl);
    const plan = await pulumi.preview('staging');
    stand.hold = /ADD COLUMN/;
    const deploying = pulumi.up('staging', plan.deploymentId);
    const applying = snowflake.apply('staging', ddlPlan.deploymentId, ddl);
    await expect.poll(() => events.some((event) => event.type === 'deployment.resource' && event.step.name === 'network' && event.step.status === 'running'), { timeout: 20_000, interval: 20 }).toBe(true);
    await expect.poll(() => stand.statements.some((sql) => sql.includes('ADD COLUMN')), { timeout: 20_000, interval: 20 }).toBe(true);

    const report = await stop.stopAll();
    expect(report.stopped.map((item) => [item.kind, item.outcome]).sort()).toEqual([
      ['ddl', 'stopped'],
      ['deployment', 'stopped'],
    ]);
    expect((await deploying).kind).toBe('cancelled');
    expect(await applying).toMatchObject({ ok: false, message: 'Line 1 cancelled by the emergency stop.' });
    // While stopped, nothing new starts.
    await expect(pulumi.preview('staging')).rejects.toThrow(/stopped/);
    await expect(snowflake.plan('staging', ddl)).rejects.toThrow(/stopped/);
  });
});
