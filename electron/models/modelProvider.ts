/**
 * One interface over every model: streaming text, tool calls, token usage, cancellation
 * through an AbortSignal. Providers translate their wire format into these events and
 * their failures into `ModelError`s that say, in plain words, what to do.
 */
import { SophiaError } from '../../shared/errors';

/** `openai` is any Chat Completions server; `cortex` is its Snowflake preset (billed in credits, not per token). */
export type ProviderId = 'anthropic' | 'openai' | 'cortex' | 'ollama';

/**
 * A thinking block exactly as the model returned it. The API checks its signature, so it goes
 * back in the next request unchanged, in its place before the tool calls it led to.
 */
export type ThinkingContent =
  | { readonly type: 'thinking'; readonly thinking: string; readonly signature: string }
  | { readonly type: 'redacted_thinking'; readonly data: string };

export type ModelContent =
  | { readonly type: 'text'; readonly text: string }
  | ThinkingContent
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

/** How hard the model thinks (Anthropic's `output_config.effort`); unset, the model's default. */
export const efforts = ['low', 'medium', 'high', 'xhigh', 'max'] as const;
export type Effort = (typeof efforts)[number];

export interface ModelRequest {
  readonly system: string;
  readonly effort?: Effort;
  readonly messages: readonly ModelMessage[];
  readonly tools: readonly ModelToolSpec[];
  readonly maxTokens: number;
  readonly signal: AbortSignal;
  /** The conversation the call is made for: only the audit entry of the call records it, never a provider. */
  readonly conversationId?: string;
}

export type ModelStreamEvent =
  | { readonly type: 'text'; readonly delta: string }
  /** A complete tool call; `error` when the model's arguments were not valid JSON. */
  | { readonly type: 'tool_call'; readonly id: string; readonly name: string; readonly input: unknown; readonly error?: string }
  /** The model's visible thinking (its progress notes between tool calls), as it streams. */
  | { readonly type: 'thinking'; readonly delta: string }
  /** A complete thinking block, with its signature, to store and send back unchanged. */
  | { readonly type: 'thinking_block'; readonly block: ThinkingContent }
  /**
   * `inputTokens` are the uncached input tokens; cache reads and writes are counted apart
   * because they are priced apart.
   */
  | { readonly type: 'usage'; readonly inputTokens: number; readonly outputTokens: number; readonly cacheReadTokens?: number; readonly cacheWriteTokens?: number }
  /**
   * Why the model stopped: `end_turn`, `tool_use`, `max_tokens` (cut off), `pause_turn` (the
   * server paused a long turn; send the turn back to continue), `refusal` (declined), ...
   */
  | { readonly type: 'done'; readonly stopReason: string; /** The model that answered and the response's id, when the API says (telemetry). */ readonly model?: string; readonly responseId?: string };

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

