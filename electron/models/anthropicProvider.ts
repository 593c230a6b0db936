/**
 * Anthropic's Messages API through @anthropic-ai/sdk, streamed. The SDK retries 429 and
 * 5xx (529 overloaded among them) with backoff and honours `retry-after`; we translate what
 * is left into plain words. The key comes from the caller (the OS keychain), never a file.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { ModelProvider, ModelRequest, ModelStreamEvent, ModelMessage } from './modelProvider';
import { ModelError } from './modelProvider';

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
    return new ModelError('bad-key', 'Anthropic refused the API key. Set a valid key in Settings → Credentials.');
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

export function createAnthropicProvider(options: AnthropicOptions): ModelProvider {
  const { apiKey, model } = options;
  const client = apiKey
    ? new Anthropic({ apiKey, maxRetries: options.maxRetries ?? 3, ...(options.baseURL ? { baseURL: options.baseURL } : {}) })
    : undefined;

  async function* stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    if (!client) {
      throw new ModelError('no-key', 'No Anthropic API key is set. Add one in Settings → Credentials, or switch to Ollama (offline).');
    }
    // Tool-use blocks arrive as JSON fragments; each is parsed once its block closes.
    const toolBlocks = new Map<number, { id: string; name: string; json: string }>();
    let inputTokens = 0;
    let outputTokens: number;
    try {
      const events = await client.messages.create(
        {
          model,
          max_tokens: request.maxTokens,
          system: request.system,
          messages: toAnthropicMessages(request.messages),
          tools: request.tools.map((tool) => ({
            name: tool.name,
            description: tool.description,
            input_schema: tool.inputSchema as Anthropic.Tool.InputSchema,
          })),
          stream: true,
        },
        { signal: request.signal },
      );
      for await (const event of events) {
        switch (event.type) {
          case 'message_start':
            inputTokens = event.message.usage.input_tokens;
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              toolBlocks.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: '' });
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') {
              yield { type: 'text', delta: event.delta.text };
            } else if (event.delta.type === 'input_json_delta') {
              const block = toolBlocks.get(event.index);
              if (block) block.json += event.delta.partial_json;
            }
            break;
          case 'content_block_stop': {
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
          case 'message_delta':
            outputTokens = event.usage.output_tokens;
            if (typeof event.usage.input_tokens === 'number') inputTokens = event.usage.input_tokens;
            yield { type: 'usage', inputTokens, outputTokens };
            yield { type: 'done', stopReason: event.delta.stop_reason ?? 'end_turn' };
            break;
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
