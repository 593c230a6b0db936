/**
 * The OpenTelemetry GenAI semantic conventions as Sophia emits them (semantic-conventions
 * 1.37+: `gen_ai.provider.name`, `gen_ai.input.messages` / `gen_ai.output.messages` as JSON),
 * and the model-call span: a `chat {model}` client span around each streamed model call,
 * child of whatever span the call runs in (the turn). Content attributes are built only
 * when content capture is on; the recorder redacts keychain values from them.
 */
import { startSpan, type SpanAttributes } from '../core/spans';
import type { ModelContent, ModelMessage, ModelProvider, ModelRequest, ModelStreamEvent, ProviderId } from '../models/modelProvider';
import { costUsd } from '../models/pricing';

/** Attribute names, written once. */
export const genAi = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  maxTokens: 'gen_ai.request.max_tokens',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheWriteTokens: 'gen_ai.usage.cache_creation.input_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
  conversation: 'gen_ai.conversation.id',
  agentName: 'gen_ai.agent.name',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  toolArguments: 'gen_ai.tool.call.arguments',
  toolResult: 'gen_ai.tool.call.result',
  systemInstructions: 'gen_ai.system_instructions',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  errorType: 'error.type',
  costUsd: 'sophia.cost.usd',
} as const;

/** The agent's name in `invoke_agent {agent}`. */
export const agentName = 'Sophia';

/** `gen_ai.provider.name`: the convention's well-known values where one applies. */
export function providerName(id: ProviderId): string {
  switch (id) {
    case 'anthropic':
      return 'anthropic';
    case 'openai':
      return 'openai';
    case 'cortex':
      return 'snowflake.cortex';
    case 'ollama':
      return 'ollama';
  }
}

/** Anthropic's and Chat Completions' stop reasons as the convention's finish reasons. */
export function finishReason(stopReason: string): string {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'tool_use':
      return 'tool_call';
    case 'max_tokens':
      return 'length';
    case 'refusal':
      return 'content_filter';
    default:
      return stopReason;
  }
}

type Part =
  | { type: 'text'; content: string }
  | { type: 'reasoning'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: unknown }
  | { type: 'tool_call_response'; id: string; response: string };

function parts(content: readonly ModelContent[]): Part[] {
  return content.flatMap((block): Part[] => {
    switch (block.type) {
      case 'text':
        return [{ type: 'text', content: block.text }];
      case 'thinking':
        return [{ type: 'reasoning', content: block.thinking }];
      case 'redacted_thinking':
        return [];
      case 'tool_use':
        return [{ type: 'tool_call', id: block.id, name: block.name, arguments: block.input }];
      case 'tool_result':
        return [{ type: 'tool_call_response', id: block.toolUseId, response: block.content }];
    }
  });
}

/** `gen_ai.input.messages`: the convention's JSON of role and parts. */
export function inputMessages(messages: readonly ModelMessage[]): string {
  return JSON.stringify(messages.map((message) => ({ role: message.content.every((block) => block.type === 'tool_result') ? 'tool' : message.role, parts: parts(message.content) })));
}

/** Traces each model call of `provider`: a `chat {model}` span that covers the whole stream. */
export function tracedProvider(provider: ModelProvider): ModelProvider {
  return {
    id: provider.id,
    model: provider.model,
    offline: provider.offline,
    stream: (request) => tracedStream(provider, request),
  };
}

async function* tracedStream(provider: ModelProvider, request: ModelRequest): AsyncGenerator<ModelStreamEvent> {
  const span = startSpan({
    name: `chat ${provider.model}`,
    kind: 'client',
    attributes: {
      [genAi.operation]: 'chat',
      [genAi.provider]: providerName(provider.id),
      [genAi.requestModel]: provider.model,
      [genAi.maxTokens]: request.maxTokens,
    },
  });
  span.content(() => ({
    [genAi.systemInstructions]: JSON.stringify([{ type: 'text', content: request.system }]),
    [genAi.inputMessages]: inputMessages(request.messages),
  }));
  let text = '';
  const calls: Part[] = [];
  let stopReason: string | undefined;
  let answered: { model?: string; responseId?: string } = {};
  const tokens = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  let failure: unknown;
  let failed = false;
  try {
    for await (const event of provider.stream(request)) {
      switch (event.type) {
        case 'text':
          text += event.delta;
          break;
        case 'tool_call':
          calls.push({ type: 'tool_call', id: event.id, name: event.name, arguments: event.input });
          break;
        case 'usage':
          tokens.inputTokens += event.inputTokens;
          tokens.outputTokens += event.outputTokens;
          tokens.cacheReadTokens += event.cacheReadTokens ?? 0;
          tokens.cacheWriteTokens += event.cacheWriteTokens ?? 0;
          break;
        case 'done':
          stopReason = event.stopReason;
          answered = { ...(event.model ? { model: event.model } : {}), ...(event.responseId ? { responseId: event.responseId } : {}) };
          break;
        case 'thinking':
        case 'thinking_block':
          break;
      }
      yield event;
    }
  } catch (error) {
    failed = true;
    failure = error;
    throw error;
  } finally {
    const cost = costUsd(provider.id, provider.model, tokens);
    const attributes: Record<string, SpanAttributes[string]> = {
      // Cached input is input: the convention counts it in input_tokens and apart as well.
      [genAi.inputTokens]: tokens.inputTokens + tokens.cacheReadTokens + tokens.cacheWriteTokens,
      [genAi.outputTokens]: tokens.outputTokens,
      [genAi.cacheReadTokens]: tokens.cacheReadTokens,
      [genAi.cacheWriteTokens]: tokens.cacheWriteTokens,
      ...(cost === undefined ? {} : { [genAi.costUsd]: cost }),
      ...(stopReason === undefined ? {} : { [genAi.finishReasons]: [finishReason(stopReason)] }),
      ...(answered.model === undefined ? {} : { [genAi.responseModel]: answered.model }),
      ...(answered.responseId === undefined ? {} : { [genAi.responseId]: answered.responseId }),
    };
    span.set(attributes);
    span.content(() => ({
      [genAi.outputMessages]: JSON.stringify([{ role: 'assistant', parts: [...(text ? [{ type: 'text', content: text }] : []), ...calls], finish_reason: finishReason(stopReason ?? 'error') }]),
    }));
    // A stream left early (the turn's budget, a stop) ends the span without an error of its own.
    span.end(failed ? failure : undefined);
  }
}
