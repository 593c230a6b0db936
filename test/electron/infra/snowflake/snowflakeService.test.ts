/**
 * Snowflake DDL through the real snowflake-sdk against a loopback server speaking its REST
 * protocol (test/support/standIns/snowflakeStandIn.ts): validated, classified, dry-run on a
 * DuckDB shadow copy, applied after planning, recovery points before destructive
 * statements (refused without one), restore, and cancel on the emergency stop.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SnowflakeConnection, SophiaEvent } from '../../../../shared/contract';
import { EventHub } from '../../../../electron/core/eventHub';
import { StopController } from '../../../../electron/core/stopController';
import type { AuditInput } from '../../../../electron/audit/auditLog';
import { SnowflakeClient } from '../../../../electron/infra/snowflake/snowflakeClient';
import { SnowflakeService } from '../../../../electron/infra/snowflake/snowflakeService';
import { employeesTable, snowflakeStandInAccount, startSnowflakeStandIn, type SnowflakeStandIn } from '../../../support/standIns/snowflakeStandIn';

let stand: SnowflakeStandIn;
let events: SophiaEvent[];
let audit: AuditInput[];
let service: SnowflakeService;

const ddlOnly = () => stand.statements.filter((sql) => !/INFORMATION_SCHEMA|CURRENT_TIMESTAMP/.test(sql));

beforeEach(async () => {
  stand = await startSnowflakeStandIn({ EMPLOYEES: employeesTable, OLD_PAYSLIPS: [{ name: 'ID', type: 'NUMBER(38,0)', nullable: false }] });
  events = [];
  audit = [];
  const connection: SnowflakeConnection = { account: 'acme-staging', username: snowflakeStandInAccount.user, warehouse: 'DEPLOY_WH', database: 'PAYROLL', schema: 'HR', role: 'SYSADMIN', accessUrl: stand.accessUrl };
  const client = new SnowflakeClient(() => connection, { get: async (name) => (name === 'snowflake-password' ? snowflakeStandInAccount.password : undefined) });
  service = new SnowflakeService({ client, publish: (event) => events.push(event), audit: { record: (entry) => audit.push(entry) }, guard: () => undefined });
});

afterEach(async () => {
  await stand.close();
});

describe('SnowflakeService against the REST stand-in', () => {
  it('adds a PHONE_NUMBER column: additive, dry-run clean, applied as planned', async () => {
    const ddl = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);';
    const { plan, errors } = await service.plan('staging', ddl);
    expect(errors).toEqual([]);
    expect(plan.summary).toBe('1 statement(s): 1 additive, 0 changing, 0 destructive');
    // Planning read the table's definition; none of the DDL reached Snowflake.
    expect(ddlOnly()).toEqual([]);
    const result = await service.apply('staging', plan.deploymentId, ddl);
    expect(result).toMatchObject({ ok: true, applied: 1, recoveries: [] });
    expect(ddlOnly()).toEqual(['ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20)']);
    expect(stand.tables.get('EMPLOYEES')?.map((column) => column.name)).toContain('PHONE_NUMBER');
    const steps = events.flatMap((event) => (event.type === 'deployment.resource' ? [event.step.status] : []));
    expect(steps).toEqual(['running', 'done']);
    await expect(service.apply('staging', plan.deploymentId, ddl)).rejects.toThrow(/no DDL plan/);
  });

  it('a syntax error never reaches Snowflake and names its line', async () => {
    const ddl = '-- phone numbers\nALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);\n\nALTER TABLE EMPLOYEES ADD COLUMN EMAIL VARCHAR(200;\n';
    const { plan, errors } = await service.plan('staging', ddl);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(4);
    expect(errors[0]?.message).toMatch(/^Line 4: syntax error/);
    expect(plan.diagnostics[0]).toMatch(/^Line 4:/);
    expect(stand.statements).toEqual([]);
    await expect(service.apply('staging', plan.deploymentId, ddl)).rejects.toThrow(/no DDL plan/);
  });

  it('an unknown table fails the dry run on the shadow copy, naming the line; no DDL reaches Snowflake', async () => {
    const ddl = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);\nALTER TABLE EMPLOYEE ADD COLUMN EMAIL VARCHAR(200);';
    const { errors } = await service.plan('staging', ddl);
    expect(errors.map((error) => error.line)).toEqual([2]);
    expect(errors[0]?.message).toMatch(/^Line 2: .*EMPLOYEE.*does not exist/);
    expect(ddlOnly()).toEqual([]);
  });

  it('classifies DROP, TRUNCATE, a dropped column and a narrowed type as destructive; queries are not DDL', async () => {
    const ddl = 'ALTER TABLE EMPLOYEES ALTER COLUMN NAME SET DATA TYPE VARCHAR(20);\nALTER TABLE EMPLOYEES ALTER COLUMN SALARY SET DATA TYPE NUMBER(12,2);\nTRUNCATE TABLE OLD_PAYSLIPS;\nALTER TABLE EMPLOYEES DROP COLUMN MANAGER_ID;\nDROP TABLE OLD_PAYSLIPS;';
    const { plan, errors } = await service.plan('staging', ddl);
    expect(errors).toEqual([]);
    expect(plan.steps.map((step) => [step.type, step.op])).toEqual([
      ['line 1', 'destructive'],
      ['line 2', 'changing'],
      ['line 3', 'destructive'],
      ['line 4', 'destructive'],
      ['line 5', 'destructive'],
    ]);
    expect(plan.steps[0]?.message).toMatch(/narrows EMPLOYEES\.NAME \(text length 100 to 20\)/);
    expect((await service.plan('staging', 'DELETE FROM EMPLOYEES;')).errors[0]?.message).toMatch(/only DDL/);
  });

  it('records a recovery point before a destructive statement, and restores the table from it', async () => {
    const ddl = 'DROP TABLE OLD_PAYSLIPS;';
    const { plan } = await service.plan('production', ddl);
    const result = await service.apply('production', plan.deploymentId, ddl);
    expect(result.ok).toBe(true);
    const [point] = result.recoveries;
    expect(point).toMatchObject({ table: 'OLD_PAYSLIPS', clone: expect.stringMatching(/^OLD_PAYSLIPS_SOPHIA_\d{14}_L1$/), line: 1 });
    expect(ddlOnly()).toEqual([`CREATE TABLE ${point!.clone} CLONE OLD_PAYSLIPS`, 'DROP TABLE OLD_PAYSLIPS']);
    expect(stand.tables.has('OLD_PAYSLIPS')).toBe(false);
    expect(audit.some((entry) => entry.summary.startsWith(`Recovery point ${point!.id}`))).toBe(true);

    expect(await service.restore(point!.id)).toMatchObject({ ok: true });
    expect(ddlOnly().at(-1)).toBe(`CREATE OR REPLACE TABLE OLD_PAYSLIPS CLONE ${point!.clone}`);
    expect(stand.tables.has('OLD_PAYSLIPS')).toBe(true);
  });

  it('refuses a destructive statement when no recovery point can be recorded', async () => {
    stand.refuse = /CLONE/;
    const ddl = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);\nDROP TABLE OLD_PAYSLIPS;';
    const { plan } = await service.plan('staging', ddl);
    const result = await service.apply('staging', plan.deploymentId, ddl);
    expect(result).toMatchObject({ ok: false, applied: 1 });
    expect(result.message).toMatch(/^Line 2 refused: no recovery point could be recorded for OLD_PAYSLIPS \(SQL access control error/);
    expect(ddlOnly().some((sql) => sql.startsWith('DROP'))).toBe(false);
    expect(stand.tables.has('OLD_PAYSLIPS')).toBe(true);
    expect(audit.some((entry) => entry.kind === 'refusal' && entry.summary.includes('without a recovery point'))).toBe(true);
  });

  it('applies only the planned DDL', async () => {
    const { plan } = await service.plan('staging', 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);');
    await expect(service.apply('staging', plan.deploymentId, 'DROP TABLE EMPLOYEES;')).rejects.toThrow(/differs from the planned DDL/);
    await expect(service.apply('production', plan.deploymentId, 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);')).rejects.toThrow(/for staging, not production/);
  });

  it('the emergency stop cancels a running query (snowflake-sdk cancel) within the stop\'s 1 s bound', async () => {
    const ddl = 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20);';
    const { plan } = await service.plan('staging', ddl);
    stand.hold = /ADD COLUMN PHONE_NUMBER/;
    const applying = service.apply('staging', plan.deploymentId, ddl);
    await expect.poll(() => ddlOnly().length, { timeout: 20_000, interval: 20 }).toBe(1);
    const stop = new StopController(new EventHub(), { stopperTimeoutMs: 1000 });
    stop.register('snowflake', () => service.stopAll(), { kind: 'ddl', label: 'Snowflake queries' });
    const report = await stop.stopAll();
    expect(report.stopped).toEqual([{ kind: 'ddl', id: 'query-1', label: 'ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20)', outcome: 'stopped' }]);
    const result = await applying;
    expect(result).toMatchObject({ ok: false, applied: 0, message: 'Line 1 cancelled by the emergency stop.' });
    expect(stand.aborted).toEqual(['ALTER TABLE EMPLOYEES ADD COLUMN PHONE_NUMBER VARCHAR(20)']);
    expect(stand.tables.get('EMPLOYEES')?.map((column) => column.name)).not.toContain('PHONE_NUMBER');
  });

  it('a wrong password is Snowflake\'s own refusal', async () => {
    const client = new SnowflakeClient(() => ({ account: 'acme', username: snowflakeStandInAccount.user, warehouse: '', database: '', schema: '', role: '', accessUrl: stand.accessUrl }), { get: async () => 'wrong' });
    await expect(client.connect('staging')).rejects.toThrow(/Incorrect username or password/);
  });
});
