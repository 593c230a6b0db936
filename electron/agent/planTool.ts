/**
 * `update_plan`: the model posts its plan and marks each step done, pending or failed as the
 * work goes on. The chat shows it as a checklist that updates in place, stored with the
 * conversation and replayed on reopening. It changes nothing outside the chat, so it is
 * read-only and runs in plan mode too.
 */
import { z } from 'zod';
import { limits, planStepStatuses, type PlanStep } from '../../shared/contract';
import type { ToolRegistry } from './tools';

export const updatePlanInput = z
  .object({
    steps: z
      .array(
        z
          .object({
            text: z.string().trim().min(1).max(limits.label).describe('One short step, as the person reads it.'),
            status: z.enum(planStepStatuses).describe('pending until it is carried out; done or failed after.'),
          })
          .strict(),
      )
      .min(1)
      .max(50)
      .describe('The whole plan, in order: every call replaces the plan before it.'),
  })
  .strict();

export function registerPlanTool(registry: ToolRegistry, post: (conversationId: string, steps: readonly PlanStep[]) => void): void {
  registry.register(
    {
      name: 'update_plan',
      description:
        'Post your plan for the task as a checklist the person sees, or update it: the whole list each time, each step pending, done or failed. Call it before a task of several steps and after each step.',
      input: updatePlanInput,
      risk: 'read-only',
      describe: (input) => `update the plan (${input.steps.length} steps)`,
    },
    async (input, context) => {
      post(context.conversationId, input.steps);
      const done = input.steps.filter((step) => step.status === 'done').length;
      const failed = input.steps.filter((step) => step.status === 'failed').length;
      return { ok: true, output: `Plan shown: ${input.steps.length} steps, ${done} done${failed ? `, ${failed} failed` : ''}.` };
    },
  );
}
