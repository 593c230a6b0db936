/**
 * The Pulumi tools: list stacks and history (read-only), preview (low: runs the program,
 * changes nothing), up of an approved preview (high; a production stack is critical and
 * admin-only through the inspectors, which read `stack`), refresh (medium) and a
 * configuration rollback (high) that ends in a preview, never in a deployment.
 * Definitions here; the work is the Pulumi service's.
 */
import { z } from 'zod';
import type { DeploymentPlan } from '../../shared/contract';
import type { ToolDefinition, ToolOutput, ToolRegistry } from '../agent/tools';
import type { PulumiService } from '../infra/pulumi/pulumiService';

const stack = z.string().trim().min(1).max(100).describe('The stack name, e.g. "staging" or "production"');
const planId = z.string().regex(/^plan-[a-f0-9-]{1,40}$/).describe('The id pulumi_preview returned');

export const pulumiStacksTool = {
  name: 'pulumi_stacks',
  description: 'List the Pulumi project\'s stacks with their last update and resource count.',
  input: z.object({}).strict(),
  risk: 'read-only',
} as const satisfies ToolDefinition;

export const pulumiHistoryTool = {
  name: 'pulumi_history',
  description: 'The stack\'s deployment history, newest first: version, kind, result, time, changes, configuration.',
  input: z.object({ stack, limit: z.number().int().min(1).max(50).optional() }).strict(),
  risk: 'read-only',
} as const satisfies ToolDefinition;

export const pulumiPreviewTool = {
  name: 'pulumi_preview',
  description:
    'Preview a stack: what `pulumi up` would create, update, replace and delete, with each resource\'s changed properties and the estimated monthly cost. Shown in the deployment monitor. Returns a planId for pulumi_up. A stack that does not exist yet is created empty.',
  input: z.object({ stack }).strict(),
  risk: 'low',
  describe: (input) => `preview Pulumi stack ${input.stack}`,
} as const satisfies ToolDefinition<z.ZodObject<{ stack: typeof stack }>>;

const upInput = z.object({ stack, planId }).strict();
const refreshInput = z.object({ stack }).strict();
const rollbackInput = z.object({ stack, version: z.number().int().positive().describe('The deployment version to go back to (pulumi_history)') }).strict();

export function planText(plan: DeploymentPlan): string {
  const lines = [`Stack ${plan.target}, preview ${plan.deploymentId} (${new Date(plan.at).toISOString()}): ${plan.summary}`];
  for (const step of plan.steps) {
    if (step.op === 'same') continue;
    const sign = step.op === 'create' ? '+' : step.op === 'delete' ? '-' : step.op === 'replace' ? '+-' : '~';
    lines.push(`  ${sign} ${step.type}  ${step.name}${step.diffs.length ? `  (${step.diffs.join(', ')})` : ''}`);
  }
  if (plan.cost) lines.push(plan.cost.text);
  for (const diagnostic of plan.diagnostics) lines.push(diagnostic);
  return lines.join('\n');
}

export function registerPulumiTools(registry: ToolRegistry, pulumi: PulumiService): void {
  const failure = (error: unknown): ToolOutput => ({ ok: false, output: error instanceof Error ? error.message : String(error) });

  registry.register(pulumiStacksTool, async () => {
    try {
      const stacks = await pulumi.listStacks();
      if (stacks.length === 0) return { ok: true, output: 'The project has no stacks yet.' };
      return { ok: true, output: stacks.map((s) => `${s.current ? '* ' : '  '}${s.name}  ${s.resourceCount ?? 0} resource(s)${s.lastUpdate ? `, last update ${s.lastUpdate}` : ', never deployed'}${s.updateInProgress ? ', update in progress' : ''}`).join('\n') };
    } catch (error) {
      return failure(error);
    }
  });

  registry.register(pulumiHistoryTool, async (input) => {
    try {
      const entries = await pulumi.history(input.stack, input.limit ?? 10);
      if (entries.length === 0) return { ok: true, output: `Stack ${input.stack} has never been deployed.` };
      return {
        ok: true,
        output: entries
          .map((entry) => {
            const config = Object.entries(entry.config ?? {}).map(([key, value]) => `${key}=${value.secret ? '[secret]' : value.value}`);
            return `v${entry.version} ${entry.kind} ${entry.result} ${entry.startTime instanceof Date ? entry.startTime.toISOString() : String(entry.startTime)} ${JSON.stringify(entry.resourceChanges ?? {})}${config.length ? ` config: ${config.join(', ')}` : ''}`;
          })
          .join('\n'),
      };
    } catch (error) {
      return failure(error);
    }
  });

  registry.register(pulumiPreviewTool, async (input) => {
    try {
      const plan = await pulumi.preview(input.stack);
      return { ok: true, output: `${planText(plan)}\nplanId: ${plan.deploymentId}. Nothing was deployed; pulumi_up with this planId deploys it after the person approves.` };
    } catch (error) {
      return failure(error);
    }
  });

  registry.register(
    {
      name: 'pulumi_up',
      description:
        'Deploy a stack from a preview the person approves (planId from pulumi_preview). If the program, configuration or stack changed since that preview, nothing is deployed: a fresh preview is made and its planId returned, to be approved again.',
      input: upInput,
      risk: 'high',
      describe: (input) => `deploy Pulumi stack ${input.stack} (${input.planId})`,
      preview: (input) => {
        const plan = pulumi.plan(input.planId);
        if (!plan) return `There is no preview ${input.planId} in this session: approving does nothing; run pulumi_preview first.`;
        if (plan.target !== input.stack.trim()) return `Preview ${input.planId} is for stack ${plan.target}, not ${input.stack}: approving does nothing.`;
        return `${planText(plan)}\n\nIf the program, its configuration or the stack changed since this preview, approving previews again instead of deploying.`;
      },
    },
    async (input) => {
      try {
        const outcome = await pulumi.up(input.stack, input.planId);
        if (outcome.kind === 'stale') {
          return { ok: false, output: `Not deployed: the approved preview was stale (${outcome.reason}). A fresh preview was made:\n${planText(outcome.plan)}\nplanId: ${outcome.plan.deploymentId}. Show the person the new plan and call pulumi_up with it for a new approval.` };
        }
        const outputs = Object.entries(outcome.outputs).map(([key, value]) => `  ${key}: ${value}`);
        return { ok: outcome.kind === 'succeeded', output: `${outcome.message}${outputs.length ? `\nOutputs:\n${outputs.join('\n')}` : ''}` };
      } catch (error) {
        return failure(error);
      }
    },
  );

  registry.register(
    { name: 'pulumi_refresh', description: 'Refresh a stack: read the real resources and update the stack\'s state to match. Changes no resource.', input: refreshInput, risk: 'medium', describe: (input) => `refresh Pulumi stack ${input.stack}` },
    async (input) => {
      try {
        const result = await pulumi.refresh(input.stack);
        return { ok: result.ok, output: result.message };
      } catch (error) {
        return failure(error);
      }
    },
  );

  registry.register(
    {
      name: 'pulumi_rollback',
      description:
        'Roll a stack back to an earlier deployment\'s configuration (version from pulumi_history): writes that configuration to the stack, then previews. The deployment itself is a pulumi_up of the returned planId, approved separately.',
      input: rollbackInput,
      risk: 'high',
      describe: (input) => `roll Pulumi stack ${input.stack} back to version ${input.version}'s configuration`,
      preview: async (input) => {
        const changes = await pulumi.rollbackChanges(input.stack, input.version);
        const lines = [`Configuration of ${input.stack} back to version ${input.version} (${changes.entry.result}, ${changes.entry.startTime instanceof Date ? changes.entry.startTime.toISOString() : String(changes.entry.startTime)}):`];
        for (const [key, value] of Object.entries(changes.set)) lines.push(`  ~ ${key}: ${changes.current[key] ?? '(unset)'} -> ${value}`);
        for (const key of changes.remove) lines.push(`  - ${key} (was ${changes.current[key] ?? ''})`);
        if (lines.length === 1) lines.push('  (no configuration change)');
        lines.push('Then a preview runs; deploying it needs its own approval.');
        return lines.join('\n');
      },
    },
    async (input) => {
      try {
        const { plan } = await pulumi.rollback(input.stack, input.version);
        return { ok: true, output: `Configuration restored to version ${input.version}. ${planText(plan)}\nplanId: ${plan.deploymentId}. Nothing was deployed yet: pulumi_up with this planId deploys it after approval.` };
      } catch (error) {
        return failure(error);
      }
    },
  );
}
