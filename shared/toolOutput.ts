/**
 * How a tool's output reaches the chat. Up to `shownChars` it is sent whole; past that only
 * its head and tail travel (in the event, in the stored conversation, in the reply that
 * reopens it) with its length, and the main process keeps the whole text, which the chat
 * reads page by page through `conversation.toolOutput`. A 200 KB output so never sits whole
 * in an IPC frame or in the renderer's state.
 */
export const toolOutputLimits = {
  /** Outputs up to this many characters are shown whole. */
  shownChars: 6_000,
  headChars: 4_000,
  tailChars: 2_000,
  /** One page of the full output (`conversation.toolOutput`). */
  pageChars: 64 * 1024,
} as const;

export interface ToolOutputPreview {
  /** The whole output, or its head when `fullChars` is set. */
  readonly output: string;
  /** The last characters, when the output was cut. */
  readonly tail?: string;
  /** The whole output's length, when it was cut: the chat offers "open full output". */
  readonly fullChars?: number;
}

export function toolOutputPreview(output: string): ToolOutputPreview {
  if (output.length <= toolOutputLimits.shownChars) return { output };
  return {
    output: output.slice(0, toolOutputLimits.headChars),
    tail: output.slice(output.length - toolOutputLimits.tailChars),
    fullChars: output.length,
  };
}
