/**
 * Where a span of work begins and ends (a tool call, an approval, a sandbox run), told to
 * whatever records it, free of any telemetry library: the recorder (OpenTelemetry, in
 * electron/telemetry/) is loaded only when telemetry is on. The span a call runs inside is
 * carried by AsyncLocalStorage, so a tool call knows its turn and a sandbox run its tool
 * call without anyone passing it along. Outside a recorded turn every call here is a no-op.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type SpanValue = string | number | boolean | readonly string[];
export type SpanAttributes = Readonly<Record<string, SpanValue | undefined>>;

/** What a span is: its name, its kind and the attributes known when it starts. */
export interface SpanSpec {
  readonly name: string;
  /** `client` for a call to another service (a model), `internal` otherwise. */
  readonly kind?: 'client' | 'internal';
  readonly attributes: SpanAttributes;
}

export interface OpenSpan {
  /** True when the person turned content capture on: only then may `content` attributes be given. */
  readonly captureContent: boolean;
  set(attributes: SpanAttributes): void;
  /**
   * Attributes that carry content (prompt text, tool arguments, output): built, redacted and
   * recorded only when content capture is on.
   */
  content(attributes: () => SpanAttributes): void;
  /** Ends the span; with an error, its status is an error and `error.type` is set. */
  end(error?: unknown): void;
}

/** What records spans: made by the telemetry service, one per export pipeline. */
export interface SpanRecorder {
  start(spec: SpanSpec, parent: OpenSpan | undefined): OpenSpan;
}

interface Active {
  readonly recorder: SpanRecorder;
  readonly span: OpenSpan;
}

const active = new AsyncLocalStorage<Active>();

/** Sophia's own spans (the GenAI ones are named by the convention). */
export const sophiaSpans = {
  /** The gate deciding one tool call: `sophia.approval.decision`, `.risk`, `.decided_by`, `.wait_ms`. */
  approval: 'sophia.approval',
  /** One command in a sandbox container: `sophia.sandbox.exit_code`, `.duration_ms`, `.timed_out`, `.stopped`. */
  sandboxRun: 'sophia.sandbox.run',
} as const;

const noSpan: OpenSpan = {
  captureContent: false,
  set: () => undefined,
  content: () => undefined,
  end: () => undefined,
};

/** A recorder's span whose every method swallows its own failure: telemetry never breaks the work it watches. */
function guarded(span: OpenSpan): OpenSpan {
  const quietly = (act: () => void): void => {
    try {
      act();
    } catch {
      // A span that cannot be recorded is left out; the work goes on.
    }
  };
  return {
    captureContent: span.captureContent,
    set: (attributes) => quietly(() => span.set(attributes)),
    content: (attributes) => quietly(() => span.content(attributes)),
    end: (error) => quietly(() => span.end(error)),
  };
}

/** The span work runs inside now, if a recorded turn is under way. */
export function currentSpan(): OpenSpan | undefined {
  const span = active.getStore()?.span;
  return span && guarded(span);
}

/**
 * Runs `work` inside a new span, a child of the current one; without a current span (telemetry
 * off, or work outside a turn) it just runs `work` with a span that records nothing. A failure
 * of `work` ends the span with that error and is thrown on unchanged.
 */
export async function inSpan<T>(spec: SpanSpec, work: (span: OpenSpan) => Promise<T>, recorder?: SpanRecorder): Promise<T> {
  const parent = active.getStore();
  const using = recorder ?? parent?.recorder;
  if (!using) return work(noSpan);
  let raw: OpenSpan;
  try {
    raw = using.start(spec, parent?.span);
  } catch {
    // Telemetry never breaks the work it watches.
    return work(noSpan);
  }
  // Children see the recorder's own span as their parent; the work gets one that cannot throw.
  const span = guarded(raw);
  try {
    const result = await active.run({ recorder: using, span: raw }, () => work(span));
    span.end();
    return result;
  } catch (error) {
    span.end(error);
    throw error;
  }
}

/**
 * Starts a child of the current span that the caller ends itself (a model stream, read as it
 * arrives); a span that records nothing outside a recorded turn.
 */
export function startSpan(spec: SpanSpec): OpenSpan {
  const parent = active.getStore();
  if (!parent) return noSpan;
  try {
    return guarded(parent.recorder.start(spec, parent.span));
  } catch {
    return noSpan;
  }
}
