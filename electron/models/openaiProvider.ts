/**
 * Any server that speaks OpenAI's Chat Completions, through the official `openai` SDK,
 * streamed: OpenAI itself (GPT), Azure OpenAI (its `/openai/v1` address), vLLM, LM Studio,
 * llama.cpp's server, LiteLLM, and Snowflake Cortex (a preset: the account's
 * `/api/v2/cortex/v1` address with a programmatic access token as the bearer).
 *
 * The key comes from the caller (the OS keychain), never from the environment: the SDK's
 * OPENAI_* variables are overridden so a stray one cannot redirect or authenticate a call.
 * The SDK retries 408/409/429/5xx with backoff and honours `retry-after`; what is left is
 * translated into plain words. Tool-call ids are minted here (`call_<uuid>`), so they are
 * unique in a conversation whatever the server numbers them.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { createLogger } from '../log';
import type { ModelMessage, ModelProvider, ModelRequest, ModelStreamEvent, ProviderId } from './modelProvider';
import { ModelError } from './modelProvider';
import { isLoopbackUrl } from './endpoints';

export { cortexBaseUrl, defaultOpenAiBaseUrl } from './endpoints';

const log = createLogger('openai-provider');

export interface OpenAiOptions {
  /** 'cortex' is the Snowflake preset: its words in errors, its token in the key's place. */
  readonly id: Extract<ProviderId, 'openai' | 'cortex'>;
  readonly apiKey: string | undefined;
  readonly baseURL: string;
  readonly model: string;
  readonly maxRetries?: number;
}

function serviceName(options: OpenAiOptions): string {
  if (options.id === 'cortex') return 'Snowflake Cortex';
  try {
    const url = new URL(options.baseURL);
    if (url.hostname === 'api.openai.com') return 'OpenAI';
    return `The model server at ${url.host}`;
  } catch {
    return 'The model server';
  }
}

/**
 * Sophia's messages in Chat Completions form. Tool results travel in a user turn here and
 * in Anthropic's API; Chat Completions wants one `tool` message per result right after the
 * assistant turn that called it, then any user text. Blocks this API has no place for
 * (Anthropic's thinking blocks) are left out.
 */
export function toChatMessages(system: string, messages: readonly ModelMessage[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [{ role: 'system', content: system }];
  for (const message of messages) {
    const text = message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
    if (message.role === 'assistant') {
      const toolCalls = message.content.flatMap((block) =>
        block.type === 'tool_use' ? [{ id: block.id, type: 'function' as const, function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } }] : [],
      );
      out.push({ role: 'assistant', content: text || null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
      continue;
    }
    for (const block of message.content) {
      if (block.type === 'tool_result') out.push({ role: 'tool', tool_call_id: block.toolUseId, content: block.isError ? `Error: ${block.content}` : block.content });
    }
    if (text) out.push({ role: 'user', content: text });
  }
  return out;
}

/** Chat Completions' finish reasons in the words the agent loop already knows (Anthropic's). */
function stopReason(finish: ChatCompletionChunk.Choice['finish_reason'] | undefined): string {
  switch (finish) {
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    case 'content_filter':
      return 'refusal';
    case 'stop':
    case null:
    case undefined:
      return 'end_turn';
    default:
      return String(finish);
  }
}

function translate(error: unknown, signal: AbortSignal, options: OpenAiOptions): ModelError {
  const name = serviceName(options);
  const local = options.id === 'openai' && isLoopbackUrl(options.baseURL);
  const credential = options.id === 'cortex' ? 'the Snowflake programmatic access token ("snowflake-cortex-token")' : 'the API key ("openai-api-key")';
  if (signal.aborted || error instanceof OpenAI.APIUserAbortError) return new ModelError('aborted', 'Stopped.');
  if (error instanceof OpenAI.AuthenticationError) {
    return new ModelError('bad-key', `${name} refused ${credential}. Set a valid one in Credentials & role.`);
  }
  if (error instanceof OpenAI.PermissionDeniedError) {
    return new ModelError(
      'bad-key',
      options.id === 'cortex'
        ? 'Snowflake Cortex refused this user: its default role needs the SNOWFLAKE.CORTEX_USER database role, and the model must be allowed in the account.'
        : `${name} says this key may not use model "${options.model}". Check the key or pick another model in Settings.`,
    );
  }
  if (error instanceof OpenAI.NotFoundError) {
    return new ModelError('model-missing', `${name} does not know model "${options.model}" (or the address ${options.baseURL} is not a Chat Completions API). Check both in Settings.`);
  }
  if (error instanceof OpenAI.RateLimitError) {
    const code = (error.error as { code?: unknown } | undefined)?.code ?? error.code;
    if (code === 'insufficient_quota') {
      return new ModelError('rate-limited', `${name} says this key has used up its quota. Check the plan and billing, or pick another provider in Settings.`);
    }
    return new ModelError('rate-limited', `${name} is rate-limiting this key, and retries did not get through. Wait a minute and send again.`);
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new ModelError(
      'unreachable',
      local
        ? `No model server answers at ${options.baseURL}. Start it (vLLM, LM Studio, llama.cpp's server, LiteLLM), or check the address in Settings.`
        : `${name} cannot be reached. Check the network, or switch to a local model in Settings.`,
    );
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    const body = error.error as { type?: unknown; message?: unknown } | undefined;
    const type = typeof body?.type === 'string' ? body.type : undefined;
    if (status === 400 || status === 422) {
      const detail = typeof body?.message === 'string' ? body.message : error.message;
      return new ModelError('bad-request', `${name} refused the request: ${detail.slice(0, 300)}`);
    }
    if (status === 503 || status === 529) return new ModelError('overloaded', `${name} is overloaded right now, and retries did not get through. Try again shortly.`);
    return new ModelError('server-error', `${name} failed (${status ?? 'mid-stream'}): ${(type ?? 'error').slice(0, 80)}. Try again.`);
  }
  log.warn('unreadable answer', { provider: options.id, error });
  return new ModelError('server-error', `The answer from ${name} could not be read. Try again.`);
}

export function createOpenAiProvider(options: OpenAiOptions): ModelProvider {
  const { model, baseURL } = options;
  // Cortex is a cloud service whatever address a test gives it.
  const local = options.id === 'openai' && isLoopbackUrl(baseURL);
  // Local servers (vLLM, LM Studio, llama.cpp) usually take no key; the SDK insists on one, so they get a placeholder.
  const apiKey = options.apiKey ?? (local ? 'sophia-local-no-key' : undefined);
  const client = apiKey
    ? new OpenAI({
        apiKey,
        baseURL,
        organization: null,
        project: null,
        adminAPIKey: null,
        maxRetries: options.maxRetries ?? 3,
        logLevel: 'warn',
        logger: { error: (message) => log.error(String(message)), warn: (message) => log.warn(String(message)), info: () => undefined, debug: () => undefined },
      })
    : undefined;

  async function* stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    if (!client) {
      throw new ModelError(
        'no-key',
        options.id === 'cortex'
          ? 'No Snowflake programmatic access token is set. Add "snowflake-cortex-token" in Credentials & role.'
          : `No API key is set for ${baseURL}. Add "openai-api-key" in Credentials & role, or pick a local model.`,
      );
    }
    // Tool calls arrive as fragments keyed by index; each is complete when the choice finishes.
    const calls = new Map<number, { name: string; json: string }>();
    let finish: ChatCompletionChunk.Choice['finish_reason'] | undefined;
    let usage: { inputTokens: number; outputTokens: number } | undefined;
    try {
      const tools: ChatCompletionTool[] = request.tools.map((tool) => ({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
      }));
      const chunks = await client.chat.completions.create(
        {
          model,
          messages: toChatMessages(request.system, request.messages),
          // An empty `tools` array is refused by the API; no tools means no field.
          ...(tools.length > 0 ? { tools } : {}),
          // `max_tokens` is refused by reasoning models; this is the field every current server reads.
          max_completion_tokens: request.maxTokens,
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: request.signal },
      );
      for await (const chunk of chunks) {
        if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) yield { type: 'text', delta: delta.content };
        if (delta?.refusal) yield { type: 'text', delta: delta.refusal };
        for (const part of delta?.tool_calls ?? []) {
          const call = calls.get(part.index) ?? { name: '', json: '' };
          // Some servers repeat the name in every fragment; the first one stands.
          if (!call.name && part.function?.name) call.name = part.function.name;
          if (part.function?.arguments) call.json += part.function.arguments;
          calls.set(part.index, call);
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      // The SDK ends the iteration quietly on abort; the caller must know it was cut short.
      if (request.signal.aborted) throw new ModelError('aborted', 'Stopped.');
      if (finish === undefined) throw new ModelError('server-error', `The answer from ${serviceName(options)} ended before it was finished. Try again.`);
    } catch (error) {
      if (error instanceof ModelError) throw error;
      throw translate(error, request.signal, options);
    }
    for (const [, call] of [...calls].sort(([a], [b]) => a - b)) {
      const id = `call_${randomUUID().replace(/-/g, '')}`;
      let input: unknown;
      try {
        input = call.json === '' ? {} : JSON.parse(call.json);
      } catch {
        yield { type: 'tool_call', id, name: call.name, input: undefined, error: 'The arguments were not valid JSON.' };
        continue;
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        yield { type: 'tool_call', id, name: call.name, input: undefined, error: 'The arguments were not a JSON object.' };
      } else {
        yield { type: 'tool_call', id, name: call.name, input };
      }
    }
    // A server that ignores stream_options sends no usage; nothing is made up for it.
    if (usage) yield { type: 'usage', ...usage };
    yield { type: 'done', stopReason: stopReason(finish) };
  }

  return { id: options.id, model, offline: local, stream };
}
