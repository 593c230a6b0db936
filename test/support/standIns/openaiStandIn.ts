/**
 * A loopback stand-in for OpenAI's Chat Completions API (and the servers that copy it:
 * Azure OpenAI's v1 API, vLLM, LM Studio, llama.cpp, LiteLLM, Snowflake Cortex's
 * `/api/v2/cortex/v1`). It speaks today's wire format: `chat.completion.chunk` events over
 * SSE with `delta.tool_calls` fragments keyed by index, `usage: null` on every chunk and a
 * final usage chunk with empty `choices` when `stream_options.include_usage` is set, then
 * `data: [DONE]`; errors as `{"error": {message, type, param, code}}` with the HTTP status.
 *
 * It refuses what the API refuses (a wrong or missing bearer, an unknown model, `max_tokens`
 * on a reasoning model, an empty `tools` array, a tool message that answers no call, a
 * call left unanswered), and it refuses to play a scripted tool call to a tool the request
 * did not offer: a real model can only call what it was given. It lives in test/, never in
 * the product.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OpenAiErrorBody {
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
}

export interface OpenAiTurn {
  readonly text?: readonly string[];
  readonly tools?: readonly { name: string; input?: unknown; rawJson?: string; chunks?: number }[];
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
}

export type OpenAiStep =
  | ({
      readonly kind: 'turn';
      readonly intervalMs?: number;
      /** When each chunk is due, in ms from the start of the response (benchmarks' pacing). */
      readonly atMs?: readonly number[];
      readonly holdOpen?: boolean;
      /** Writes an `{"error": ...}` event after this many chunks and ends the stream. */
      readonly errorAfter?: { readonly chunks: number; readonly error: OpenAiErrorBody };
    } & OpenAiTurn)
  | { readonly kind: 'status'; readonly status: number; readonly error: OpenAiErrorBody; readonly headers?: Record<string, string> }
  /** A turn decided from the request itself (a scripted model that reads what it was sent). */
  | { readonly kind: 'reply'; readonly respond: (body: OpenAiRequestBody) => OpenAiTurn };

export interface OpenAiRequestBody {
  model: string;
  messages: { role: string; content?: unknown; tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[]; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  [key: string]: unknown;
}

export interface OpenAiRecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: OpenAiRequestBody;
}

export interface OpenAiStandInOptions {
  /** The bearer every request must carry; unset, any or none is taken (a local server). */
  readonly apiKey?: string;
  /** The API's root path: `/v1` for OpenAI and most servers, `/api/v2/cortex/v1` for Cortex. */
  readonly basePath?: string;
  /** Models the server knows; unset, any name is taken. */
  readonly models?: readonly string[];
}

export interface OpenAiStandIn {
  readonly baseURL: string;
  readonly requests: OpenAiRecordedRequest[];
  /** Why each refused request was refused, in order. */
  readonly refusals: OpenAiErrorBody[];
  /** performance.now() when each stream wrote its first content delta. */
  readonly firstDeltaAt: number[];
  script(...steps: OpenAiStep[]): void;
  /** Steps not yet played. */
  pending(): number;
  close(): Promise<void>;
}

const error = (message: string, type: string, param: string | null = null, code: string | null = null): OpenAiErrorBody => ({ message, type, param, code });

/** OpenAI's own error bodies, for scripting failures. */
export const openAiErrors = {
  rateLimited: (model: string): OpenAiErrorBody =>
    error(
      `Rate limit reached for ${model} in organization org-standin on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      'requests',
      null,
      'rate_limit_exceeded',
    ),
  insufficientQuota: (): OpenAiErrorBody =>
    error('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', null, 'insufficient_quota'),
  server: (): OpenAiErrorBody => error('The server had an error while processing your request. Sorry about that!', 'server_error'),
  overloaded: (): OpenAiErrorBody => error('That model is currently overloaded with other requests. You can retry your request.', 'server_error'),
};

function mask(key: string): string {
  return key.length <= 8 ? '***' : `${key.slice(0, 3)}***${key.slice(-4)}`;
}

/** The first refusal the real API would give this request, or undefined. */
function validate(body: OpenAiRequestBody, models: readonly string[] | undefined): { status: number; error: OpenAiErrorBody } | undefined {
  if (typeof body.model !== 'string' || body.model === '') return { status: 400, error: error("you must provide a model parameter", 'invalid_request_error') };
  if (models && !models.includes(body.model)) {
    return { status: 404, error: error(`The model \`${body.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', null, 'model_not_found') };
  }
  if (body.max_tokens !== undefined) {
    return {
      status: 400,
      error: error("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", 'invalid_request_error', 'max_tokens', 'unsupported_parameter'),
    };
  }
  if (body.stream_options !== undefined && body.stream !== true) {
    return { status: 400, error: error("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'invalid_request_error', 'stream_options') };
  }
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools) || body.tools.length === 0) {
      return { status: 400, error: error("Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'invalid_request_error', 'tools', 'empty_array') };
    }
    for (const [index, tool] of body.tools.entries()) {
      if (tool.type !== 'function' || !/^[a-zA-Z0-9_-]{1,64}$/.test(tool.function?.name ?? '')) {
        return { status: 400, error: error(`Invalid 'tools[${index}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, 'invalid_request_error', `tools[${index}].function.name`, 'invalid_value') };
      }
    }
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return { status: 400, error: error("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'invalid_request_error', 'messages', 'empty_array') };
  }
  let open = new Set<string>();
  let openAt = -1;
  for (const [index, message] of body.messages.entries()) {
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(message.role)) {
      return { status: 400, error: error(`Invalid value: '${message.role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`, 'invalid_request_error', `messages[${index}].role`, 'invalid_value') };
    }
    if (message.role === 'tool') {
      if (!message.tool_call_id || !open.has(message.tool_call_id)) {
        return { status: 400, error: error("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", 'invalid_request_error', `messages.[${index}].role`) };
      }
      open.delete(message.tool_call_id);
      continue;
    }
    if (open.size > 0) break;
    if (message.role === 'assistant' && message.tool_calls && message.tool_calls.length > 0) {
      open = new Set(message.tool_calls.map((call) => call.id));
      openAt = index;
    }
  }
  if (open.size > 0) {
    return {
      status: 400,
      error: error(
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open].join(', ')}`,
        'invalid_request_error',
        `messages.[${openAt}].role`,
      ),
    };
  }
  return undefined;
}

let nextId = 1;
const chunkId = (): string => `chatcmpl-${randomBytes(12).toString('base64url')}`;

/** The chunks of one streamed answer, as the API sends them for this request. */
function turnChunks(turn: OpenAiTurn, body: OpenAiRequestBody): Record<string, unknown>[] {
  const id = chunkId();
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: body.model,
    service_tier: 'default',
    system_fingerprint: 'fp_standin',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
    obfuscation: randomBytes(3).toString('hex'),
  });
  const chunks = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const text of turn.text ?? []) chunks.push(chunk({ content: text }));
  for (const [index, tool] of (turn.tools ?? []).entries()) {
    chunks.push(chunk({ tool_calls: [{ index, id: `call_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`, type: 'function', function: { name: tool.name, arguments: '' } }] }));
    const json = tool.rawJson ?? JSON.stringify(tool.input ?? {});
    const size = Math.ceil(json.length / Math.max(1, tool.chunks ?? 3));
    for (let offset = 0; offset < json.length; offset += size) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: json.slice(offset, offset + size) } }] }));
    }
  }
  chunks.push(chunk({}, turn.finishReason ?? (turn.tools && turn.tools.length > 0 ? 'tool_calls' : 'stop')));
  if (includeUsage) {
    const prompt = turn.promptTokens ?? 100;
    const completion = turn.completionTokens ?? 50;
    chunks.push({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      service_tier: 'default',
      system_fingerprint: 'fp_standin',
      choices: [],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      obfuscation: randomBytes(3).toString('hex'),
    });
  }
  return chunks;
}

export async function startOpenAiStandIn(options: OpenAiStandInOptions = {}): Promise<OpenAiStandIn> {
  const basePath = options.basePath ?? '/v1';
  const steps: OpenAiStep[] = [];
  const requests: OpenAiRecordedRequest[] = [];
  const refusals: OpenAiErrorBody[] = [];
  const firstDeltaAt: number[] = [];

  const refuse = (response: ServerResponse, status: number, body: OpenAiErrorBody, headers: Record<string, string> = {}): void => {
    refusals.push(body);
    response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${nextId++}`, ...headers }).end(JSON.stringify({ error: body }));
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method !== 'POST' || path !== `${basePath}/chat/completions`) {
      refuse(response, 404, error(`Invalid URL (${request.method ?? 'GET'} ${path})`, 'invalid_request_error'));
      return;
    }
    if (options.apiKey !== undefined) {
      const auth = request.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ')) {
        refuse(response, 401, error("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'invalid_request_error'));
        return;
      }
      if (auth.slice('Bearer '.length) !== options.apiKey) {
        refuse(response, 401, error(`Incorrect API key provided: ${mask(auth.slice('Bearer '.length))}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', null, 'invalid_api_key'));
        return;
      }
    }
    let body: OpenAiRequestBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString()) as OpenAiRequestBody;
    } catch {
      refuse(response, 400, error("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", 'invalid_request_error'));
      return;
    }
    requests.push({ path, headers: request.headers, body });
    const invalid = validate(body, options.models);
    if (invalid) {
      refuse(response, invalid.status, invalid.error);
      return;
    }
    const next = steps.shift();
    const step: OpenAiStep | undefined = next?.kind === 'reply' ? { kind: 'turn', ...next.respond(body) } : next;
    if (!step) {
      refuse(response, 500, error('stand-in script is empty', 'server_error'));
      return;
    }
    if (step.kind === 'status') {
      refuse(response, step.status, step.error, step.headers);
      return;
    }
    const offered = new Set((body.tools ?? []).map((tool) => tool.function.name));
    const unoffered = (step.tools ?? []).find((tool) => !offered.has(tool.name));
    if (unoffered) {
      refuse(response, 400, error(`The scripted model called '${unoffered.name}', which this request did not offer (offered: ${[...offered].join(', ') || 'none'}).`, 'invalid_request_error', 'tools', 'tool_not_offered'));
      return;
    }
    const events = turnChunks(step, body);
    if (body.stream !== true) {
      // A non-streamed answer: the same turn as one chat.completion object.
      const text = (step.text ?? []).join('');
      const calls = (step.tools ?? []).map((tool, index) => ({ id: `call_s${index}${nextId++}`, type: 'function', function: { name: tool.name, arguments: tool.rawJson ?? JSON.stringify(tool.input ?? {}) } }));
      const prompt = step.promptTokens ?? 100;
      const completion = step.completionTokens ?? 50;
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_${nextId++}` }).end(
        JSON.stringify({
          id: chunkId(),
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text || null, refusal: null, annotations: [], ...(calls.length > 0 ? { tool_calls: calls } : {}) }, logprobs: null, finish_reason: step.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop') }],
          usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
          service_tier: 'default',
          system_fingerprint: 'fp_standin',
        }),
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_${nextId++}` });
    response.flushHeaders();
    const startedAt = performance.now();
    let sawDelta = false;
    for (const [index, event] of events.entries()) {
      if (response.destroyed) return;
      if (step.errorAfter && index === step.errorAfter.chunks) {
        response.end(`data: ${JSON.stringify({ error: step.errorAfter.error })}\n\n`);
        return;
      }
      const due = step.atMs?.[index];
      if (due !== undefined) {
        const wait = startedAt + due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const delta = (event['choices'] as { delta?: { content?: string } }[])[0]?.delta;
      if (!sawDelta && delta?.content) {
        sawDelta = true;
        firstDeltaAt.push(performance.now());
      }
      response.write(`data: ${JSON.stringify(event)}\n\n`);
      if (step.intervalMs) await new Promise((resolve) => setTimeout(resolve, step.intervalMs));
    }
    if (step.holdOpen) return; // ends only when the client goes away
    response.end('data: [DONE]\n\n');
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((failure: unknown) => response.destroy(failure instanceof Error ? failure : new Error(String(failure))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}${basePath}`,
    requests,
    refusals,
    firstDeltaAt,
    script: (...more) => steps.push(...more),
    pending: () => steps.length,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
