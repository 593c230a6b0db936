/**
 * The execution log's state, folded from the container events: one entry per command with
 * its output as it streams, then its exit code, duration and whether it timed out or was
 * stopped. Bounded: the last 50 commands, the last 32 KB of each.
 */
import type { SophiaEvent } from '../../../shared/contract';

export type ContainerEvent = Extract<SophiaEvent, { type: 'container.started' | 'container.output' | 'container.ended' }>;

export interface OutputSegment {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export interface ExecutionEnd {
  readonly exitCode: number | null;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly stopped: boolean;
  readonly truncated: boolean;
}

export interface Execution {
  readonly taskId: string;
  readonly execId: string;
  readonly command: string;
  readonly startedAt: number;
  readonly output: readonly OutputSegment[];
  readonly outputChars: number;
  /** Earlier output was dropped to stay within the bound. */
  readonly dropped: boolean;
  readonly end?: ExecutionEnd;
}

export const maxExecutions = 50;
/**
 * The tail kept per command: enough to read how it ended, and never a long output whole in
 * the renderer (the agent's tool call in the chat keeps the whole text, "open full output").
 */
export const maxOutputChars = 32 * 1024;

function replaceAt(list: readonly Execution[], index: number, next: Execution): readonly Execution[] {
  const copy = list.slice();
  copy[index] = next;
  return copy;
}

function findIndex(list: readonly Execution[], event: ContainerEvent): number {
  for (let i = list.length - 1; i >= 0; i -= 1) {
    const entry = list[i];
    if (!entry || entry.taskId !== event.taskId) continue;
    if (event.execId !== undefined ? entry.execId === event.execId : entry.end === undefined) return i;
  }
  return -1;
}

function appendOutput(entry: Execution, stream: OutputSegment['stream'], text: string): Execution {
  const segments = entry.output.slice();
  const last = segments[segments.length - 1];
  if (last && last.stream === stream) segments[segments.length - 1] = { stream, text: last.text + text };
  else segments.push({ stream, text });
  let chars = entry.outputChars + text.length;
  let dropped = entry.dropped;
  // Keep the tail: the end of a long output is what a person looks at.
  while (chars > maxOutputChars && segments.length > 0) {
    const first = segments[0]!;
    const excess = chars - maxOutputChars;
    if (first.text.length <= excess) {
      segments.shift();
      chars -= first.text.length;
    } else {
      segments[0] = { stream: first.stream, text: first.text.slice(excess) };
      chars -= excess;
    }
    dropped = true;
  }
  return { ...entry, output: segments, outputChars: chars, dropped };
}

export function reduceExecutions(list: readonly Execution[], event: ContainerEvent): readonly Execution[] {
  switch (event.type) {
    case 'container.started': {
      if (list.some((entry) => entry.execId === event.execId)) return list;
      const entry: Execution = {
        taskId: event.taskId,
        execId: event.execId,
        command: event.command,
        startedAt: event.startedAt,
        output: [],
        outputChars: 0,
        dropped: false,
      };
      return [...list, entry].slice(-maxExecutions);
    }
    case 'container.output': {
      const index = findIndex(list, event);
      const entry = list[index];
      if (!entry || entry.end) return list;
      return replaceAt(list, index, appendOutput(entry, event.stream, event.chunk));
    }
    case 'container.ended': {
      const index = findIndex(list, event);
      const entry = list[index];
      if (!entry) return list;
      const { exitCode, durationMs, timedOut, stopped, truncated } = event;
      return replaceAt(list, index, { ...entry, end: { exitCode, durationMs, timedOut, stopped, truncated } });
    }
  }
}

/** How a finished (or running) command is described in one line. */
export function describeOutcome(entry: Execution): string {
  const { end } = entry;
  if (!end) return 'running…';
  const duration = end.durationMs < 1000 ? `${Math.round(end.durationMs)} ms` : `${(end.durationMs / 1000).toFixed(1)} s`;
  if (end.timedOut) return `timed out after ${duration} (killed)`;
  if (end.stopped) return `stopped after ${duration}`;
  return `exit ${end.exitCode === null ? '?' : end.exitCode} · ${duration}`;
}
