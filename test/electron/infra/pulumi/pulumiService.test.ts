/**
 * The Pulumi service through the real Automation API (@pulumi/pulumi/automation) against
 * the stand-in CLI in test/support/standIns/pulumiCli: preview with counts and diffs, up of
 * the approved plan with live engine events and outputs, stale plans previewed again,
 * refresh, history, configuration rollback, and cancel on the emergency stop.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SophiaEvent } from '../../../../shared/contract';
import { EventHub } from '../../../../electron/core/eventHub';
import { StopController } from '../../../../electron/core/stopController';
import type { AuditInput } from '../../../../electron/audit/auditLog';
import { PulumiService } from '../../../../electron/infra/pulumi/pulumiService';
import { makePulumiWorkspace, mcpProgramWithServers, pulumiStandInRoot, type PulumiFixture } from '../../../support/standIns/pulumiProject';

function service(fixture: PulumiFixture, options: { planMaxAgeMs?: number } = {}) {
  const events: SophiaEvent[] = [];
  const audit: AuditInput[] = [];
  const pulumi = new PulumiService({
    projectDir: () => fixture.projectDir,
    workspace: () => fixture.workspace,
    backendUrl: () => fixture.backendUrl,
    cliRoot: pulumiStandInRoot,
    secrets: { get: async () => undefined },
    publish: (event) => events.push(event),
    audit: { record: (entry) => audit.push(entry) },
    guard: () => undefined,
    ...options,
  });
  return { pulumi, events, audit };
}

const ofType = <T extends SophiaEvent['type']>(events: readonly SophiaEvent[], type: T) =>
  events.filter((event): event is Extract<SophiaEvent, { type: T }> => event.type === type);

afterEach(() => {
  delete process.env['PULUMI_STANDIN_STEP_MS'];
});

describe('PulumiService against the stand-in CLI', () => {
  it('previews a new stack: counts, summary, each resource, no cost without a pricing table', async () => {
    const fixture = await makePulumiWorkspace();
    const { pulumi, events } = service(fixture);
    const plan = await pulumi.preview('staging');
    expect(plan.counts).toEqual({ create: 3, update: 0, delete: 0, replace: 0, same: 0 });
    expect(plan.summary).toBe('+3 to create');
    expect(plan.steps.map((step) => [step.type, step.name, step.op, step.status])).toEqual([
      ['pulumi:pulumi:Stack', 'mcp-servers-staging', 'create', 'planned'],
      ['sophia:net:Network', 'network', 'create', 'planned'],
      ['sophia:mcp:Registry', 'registry', 'create', 'planned'],
    ]);
    expect(plan.cost).toMatchObject({ monthlyDelta: null, text: 'No cost estimate: there is no pricing table (.sophia/pricing.yaml).' });
    expect(ofType(events, 'deployment.plan').map((event) => event.plan.deploymentId)).toEqual([plan.deploymentId]);
    expect(ofType(events, 'deployment.resource').length).toBe(3);
    expect(ofType(events, 'deployment.event').map((event) => [event.phase, event.status])).toEqual([
      ['preview', 'running'],
      ['preview', 'succeeded'],
    ]);
    expect(pulumi.plan(plan.deploymentId)).toEqual(plan);
  });

  it('deploys the approved plan with live resource events and outputs, then previews the next change as updates', async () => {
    const fixture = await makePulumiWorkspace();
    const { pulumi, events, audit } = service(fixture);
    const plan = await pulumi.preview('staging');
    const outcome = await pulumi.up('staging', plan.deploymentId);
    expect(outcome).toMatchObject({ kind: 'succeeded', summary: '+3 created' });
    if (outcome.kind !== 'succeeded') throw new Error('not deployed');
    expect(outcome.outputs).toEqual({ registryUrl: 'https://registry.staging.mcp.example' });

    const upSteps = ofType(events, 'deployment.resource').filter((event) => event.deploymentId === outcome.deploymentId);
    // Each resource is seen running, then done with a duration.
    expect(upSteps.filter((event) => event.step.status === 'running').map((event) => event.step.name)).toEqual(['mcp-servers-staging', 'network', 'registry']);
    const finished = upSteps.filter((event) => event.step.status === 'done');
    expect(finished.map((event) => event.step.name)).toEqual(['mcp-servers-staging', 'network', 'registry']);
    for (const event of finished) expect(event.step.durationMs).toBeGreaterThanOrEqual(0);
    expect(ofType(events, 'deployment.outputs')).toEqual([
      { type: 'deployment.outputs', deploymentId: outcome.deploymentId, outputs: [{ name: 'registryUrl', value: 'https://registry.staging.mcp.example', secret: false }] },
    ]);
    expect(audit.some((entry) => entry.summary.includes(`from approved preview ${plan.deploymentId}`))).toBe(true);

    // The same plan cannot be deployed twice.
    await expect(pulumi.up('staging', plan.deploymentId)).rejects.toThrow(/no preview/);

    await writeFile(path.join(fixture.projectDir, 'Pulumi.yaml'), mcpProgramWithServers);
    const next = await pulumi.preview('staging');
    expect(next.summary).toBe('+3 to create, ~1 to update, 2 unchanged');
    const network = next.steps.find((step) => step.name === 'network');
    expect(network).toMatchObject({ op: 'update', diffs: ['cidr'] });
  });

  it('an approved plan whose program changed afterwards is previewed again, not deployed', async () => {
    const fixture = await makePulumiWorkspace();
    const { pulumi, events } = service(fixture);
    const plan = await pulumi.preview('staging');
    await writeFile(path.join(fixture.projectDir, 'Pulumi.yaml'), mcpProgramWithServers);
    const outcome = await pulumi.up('staging', plan.deploymentId);
    expect(outcome.kind).toBe('stale');
    if (outcome.kind !== 'stale') throw new Error('deployed a stale plan');
    expect(outcome.reason).toBe('the Pulumi program or its configuration changed since the preview');
    expect(outcome.plan.summary).toBe('+6 to create');
    expect(ofType(events, 'deployment.event').some((event) => event.phase === 'update')).toBe(false);
    expect(await pulumi.history('staging')).toEqual([]);
  });

  it('a plan made before another deployment of the stack is stale, and so is an old one', async () => {
    const fixture = await makePulumiWorkspace();
    const { pulumi } = service(fixture);
    const first = await pulumi.preview('staging');
    const second = await pulumi.preview('staging');
    expect((await pulumi.up('staging', second.deploymentId)).kind).toBe('succeeded');
    const outcome = await pulumi.up('staging', first.deploymentId);
    expect(outcome).toMatchObject({ kind: 'stale', reason: 'the stack was updated since the preview' });

    const old = service(fixture, { planMaxAgeMs: -1 });
    const plan = await old.pulumi.preview('staging');
    expect(await old.pulumi.up('staging', plan.deploymentId)).toMatchObject({ kind: 'stale', reason: expect.stringContaining('older than') });
  });

  it('estimates the monthly cost from .sophia/pricing.yaml and names what has no price', async () => {
    const fixture = await makePulumiWorkspace(mcpProgramWithServers);
    await mkdir(path.join(fixture.workspace, '.sophia'));
    await writeFile(path.join(fixture.workspace, '.sophia', 'pricing.yaml'), 'currency: EUR\nmonthly:\n  sophia:mcp:Server: 12.5\n  sophia:net:Network: 4\n');
    const { pulumi } = service(fixture);
    const plan = await pulumi.preview('staging');
    expect(plan.cost).toEqual({
      currency: 'EUR',
      monthlyDelta: 29,
      unpriced: ['sophia:mcp:Registry', 'sophia:mcp:Gateway'],
      text: 'Estimated monthly cost: +29.00 EUR (3 priced change(s), from .sophia/pricing.yaml). No price for sophia:mcp:Registry, sophia:mcp:Gateway: left out of the estimate.',
    });
  });

  it('a program error fails the preview with the CLI\'s message and keeps no plan', async () => {
    const fixture = await makePulumiWorkspace(mcpProgramWithServers.replace('${network.id}', '${nowhere.id}'));
    const { pulumi, events } = service(fixture);
    await expect(pulumi.preview('staging')).rejects.toThrow(/unknown reference \$\{nowhere\.id\}/);
    expect(ofType(events, 'deployment.event').at(-1)).toMatchObject({ phase: 'preview', status: 'failed' });
  });

  it('refreshes, lists stacks and history, and rolls the configuration back to an earlier deployment', async () => {
    const fixture = await makePulumiWorkspace(mcpProgramWithServers);
    const { pulumi, events } = service(fixture);
    await writeFile(path.join(fixture.projectDir, 'Pulumi.staging.yaml'), 'config:\n  mcp-servers:replicas: "2"\n');
    expect((await pulumi.up('staging', (await pulumi.preview('staging')).deploymentId)).kind).toBe('succeeded');
    await writeFile(path.join(fixture.projectDir, 'Pulumi.staging.yaml'), 'config:\n  mcp-servers:replicas: "5"\n');
    expect((await pulumi.up('staging', (await pulumi.preview('staging')).deploymentId)).kind).toBe('succeeded');

    expect((await pulumi.listStacks()).map((stack) => [stack.name, stack.resourceCount])).toEqual([['staging', 6]]);
    const history = await pulumi.history('staging');
    expect(history.map((entry) => [entry.version, entry.kind, entry.result, entry.config['mcp-servers:replicas']?.value])).toEqual([
      [2, 'update', 'succeeded', '5'],
      [1, 'update', 'succeeded', '2'],
    ]);

    const changes = await pulumi.rollbackChanges('staging', 1);
    expect(changes.set).toEqual({ 'mcp-servers:replicas': '2' });
    const { plan } = await pulumi.rollback('staging', 1);
    expect(plan.phase).toBe('rollback');
    expect(plan.summary).toBe('~2 to update, 4 unchanged');
    expect(plan.steps.filter((step) => step.op === 'update').map((step) => [step.name, step.diffs])).toEqual([
      ['github-server', ['replicas']],
      ['filesystem-server', ['replicas']],
    ]);
    expect((await pulumi.up('staging', plan.deploymentId)).kind).toBe('succeeded');

    const refreshed = await pulumi.refresh('staging');
    expect(refreshed).toMatchObject({ ok: true, summary: '5 resource(s) refreshed' });
    expect(ofType(events, 'deployment.event').at(-1)).toMatchObject({ phase: 'refresh', status: 'succeeded' });
  });

  it('the emergency stop cancels a running up within the stop\'s 1 s bound; the rest of the plan is not deployed', async () => {
    process.env['PULUMI_STANDIN_STEP_MS'] = '200';
    const fixture = await makePulumiWorkspace(mcpProgramWithServers);
    const { pulumi, events } = service(fixture);
    const hub = new EventHub();
    // A stopper still running after 1 s is reported "stuck": "stopped" proves the bound without timing the test.
    const stop = new StopController(hub, { stopperTimeoutMs: 1000 });
    stop.register('pulumi', () => pulumi.stopAll(), { kind: 'deployment', label: 'Pulumi' });
    const plan = await pulumi.preview('staging');
    const deploying = pulumi.up('staging', plan.deploymentId);
    // Wait until the engine reports the network running: the update is under way.
    await expect.poll(() => ofType(events, 'deployment.resource').some((event) => event.step.name === 'network' && event.step.status === 'running'), { timeout: 20_000, interval: 20 }).toBe(true);
    const report = await stop.stopAll();
    expect(report.stopped).toEqual([{ kind: 'deployment', id: expect.stringMatching(/^up-/), label: 'update of staging', outcome: 'stopped' }]);
    const outcome = await deploying;
    expect(outcome.kind).toBe('cancelled');
    expect(ofType(events, 'deployment.event').at(-1)).toMatchObject({ phase: 'update', status: 'cancelled' });
    const history = await pulumi.history('staging');
    expect(history[0]).toMatchObject({ result: 'failed' });
    expect(Object.values(history[0]?.resourceChanges ?? {}).reduce((a, b) => a + (b ?? 0), 0)).toBeLessThan(6);
  });
});
