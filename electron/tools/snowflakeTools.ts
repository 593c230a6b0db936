/**
 * The Snowflake tools: plan DDL (low: parses, classifies and dry-runs on a shadow copy;
 * only table definitions are read from Snowflake), apply the planned DDL (high; the
 * inspectors raise DROP and TRUNCATE to critical, and production needs the admin role,
 * since they read `ddl` and `environment`), and restore a table from a recovery point.
 */
import { z } from 'zod';
import { snowflakeEnvironments, type DeploymentPlan } from '../../shared/contract';
import type { ToolDefinition, ToolOutput, ToolRegistry } from '../agent/tools';
import type { SnowflakeService } from '../infra/snowflake/snowflakeService';

const environment = z.enum(snowflakeEnvironments).describe('Which Snowflake connection: staging or production');
const ddlText = z.string().trim().min(1).max(200_000);
const planId = z.string().regex(/^plan-[a-f0-9-]{1,40}$/).describe('The id snowflake_plan returned');

const planInput = z.object({ environment, text: ddlText.describe('The DDL, statements separated by ";"') }).strict();
const applyInput = z.object({ environment, planId, ddl: ddlText.describe('Exactly the DDL that was planned') }).strict();
const restoreInput = z.object({ environment, recoveryId: z.string().regex(/^rp-[a-f0-9-]{1,40}$/).describe('A recovery point from snowflake_apply') }).strict();

export const snowflakePlanTool = {
  name: 'snowflake_plan',
  description:
    'Check Snowflake DDL before it runs: parse and validate it, classify each statement (additive, changing, destructive: DROP, TRUNCATE, dropped columns, narrowed types), and dry-run it on a shadow copy of the affected tables. Errors name their line. Nothing of the DDL reaches Snowflake. Returns a planId for snowflake_apply.',
  input: planInput,
  risk: 'low',
  describe: (input) => `plan Snowflake DDL for ${input.environment}`,
} as const satisfies ToolDefinition<typeof planInput>;

export function ddlPlanText(plan: DeploymentPlan): string {
  const lines = [`Snowflake ${plan.target}, plan ${plan.deploymentId}: ${plan.summary}`];
  for (const step of plan.steps) lines.push(`  ${step.type} [${step.op}] ${step.name}${step.message ? `  -- ${step.message}` : ''}`);
  for (const diagnostic of plan.diagnostics) lines.push(diagnostic);
  return lines.join('\n');
}

export function registerSnowflakeTools(registry: ToolRegistry, snowflake: SnowflakeService): void {
  const failure = (error: unknown): ToolOutput => ({ ok: false, output: error instanceof Error ? error.message : String(error) });

  registry.register(snowflakePlanTool, async (input) => {
    try {
      const { plan, errors } = await snowflake.plan(input.environment, input.text);
      if (errors.length) return { ok: false, output: `${ddlPlanText(plan)}\nNothing was sent to Snowflake. Fix the DDL and plan it again.` };
      return { ok: true, output: `${ddlPlanText(plan)}\nplanId: ${plan.deploymentId}. Nothing was applied; snowflake_apply with this planId and the same DDL applies it after the person approves.` };
    } catch (error) {
      return failure(error);
    }
  });

  registry.register(
    {
      name: 'snowflake_apply',
      description:
        'Apply DDL that snowflake_plan validated (its planId and exactly the same DDL) to Snowflake, after the person approves. Before each destructive statement a recovery point (zero-copy clone and Time Travel timestamp) is recorded; a destructive statement without one is refused.',
      input: applyInput,
      risk: 'high',
      describe: (input) => `apply DDL to Snowflake ${input.environment} (${input.planId})`,
      preview: (input) => {
        const record = snowflake.planOf(input.planId);
        if (!record) return `There is no plan ${input.planId} in this session: approving does nothing.`;
        const recovery = record.destructive.size ? `\nBefore each destructive statement a zero-copy clone of the table and a Time Travel point are recorded; without them the statement is refused.` : '';
        return `${ddlPlanText(record.plan)}${recovery}\n\n${input.ddl}`;
      },
    },
    async (input) => {
      try {
        const result = await snowflake.apply(input.environment, input.planId, input.ddl);
        const undo = result.recoveries.length ? `\nTo undo: snowflake_restore with ${result.recoveries.map((point) => `${point.id} (${point.table})`).join(', ')}.` : '';
        return { ok: result.ok, output: `${result.message}${undo}` };
      } catch (error) {
        return failure(error);
      }
    },
  );

  registry.register(
    {
      name: 'snowflake_restore',
      description: 'Put a table back as it was at a recovery point recorded by snowflake_apply (CREATE OR REPLACE TABLE ... CLONE the recovery clone).',
      input: restoreInput,
      risk: 'high',
      describe: (input) => `restore a Snowflake ${input.environment} table from ${input.recoveryId}`,
      preview: (input) => {
        const point = snowflake.recovery(input.recoveryId);
        if (!point) return `There is no recovery point ${input.recoveryId} in this session: approving does nothing.`;
        return `CREATE OR REPLACE TABLE ${point.table} CLONE ${point.clone}\n-- ${point.table} as it was at ${point.at}, before line ${point.line}: ${point.sql}`;
      },
    },
    async (input) => {
      try {
        const point = snowflake.recovery(input.recoveryId);
        if (point && point.environment !== input.environment) return { ok: false, output: `Recovery point ${input.recoveryId} is on ${point.environment}, not ${input.environment}.` };
        const result = await snowflake.restore(input.recoveryId);
        return { ok: result.ok, output: result.message };
      } catch (error) {
        return failure(error);
      }
    },
  );
}
