/**
 * Anthropic's Messages API through @anthropic-ai/sdk, streamed. The SDK retries 429 and
 * 5xx (529 overloaded among them) with backoff and honours `retry-after`; we translate what
 * is left into plain words. The key comes from the caller (the OS keychain), never a file.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { Effort, ModelProvider, ModelRequest, ModelStreamEvent, ModelMessage } from './modelProvider';
import { efforts, ModelError } from './modelProvider';

export interface AnthropicOptions {
  readonly apiKey: string | undefined;
  readonly model: string;
  /**
   * A gateway, a proxy, or a test's loopback stand-in. Unset, the SDK reads ANTHROPIC_BASE_URL,
   * else talks to Anthropic itself.
   */
  readonly baseURL?: string;
  readonly maxRetries?: number;
}

function toAnthropicMessages(messages: readonly ModelMessage[]): Anthropic.MessageParam[] {
  return messages.map((message) => ({
    role: message.role,
    content: message.content.map((block): Anthropic.ContentBlockParam => {
      switch (block.type) {
        case 'text':
          return { type: 'text', text: block.text };
        case 'thinking':
          return { type: 'thinking', thinking: block.thinking, signature: block.signature };
        case 'redacted_thinking':
          return { type: 'redacted_thinking', data: block.data };
        case 'tool_use':
          return { type: 'tool_use', id: block.id, name: block.name, input: block.input ?? {} };
        case 'tool_result':
          return { type: 'tool_result', tool_use_id: block.toolUseId, content: block.content, is_error: block.isError };
      }
    }),
  }));
}

function translate(error: unknown, signal: AbortSignal): ModelError {
  if (signal.aborted || error instanceof Anthropic.APIUserAbortError) return new ModelError('aborted', 'Stopped.');
  if (error instanceof Anthropic.AuthenticationError) {
    return new ModelError('bad-key', 'Anthropic refused the API key. Set a valid key in Credentials & role.');
  }
  if (error instanceof Anthropic.PermissionDeniedError) {
    return new ModelError('bad-key', 'Anthropic says this key may not use that model. Check the key or pick another model in Settings.');
  }
  if (error instanceof Anthropic.NotFoundError) {
    return new ModelError('model-missing', 'Anthropic does not know that model. Pick another model in Settings.');
  }
  if (error instanceof Anthropic.RateLimitError) {
    return new ModelError('rate-limited', 'Anthropic is rate-limiting this key, and retries did not get through. Wait a minute and send again.');
  }
  if (error instanceof Anthropic.APIConnectionError) {
    return new ModelError('unreachable', 'Anthropic cannot be reached. Check the network, or switch to a local model (Ollama, offline) in Settings.');
  }
  if (error instanceof Anthropic.APIError) {
    const status = error.status;
    const type = (error.error as { error?: { type?: string } } | undefined)?.error?.type;
    if (status === 529 || type === 'overloaded_error') {
      return new ModelError('overloaded', 'Anthropic is overloaded right now, and retries did not get through. Try again shortly.');
    }
    if (status === 400) return new ModelError('bad-request', `Anthropic refused the request: ${error.message.slice(0, 300)}`);
    return new ModelError('server-error', `Anthropic failed (${status ?? 'mid-stream'}): ${(type ?? 'error').slice(0, 80)}. Try again.`);
  }
  return new ModelError('server-error', 'The answer from Anthropic could not be read. Try again.');
}

/** What a model accepts, from the Models API; what Sophia may send it follows from this. */
export interface AnthropicCapabilities {
  readonly adaptiveThinking: boolean;
  readonly efforts: readonly Effort[];
}

/**
 * When the Models API cannot say (a proxy without it), the Claude 5 family is assumed to take
 * adaptive thinking and effort, and older models neither: sending them is what fails.
 */
export function assumedCapabilities(model: string): AnthropicCapabilities {
  return /^claude-(?:sonnet|opus|haiku|fable|mythos)-5/.test(model)
    ? { adaptiveThinking: true, efforts: ['low', 'medium', 'high', 'xhigh', 'max'] }
    : { adaptiveThinking: false, efforts: [] };
}

function capabilitiesOf(info: Anthropic.Models.ModelInfo): AnthropicCapabilities | undefined {
  const caps = (info as { capabilities?: Anthropic.Models.ModelCapabilities | null }).capabilities;
  if (!caps) return undefined;
  const effort = caps.effort;
  return {
    adaptiveThinking: caps.thinking?.types?.adaptive?.supported === true,
    efforts: effort?.supported ? efforts.filter((level) => effort[level]?.supported === true) : [],
  };
}

export interface AnthropicModelInfo {
  readonly id: string;
  readonly displayName: string;
}

/** The models this key can use, newest first, through the SDK's Models API (all pages). */
export async function listAnthropicModels(options: { apiKey: string | undefined; baseURL?: string; signal?: AbortSignal }): Promise<AnthropicModelInfo[]> {
  if (!options.apiKey) throw new ModelError('no-key', 'No Anthropic API key is set. Add one in Credentials & role to list the models it can use.');
  // Without a base URL the SDK reads ANTHROPIC_BASE_URL, as createAnthropicProvider does.
  const client = new Anthropic({ apiKey: options.apiKey, maxRetries: 2, ...(options.baseURL ? { baseURL: options.baseURL } : {}) });
  const signal = options.signal ?? new AbortController().signal;
  const out: AnthropicModelInfo[] = [];
  try {
    for await (const info of client.models.list({ limit: 100 }, { signal })) {
      out.push({ id: info.id, displayName: info.display_name });
      if (out.length >= 500) break;
    }
  } catch (error) {
    throw translate(error, signal);
  }
  return out;
}

/** Capabilities per endpoint and model, asked once per process. */
const knownCapabilities = new Map<string, Promise<AnthropicCapabilities>>();

export function createAnthropicProvider(options: AnthropicOptions): ModelProvider {
  const { apiKey, model } = options;
  const client = apiKey
    ? new Anthropic({ apiKey, maxRetries: options.maxRetries ?? 3, ...(options.baseURL ? { baseURL: options.baseURL } : {}) })
    : undefined;

  function capabilities(signal: AbortSignal): Promise<AnthropicCapabilities> {
    if (!client) return Promise.resolve(assumedCapabilities(model));
    const key = `${options.baseURL ?? 'api.anthropic.com'} ${model}`;
    let known = knownCapabilities.get(key);
    if (!known) {
      known = client.models
        .retrieve(model, {}, { signal, maxRetries: 1 })
        .then((info) => capabilitiesOf(info) ?? assumedCapabilities(model))
        .catch((error: unknown) => {
          knownCapabilities.delete(key);
          if (error instanceof Anthropic.NotFoundError) throw error;
          return assumedCapabilities(model);
        });
      knownCapabilities.set(key, known);
    }
    return known;
  }

  async function* stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    if (!client) {
      throw new ModelError('no-key', 'No Anthropic API key is set. Add one in Credentials & role, or switch to Ollama (offline).');
    }
    // Tool-use blocks arrive as JSON fragments; each is parsed once its block closes.
    const toolBlocks = new Map<number, { id: string; name: string; json: string }>();
    // Thinking blocks arrive as text and signature deltas; each is kept whole once it closes.
    const thinkingBlocks = new Map<number, { thinking: string; signature: string } | { data: string }>();
    let usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    let answered: { model?: string; responseId?: string } = {};
    try {
      const caps = await capabilities(request.signal);
      const tools: Anthropic.Tool[] = request.tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        input_schema: tool.inputSchema as Anthropic.Tool.InputSchema,
      }));
      // One cache breakpoint after the tools and one after the system prompt: both are the
      // same on every call of a conversation, so later calls read them from the cache.
      const lastTool = tools.at(-1);
      if (lastTool) lastTool.cache_control = { type: 'ephemeral' };
      // Deliberately absent, because current models refuse them with a 400: temperature,
      // top_p, top_k, a forced tool_choice, an assistant prefill, thinking budgets and
      // thinking {type: 'disabled'}. Adaptive thinking with display 'summarized' returns the
      // progress notes the model writes between tool calls.
      const events = await client.messages.create(
        {
          model,
          max_tokens: request.maxTokens,
          system: [{ type: 'text', text: request.system, cache_control: { type: 'ephemeral' } }],
          messages: toAnthropicMessages(request.messages),
          tools,
          ...(caps.adaptiveThinking ? { thinking: { type: 'adaptive' as const, display: 'summarized' as const } } : {}),
          ...(request.effort && caps.efforts.includes(request.effort) ? { output_config: { effort: request.effort } } : {}),
          stream: true,
        },
        { signal: request.signal },
      );
      for await (const event of events) {
        switch (event.type) {
          case 'message_start': {
            answered = { model: event.message.model, responseId: event.message.id };
            const start = event.message.usage;
            usage = {
              inputTokens: start.input_tokens,
              outputTokens: start.output_tokens,
              cacheReadTokens: start.cache_read_input_tokens ?? 0,
              cacheWriteTokens: start.cache_creation_input_tokens ?? 0,
            };
            break;
          }
          case 'content_block_start':
            switch (event.content_block.type) {
              case 'tool_use':
                toolBlocks.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: '' });
                break;
              case 'thinking':
                thinkingBlocks.set(event.index, { thinking: event.content_block.thinking, signature: event.content_block.signature });
                if (event.content_block.thinking) yield { type: 'thinking', delta: event.content_block.thinking };
                break;
              case 'redacted_thinking':
                thinkingBlocks.set(event.index, { data: event.content_block.data });
                break;
              default:
                break;
            }
            break;
          case 'content_block_delta':
            switch (event.delta.type) {
              case 'text_delta':
                yield { type: 'text', delta: event.delta.text };
                break;
              case 'input_json_delta': {
                const block = toolBlocks.get(event.index);
                if (block) block.json += event.delta.partial_json;
                break;
              }
              case 'thinking_delta': {
                const block = thinkingBlocks.get(event.index);
                if (block && 'thinking' in block) block.thinking += event.delta.thinking;
                yield { type: 'thinking', delta: event.delta.thinking };
                break;
              }
              case 'signature_delta': {
                const block = thinkingBlocks.get(event.index);
                if (block && 'signature' in block) block.signature += event.delta.signature;
                break;
              }
              default:
                break;
            }
            break;
          case 'content_block_stop': {
            const thinking = thinkingBlocks.get(event.index);
            if (thinking) {
              thinkingBlocks.delete(event.index);
              yield {
                type: 'thinking_block',
                block: 'data' in thinking ? { type: 'redacted_thinking', data: thinking.data } : { type: 'thinking', thinking: thinking.thinking, signature: thinking.signature },
              };
            }
            const block = toolBlocks.get(event.index);
            if (block) {
              toolBlocks.delete(event.index);
              try {
                yield { type: 'tool_call', id: block.id, name: block.name, input: block.json === '' ? {} : JSON.parse(block.json) };
              } catch {
                yield { type: 'tool_call', id: block.id, name: block.name, input: undefined, error: 'The arguments were not valid JSON.' };
              }
            }
            break;
          }
          case 'message_delta': {
            const delta = event.usage;
            usage = {
              inputTokens: delta.input_tokens ?? usage.inputTokens,
              outputTokens: delta.output_tokens,
              cacheReadTokens: delta.cache_read_input_tokens ?? usage.cacheReadTokens,
              cacheWriteTokens: delta.cache_creation_input_tokens ?? usage.cacheWriteTokens,
            };
            yield { type: 'usage', ...usage };
            yield { type: 'done', stopReason: event.delta.stop_reason ?? 'end_turn', ...answered };
            break;
          }
          case 'message_stop':
            break;
        }
      }
      // The SDK ends the iteration quietly on abort; the caller must know it was cut short.
      if (request.signal.aborted) throw new ModelError('aborted', 'Stopped.');
    } catch (error) {
      if (error instanceof ModelError) throw error;
      throw translate(error, request.signal);
    }
  }

  return { id: 'anthropic', model, offline: false, stream };
}
