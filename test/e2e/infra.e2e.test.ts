/**
 * Infrastructure as conversation in Chromium, with a scripted model (the real Anthropic SDK
 * against its loopback stand-in) and the real Pulumi Automation API against the stand-in
 * CLI: "add a new staging environment for the MCP servers" edits the program (diff,
 * approved), previews (the monitor shows the plan with counts and each resource), the
 * person approves the exact plan, `up` streams its resource events to the monitor and the
 * outputs appear. A plan approved after the program changed is previewed again, not deployed.
 */
import { openBrowserSession, type BrowserSession } from './support/session';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentPlan } from '../../shared/contract';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { makePulumiWorkspace, mcpProgram, mcpProgramWithServers, pulumiStandInRoot, type PulumiFixture } from '../support/standIns/pulumiProject';
import { screenshot, type PageProblems } from './support/chromium';
import { LocalWorkspace, PulumiCommand, Stack } from '@pulumi/pulumi/automation';
import type { ServedApp } from '../support/servedApp';

let app: ServedApp;
let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let fixture: PulumiFixture;
/** The plans the app pushed, in order. */
const plans = (): DeploymentPlan[] => app.events.flatMap((event) => (event.type === 'deployment.plan' ? [event.plan] : []));

let session: BrowserSession;
beforeAll(async () => {
  fixture = await makePulumiWorkspace(mcpProgram);
  session = await openBrowserSession({
    // The stand-in CLI is `pulumi` first on the app's PATH, as an installed CLI would be.
    pulumiCliRoot: pulumiStandInRoot,
    settings: { workspace: fixture.workspace, pulumiBackendUrl: fixture.backendUrl, pulumiProjectDir: 'infra' },
    viewport: { width: 1600, height: 1000 },
  });
  ({ model, app, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
});

async function ask(text: string): Promise<void> {
  await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
}

async function approveCard(operation: RegExp): Promise<string> {
  const card = page.getByTestId('approval-card').filter({ hasText: operation });
  await card.waitFor({ timeout: 30_000 });
  const preview = await card.getByTestId('approval-preview').innerText();
  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  await card.waitFor({ state: 'detached' });
  return preview;
}

const newest = () => page.getByTestId('deployment').first();

describe('infrastructure as conversation in Chromium', () => {
  it('edits the program, previews the plan with counts, deploys the approved plan with live events and outputs', async () => {
    model.script(
      {
        kind: 'stream',
        events: anthropicTurn({
          text: ['I will add the MCP servers and a gateway to the program.'],
          tools: [{ name: 'propose_edit', input: { summary: 'Add the MCP servers and a gateway for the staging environment', files: [{ path: 'infra/Pulumi.yaml', content: mcpProgramWithServers }] } }],
        }),
      },
      { kind: 'stream', events: anthropicTurn({ text: ['Previewing the staging stack.'], tools: [{ name: 'pulumi_preview', input: { stack: 'staging' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The plan creates the network, registry, two MCP servers and the gateway. Shall I deploy it?'] }) },
    );
    await ask('add a new staging environment for the MCP servers');

    const proposal = page.getByTestId('proposal');
    await expect.poll(() => proposal.getByTestId('proposal-summary').innerText().catch(() => ''), { timeout: 30_000 }).toBe('Add the MCP servers and a gateway for the staging environment');
    await proposal.getByTestId('proposal-approve').click();
    await expect.poll(() => proposal.getByTestId('proposal-status').innerText()).toBe('Applied');
    expect(await readFile(path.join(fixture.projectDir, 'Pulumi.yaml'), 'utf8')).toBe(mcpProgramWithServers);

    // The preview runs the program: low risk, asked under the default threshold.
    await approveCard(/preview Pulumi stack staging/);
    const monitor = page.getByTestId('deployment-monitor');
    await monitor.waitFor();
    await expect.poll(() => newest().getByTestId('deployment-summary').innerText().catch(() => ''), { timeout: 30_000 }).toBe('+6 to create');
    await expect.poll(() => newest().getByTestId('deployment-status').innerText()).toMatch(/^succeeded$/i);
    expect(await newest().getByTestId('deployment-step').count()).toBe(6);
    expect(await newest().innerText()).toMatch(/sophia:mcp:Server[\s\S]*github-server[\s\S]*create[\s\S]*planned/);
    expect(await newest().getByTestId('deployment-cost').innerText()).toContain('No cost estimate');
    await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
    expect(plans()).toHaveLength(1);
    const planId = plans()[0]!.deploymentId;

    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Deploying the approved plan.'], tools: [{ name: 'pulumi_up', input: { stack: 'staging', planId } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Staging is deployed; the gateway is at https://gateway.staging.mcp.example.'] }) },
    );
    await ask('yes, deploy it');
    const shown = await approveCard(/deploy Pulumi stack staging/);
    expect(shown).toContain('+6 to create');
    expect(shown).toContain('+ sophia:mcp:Gateway  gateway');

    const update = page.locator('[data-testid="deployment"][aria-label="Update of staging"]');
    await update.waitFor({ timeout: 30_000 });
    await expect.poll(() => update.getByTestId('deployment-status').innerText(), { timeout: 30_000 }).toMatch(/^succeeded$/i);
    expect(await update.innerText()).toContain('+6 created');
    const steps = update.getByTestId('deployment-step');
    expect(await steps.count()).toBe(6);
    for (const text of await steps.allInnerTexts()) expect(text).toMatch(/create\s*done\s*\d+(\.\d)? m?s/);
    const outputs = update.getByTestId('deployment-outputs');
    await outputs.waitFor();
    expect(await outputs.innerText()).toMatch(/gatewayUrl\s*https:\/\/gateway\.staging\.mcp\.example/);
    expect(await outputs.innerText()).toMatch(/gatewayId\s*gateway-[0-9a-f]+/);
    await expect.poll(() => page.getByTestId('message-assistant').last().innerText(), { timeout: 30_000 }).toContain('Staging is deployed');
    await screenshot(page, 'deployment-monitor');
  });

  it('approving a stale preview previews again instead of deploying', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ text: ['Previewing two replicas.'], tools: [{ name: 'pulumi_preview', input: { stack: 'staging' } }] }) }, { kind: 'stream', events: anthropicTurn({ text: ['Two servers would be updated.'] }) });
    await writeFile(path.join(fixture.projectDir, 'Pulumi.staging.yaml'), 'config:\n  mcp-servers:replicas: "2"\n');
    await ask('preview the staging stack with two replicas');
    await approveCard(/preview Pulumi stack staging/);
    await expect.poll(() => plans().length, { timeout: 30_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
    const stalePlan = plans()[1]!.deploymentId;

    // Someone changes the configuration after the preview and before the approval.
    await writeFile(path.join(fixture.projectDir, 'Pulumi.staging.yaml'), 'config:\n  mcp-servers:replicas: "3"\n');
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Deploying.'], tools: [{ name: 'pulumi_up', input: { stack: 'staging', planId: stalePlan } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The preview was stale, so nothing was deployed; here is the fresh plan.'] }) },
    );
    await ask('deploy it');
    await approveCard(/deploy Pulumi stack staging/);
    await expect.poll(() => plans().length, { timeout: 30_000 }).toBe(3);
    await expect.poll(() => newest().getByTestId('deployment-summary').innerText(), { timeout: 30_000 }).toBe('~2 to update, 4 unchanged');
    expect(await newest().innerText()).toMatch(/^Preview/);
    expect(await newest().innerText()).toContain('changes: replicas');
    const toolOutput = page.getByTestId('tool-call').last();
    await expect.poll(() => toolOutput.innerText(), { timeout: 30_000 }).toContain('pulumi_up');
    // Only the first deployment happened: the stack's history, read with the Automation API from the test.
    const pulumiCommand = await PulumiCommand.get({ root: pulumiStandInRoot });
    const workspace = await LocalWorkspace.create({ workDir: fixture.projectDir, pulumiCommand, envVars: { PULUMI_SKIP_UPDATE_CHECK: 'true', PULUMI_BACKEND_URL: fixture.backendUrl } });
    const history = await (await Stack.select('staging', workspace)).history();
    expect(history.map((entry) => entry.version)).toEqual([1]);
    await screenshot(page, 'deployment-stale-previewed-again');
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
