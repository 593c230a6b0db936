/**
 * One interface over every model: streaming text, tool calls, token usage, cancellation
 * through an AbortSignal. Providers translate their wire format into these events and
 * their failures into `ModelError`s that say, in plain words, what to do.
 */
import { SophiaError } from '../../shared/errors';

export type ProviderId = 'anthropic' | 'ollama';

/** Where Ollama listens unless Settings say otherwise. */
export const defaultOllamaHost = 'http://127.0.0.1:11434';

export type ModelContent =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: unknown }
  | { readonly type: 'tool_result'; readonly toolUseId: string; readonly toolName: string; readonly content: string; readonly isError: boolean };

export interface ModelMessage {
  readonly role: 'user' | 'assistant';
  readonly content: readonly ModelContent[];
}

export interface ModelToolSpec {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the tool's input (from its zod schema). */
  readonly inputSchema: Record<string, unknown>;
}

export interface ModelRequest {
  readonly system: string;
  readonly messages: readonly ModelMessage[];
  readonly tools: readonly ModelToolSpec[];
  readonly maxTokens: number;
  readonly signal: AbortSignal;
}

export type ModelStreamEvent =
  | { readonly type: 'text'; readonly delta: string }
  /** A complete tool call; `error` when the model's arguments were not valid JSON. */
  | { readonly type: 'tool_call'; readonly id: string; readonly name: string; readonly input: unknown; readonly error?: string }
  | { readonly type: 'usage'; readonly inputTokens: number; readonly outputTokens: number }
  | { readonly type: 'done'; readonly stopReason: string };

export interface ModelProvider {
  readonly id: ProviderId;
  readonly model: string;
  /** True when the provider talks only to a model on this machine. */
  readonly offline: boolean;
  stream(request: ModelRequest): AsyncIterable<ModelStreamEvent>;
}

export type ModelFailure = 'no-key' | 'bad-key' | 'unreachable' | 'rate-limited' | 'overloaded' | 'bad-request' | 'model-missing' | 'server-error' | 'aborted';

/** A provider failure with the words the chat shows. */
export class ModelError extends SophiaError {
  constructor(
    readonly failure: ModelFailure,
    message: string,
  ) {
    super(failure === 'aborted' ? 'stopped' : 'unavailable', message, { failure });
  }
}

/** USD per million tokens (input, output), from each provider's published prices. */
const pricesPerMillion: ReadonlyArray<readonly [RegExp, number, number]> = [
  [/opus-4-[15]|opus-4-[6-9]/, 5, 25],
  [/opus/, 15, 75],
  [/sonnet/, 3, 15],
  [/haiku-4|haiku-3-5/, 1, 5],
  [/haiku/, 0.25, 1.25],
];

export function costUsd(provider: ProviderId, model: string, inputTokens: number, outputTokens: number): number {
  if (provider === 'ollama') return 0;
  const price = pricesPerMillion.find(([pattern]) => pattern.test(model));
  if (!price) return 0;
  return (inputTokens * price[1] + outputTokens * price[2]) / 1_000_000;
}
