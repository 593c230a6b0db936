/** The definition of the `add_tests` tool; the test writer (testWriter.ts) offers it and runs it. */
import { z } from 'zod';
import { codeLimits } from '../../shared/code';
import type { ToolDefinition } from '../agent/tools';

const filePath = z.string().min(1).max(codeLimits.path).describe('A path relative to the workspace root, e.g. "sql/employees.sql"');

/**
 * `add_tests` is offered only in the Add Tests side turn (see code/testWriter.ts), never in
 * the agent's own turns: its files join the proposal that waits in the diff view, and are
 * written only when the person approves that proposal.
 */
export const addTestsInput = z
  .object({
    files: z
      .array(
        z
          .object({
            path: filePath,
            content: z.string().max(codeLimits.fileText).describe('The complete text of the test file (not a diff).'),
          })
          .strict(),
      )
      .min(1)
      .max(codeLimits.filesPerProposal),
    note: z.string().max(1000).optional().describe('One sentence for the person: what the tests cover and how to run them.'),
  })
  .strict();

export const addTestsTool = {
  name: 'add_tests',
  description:
    'Add test files for the change under review to the same proposal: for each file, its path and complete text. New test files are created; an existing test file is given in full with the new tests added. Nothing is written before the person approves the proposal.',
  input: addTestsInput,
  risk: 'medium',
} as const satisfies ToolDefinition<typeof addTestsInput>;
