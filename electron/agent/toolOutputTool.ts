/**
 * `read_tool_output`: the model reads on in a tool output it was given only part of (the
 * whole text is kept with the conversation). Read-only, and only within the conversation
 * that made the call: a call id from another conversation finds nothing.
 */
import { z } from 'zod';
import type { ConversationStore } from './conversationStore';
import type { ToolRegistry } from './tools';

const pageChars = 20_000;

export const readToolOutputInput = z
  .object({
    // A lookup key only (bound as a parameter, within this conversation).
    callId: z.string().min(1).max(64).describe('The id the shortened output names.'),
    offset: z.number().int().min(0).default(0).describe('Where to start, in characters.'),
    length: z.number().int().min(1).max(pageChars).default(pageChars).describe('How many characters to read.'),
  })
  .strict();

export function registerToolOutputTool(registry: ToolRegistry, store: ConversationStore): void {
  registry.register(
    {
      name: 'read_tool_output',
      description: 'Read part of an earlier tool output that was too long to give in full. The shortened output names its callId and where to read on.',
      input: readToolOutputInput,
      risk: 'read-only',
      describe: (input) => `read tool output ${input.callId} from character ${input.offset}`,
    },
    async (input, context) => {
      const kept = store.toolOutput(context.conversationId, input.callId);
      if (!kept) return { ok: false, output: `No kept output "${input.callId}" in this conversation.` };
      const end = Math.min(kept.content.length, input.offset + input.length);
      if (input.offset >= kept.content.length) return { ok: false, output: `Output "${input.callId}" has ${kept.content.length} characters; offset ${input.offset} is past its end.` };
      const more = end < kept.content.length ? ` ${kept.content.length - end} more after this; read on with offset ${end}.` : ' That is the end.';
      return { ok: true, output: `[${kept.tool} output "${input.callId}", characters ${input.offset}–${end} of ${kept.content.length}.${more}]\n${kept.content.slice(input.offset, end)}` };
    },
  );
}
