/**
 * `report_diagnosis`: the model states the cause of a failure and quotes the log lines that
 * show it, before it proposes a fix. It changes nothing outside the chat (like update_plan),
 * so it is read-only and runs in plan mode too. The quoted lines are checked against what
 * read_logs actually returned in this conversation (the whole outputs, as kept): a line that
 * was never read is marked so in the result the chat shows, whatever the model says.
 */
import { checkEvidence, diagnosisInput, diagnosisResult, type LogRead } from '../../shared/troubleshoot';
import type { ConversationStore } from './conversationStore';
import type { ToolRegistry } from './tools';

/** The log tool whose results count as evidence read. */
export const logReadTool = 'read_logs';
/** The tool whose call a diagnosis may name as its reproduction. */
export const reproductionTool = 'run_command';

/** Every successful read_logs call of the conversation: the source it named and its whole output. */
export function logReadsOf(store: ConversationStore, conversationId: string): LogRead[] {
  const sources = new Map<string, string>();
  const reads: LogRead[] = [];
  for (const event of store.events(conversationId)) {
    if (event.type === 'tool.call' && event.tool === logReadTool) {
      const source = (event.args as { source?: unknown } | null)?.source;
      if (typeof source === 'string') sources.set(event.callId, source);
    } else if (event.type === 'tool.result' && event.ok) {
      const source = sources.get(event.callId);
      if (source === undefined) continue;
      // A long output reached the chat as head and tail; the whole text is kept apart.
      const output = store.toolOutput(conversationId, event.callId)?.content ?? event.output;
      reads.push({ source, output });
    }
  }
  return reads;
}

export function registerDiagnosisTool(registry: ToolRegistry, store: ConversationStore): void {
  registry.register(
    {
      name: 'report_diagnosis',
      description:
        'Troubleshooting: before you propose a fix, state the cause of the failure in plain words, quote the log lines that show it (exactly as read_logs returned them, by source), and name the run_command call that reproduced it. The person sees it as a step of the troubleshooting flow; lines not found in what read_logs returned are marked so.',
      input: diagnosisInput,
      risk: 'read-only',
      describe: (input) => `report the diagnosis (${input.evidence.reduce((sum, group) => sum + group.lines.length, 0)} quoted lines)`,
    },
    async (input, context) => {
      const events = input.reproduction === undefined ? [] : store.events(context.conversationId);
      const checked = checkEvidence(input.evidence, logReadsOf(store, context.conversationId));
      const named = input.reproduction !== undefined && events.some((event) => event.type === 'tool.call' && event.callId === input.reproduction && event.tool === reproductionTool);
      // The verdict stays the last line: the chat reads it from there.
      const note = input.reproduction !== undefined && !named ? `Note: ${input.reproduction.slice(0, 64)} is not a run_command call of this conversation, so no reproduction is shown for it.\n` : '';
      const result = diagnosisResult(checked);
      const cut = result.lastIndexOf('\n');
      return { ok: true, output: `${result.slice(0, cut + 1)}${note}${result.slice(cut + 1)}` };
    },
  );
}
