/**
 * `remember`: the model proposes a memory entry (a preference of the person, a decision, a
 * pattern of this codebase). It is medium risk, so it always waits on an approval card (no
 * "approve for this session"): Approve keeps it as proposed, Modify keeps the edited text
 * (the `text` of the arguments), Cancel rejects it. The entry is kept only after that, by the
 * executor; a text holding a secret is refused there, whatever the card said.
 */
import { z } from 'zod';
import { memoryKind, memoryLimits } from '../../shared/memory';
import type { ToolDefinition, ToolRegistry } from '../agent/tools';
import type { MemoryService } from '../memory/memoryService';

const rememberInput = z
  .object({
    kind: memoryKind.describe('preference: how the person wants things done; decision: a choice made for this project; pattern: how this codebase does something'),
    text: z.string().trim().min(1).max(memoryLimits.entryChars).describe('One or two sentences, self-contained, no secrets'),
  })
  .strict();

export const rememberTool = {
  name: 'remember',
  description:
    'Propose a memory entry for this workspace: a preference the person stated, a decision made, or a pattern of this codebase worth knowing next time. The person approves, edits or rejects it; accepted entries appear in later system prompts as data. Propose only what will matter in later conversations; never a password, key or token.',
  input: rememberInput,
  risk: 'medium',
  describe: (input) => `remember a ${input.kind}: ${input.text.replace(/\s+/g, ' ').slice(0, 120)}`,
} as const satisfies ToolDefinition<typeof rememberInput>;

export function registerMemoryTools(registry: ToolRegistry, memory: MemoryService): void {
  registry.register(
    {
      ...rememberTool,
      preview: (input) => {
        const secret = memory.store.secretIn(input.text);
        const warning = secret ? `\n\nThis text holds ${secret}: it will be refused even if approved.` : '';
        return `Keep this ${input.kind} in the workspace's memory:\n\n${input.text}\n\nApprove keeps it; Modify edits the "text" (or "kind"); Cancel rejects it. You can edit or delete it later in the Memory panel.${warning}`;
      },
    },
    async (input, context) => {
      try {
        const entry = memory.add(input.kind, input.text, context.conversationId, 'user');
        return { ok: true, output: `Kept as ${entry.id} (${entry.kind}): ${entry.text}` };
      } catch (error) {
        return { ok: false, output: error instanceof Error ? error.message : String(error) };
      }
    },
  );
}
