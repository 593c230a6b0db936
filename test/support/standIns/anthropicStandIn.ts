/**
 * A loopback stand-in for Anthropic's Messages API as it is today (Claude Sonnet 5.5, read
 * from platform.claude.com's "What's new in Claude Sonnet 5.5", its migration guide, the
 * streaming and extended-thinking pages): Server-Sent Events (`message_start`, `ping`,
 * `content_block_start` / `_delta` / `_stop` with `thinking_delta` + `signature_delta`,
 * `text_delta` and `input_json_delta`, `message_delta` with usage including cache tokens,
 * `message_stop`, `error`), HTTP errors such as 429 and 529 with their JSON bodies, and the
 * Models API (`GET /v1/models`, `GET /v1/models/{id}`) with capabilities.
 *
 * It refuses what the real API refuses, with its 400 `invalid_request_error` body: sampling
 * parameters, a forced `tool_choice`, `thinking: {type: 'disabled'}` or a thinking budget, an
 * assistant prefill, and an earlier tool-use turn sent back without its thinking block or with
 * a thinking block whose signature does not match what it returned. And it refuses what no
 * model could do: a scripted call to a tool the request did not offer (recorded in
 * `violations`, so a scenario that relies on it fails loudly). Each request plays the next
 * step of a script. It lives in test/, never in the product.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

export type AnthropicStep =
  | {
      readonly kind: 'stream';
      readonly events: readonly SseEvent[];
      readonly intervalMs?: number;
      /** When each event is due, in ms from the start of the response (benchmarks' pacing). */
      readonly atMs?: readonly number[];
      readonly holdOpen?: boolean;
    }
  | { readonly kind: 'status'; readonly status: number; readonly errorType: string; readonly headers?: Record<string, string> };

export interface RecordedRequest {
  readonly headers: IncomingMessage['headers'];
  readonly body: {
    model: string;
    system?: string | { type: string; text: string; cache_control?: unknown }[];
    messages: { role: string; content: unknown }[];
    tools?: { name: string; cache_control?: unknown }[];
    stream?: boolean;
    thinking?: { type: string; display?: string; budget_tokens?: number };
    output_config?: { effort?: string };
    tool_choice?: { type: string };
    temperature?: number;
    top_p?: number;
    top_k?: number;
  };
}

/** A model the Models API lists, with what it accepts. */
export interface StandInModel {
  readonly id: string;
  readonly displayName: string;
  readonly adaptiveThinking?: boolean;
}

export const defaultStandInModels: readonly StandInModel[] = [
  { id: 'claude-sonnet-5-5', displayName: 'Claude Sonnet 5.5', adaptiveThinking: true },
  { id: 'claude-opus-5-5', displayName: 'Claude Opus 5.5', adaptiveThinking: true },
  { id: 'claude-haiku-4-5-20251001', displayName: 'Claude Haiku 4.5', adaptiveThinking: false },
];

/** The text of the system prompt, whether sent as a string or as text blocks. */
export function systemText(body: RecordedRequest['body']): string {
  const system = body.system;
  if (system === undefined) return '';
  return typeof system === 'string' ? system : system.map((block) => block.text).join('\n');
}

export interface AnthropicStandIn {
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /** performance.now() when each stream wrote its first content delta. */
  readonly firstDeltaAt: number[];
  /** performance.now() when each stream wrote its first `text_delta` (after any thinking). */
  readonly firstTextAt: number[];
  /** performance.now() when each streaming connection closed. */
  readonly closedAt: number[];
  /** Requests refused because the script called a tool the request did not offer. */
  readonly violations: string[];
  /** Requests the stand-in refused with a 400, with the reason. */
  readonly refusals: string[];
  /** Models API requests (paths). */
  readonly modelRequests: string[];
  script(...steps: AnthropicStep[]): void;
  close(): Promise<void>;
}

let nextId = 1;

/** Signs thinking text as the API does (opaquely); the stand-in checks it when it comes back. */
const signingKey = randomBytes(32);
export function thinkingSignature(thinking: string): string {
  return createHmac('sha256', signingKey).update(thinking).digest('base64');
}

/** The SSE events of one assistant turn: text chunks, then optional tool calls. */
export function anthropicTurn(options: {
  /**
   * The model's visible thinking (progress notes), as thinking_delta chunks, signed. By
   * default every turn opens with a short thinking block, as adaptive thinking does; `false`
   * leaves it out, `'redacted'` sends a redacted_thinking block.
   */
  thinking?: readonly string[] | false | 'redacted';
  text?: readonly string[];
  tools?: readonly { name: string; input?: unknown; rawJson?: string; chunks?: number }[];
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  stopReason?: string;
}): SseEvent[] {
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: `msg_${nextId++}`,
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-5-5',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: options.inputTokens ?? 100,
            output_tokens: 1,
            cache_read_input_tokens: options.cacheReadTokens ?? 0,
            cache_creation_input_tokens: options.cacheWriteTokens ?? 0,
          },
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  let index = 0;
  const thinking = options.thinking ?? ['Working out the next step.'];
  if (thinking === 'redacted') {
    events.push({
      event: 'content_block_start',
      data: { type: 'content_block_start', index, content_block: { type: 'redacted_thinking', data: `redacted:${thinkingSignature('redacted')}` } },
    });
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index += 1;
  } else if (thinking !== false) {
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } } });
    for (const chunk of thinking) {
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: chunk } } });
    }
    const signature = thinkingSignature(thinking.join(''));
    events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: signature.slice(0, 20) } } });
    events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: signature.slice(20) } } });
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index += 1;
  }
  if (options.text && options.text.length > 0) {
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
    for (const chunk of options.text) {
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: chunk } } });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index += 1;
  }
  for (const tool of options.tools ?? []) {
    const id = `toolu_${nextId++}`;
    events.push({
      event: 'content_block_start',
      data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id, name: tool.name, input: {} } },
    });
    const json = tool.rawJson ?? JSON.stringify(tool.input ?? {});
    const parts = Math.max(1, tool.chunks ?? 3);
    const size = Math.ceil(json.length / parts);
    for (let offset = 0; offset < json.length; offset += size) {
      events.push({
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(offset, offset + size) } },
      });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index += 1;
  }
  const stopReason = options.stopReason ?? (options.tools && options.tools.length > 0 ? 'tool_use' : 'end_turn');
  events.push({
    event: 'message_delta',
    data: { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: options.outputTokens ?? 50 } },
  });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return events;
}

export function sseError(errorType: string, message: string): SseEvent {
  return { event: 'error', data: { type: 'error', error: { type: errorType, message } } };
}

type Block = { type?: string; thinking?: string; signature?: string; data?: string; name?: string };

/** Why the real API would refuse this request with a 400, or undefined when it would not. */
export function refusalOf(body: RecordedRequest['body'], afterPause: boolean): string | undefined {
  for (const key of ['temperature', 'top_p', 'top_k'] as const) {
    if (body[key] !== undefined) return `${key}: sampling parameters are not supported on ${body.model}; remove ${key}.`;
  }
  if (body.tool_choice && (body.tool_choice.type === 'any' || body.tool_choice.type === 'tool')) {
    return `tool_choice: forced tool use is not supported on ${body.model}; use tool_choice {"type": "auto"} or leave it out.`;
  }
  if (body.thinking?.type === 'disabled') return `thinking.type: "disabled" is not supported on ${body.model}; use {"type": "between_tools"} to turn off up-front thinking.`;
  if (body.thinking?.type === 'enabled' || body.thinking?.budget_tokens !== undefined) {
    return `thinking.type: "enabled" with budget_tokens is not supported on ${body.model}; use {"type": "adaptive"} and output_config.effort.`;
  }
  const last = body.messages.at(-1);
  if (last?.role === 'assistant' && !afterPause) return `messages: the final message must be a user message; assistant message prefill is not supported on ${body.model}.`;
  for (const [i, message] of body.messages.entries()) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue;
    const blocks = message.content as Block[];
    if (blocks.some((block) => block.type === 'tool_use')) {
      const first = blocks[0];
      if (first?.type !== 'thinking' && first?.type !== 'redacted_thinking') {
        return `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first?.type ?? 'nothing'}\`. When \`thinking\` is enabled, an assistant message with tool use must start with the thinking block it was returned with; pass thinking blocks back unchanged.`;
      }
    }
    for (const [j, block] of blocks.entries()) {
      if (block.type === 'thinking' && (typeof block.signature !== 'string' || block.signature !== thinkingSignature(block.thinking ?? ''))) {
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
      if (block.type === 'redacted_thinking' && block.data !== `redacted:${thinkingSignature('redacted')}`) {
        return `messages.${i}.content.${j}: Invalid \`data\` in \`redacted_thinking\` block`;
      }
    }
  }
  return undefined;
}

function toolCallsOf(step: AnthropicStep): string[] {
  if (step.kind !== 'stream') return [];
  return step.events.flatMap((event) => {
    const block = (event.data as { content_block?: Block }).content_block;
    return event.event === 'content_block_start' && block?.type === 'tool_use' && typeof block.name === 'string' ? [block.name] : [];
  });
}

export async function startAnthropicStandIn(options: { models?: readonly StandInModel[] } = {}): Promise<AnthropicStandIn> {
  const steps: AnthropicStep[] = [];
  const requests: RecordedRequest[] = [];
  const firstDeltaAt: number[] = [];
  const firstTextAt: number[] = [];
  const closedAt: number[] = [];
  const violations: string[] = [];
  const refusals: string[] = [];
  const modelRequests: string[] = [];
  const models = options.models ?? defaultStandInModels;
  let lastStopReason: string | undefined;

  const invalid = (response: ServerResponse, message: string): void => {
    response
      .writeHead(400, { 'content-type': 'application/json', 'request-id': `req_${nextId}` })
      .end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message }, request_id: `req_${nextId++}` }));
  };

  const modelInfo = (model: StandInModel): Record<string, unknown> => {
    const yes = { supported: true };
    const no = { supported: false };
    const thinks = model.adaptiveThinking === true;
    return {
      type: 'model',
      id: model.id,
      display_name: model.displayName,
      created_at: '2026-09-28T00:00:00Z',
      max_input_tokens: 1_000_000,
      max_tokens: 128_000,
      capabilities: {
        thinking: { supported: thinks, types: { adaptive: thinks ? yes : no, between_tools: thinks ? yes : no, disabled: thinks ? no : yes, enabled: no } },
        effort: thinks ? { supported: true, low: yes, medium: yes, high: yes, xhigh: yes, max: yes } : { supported: false, low: no, medium: no, high: no, xhigh: null, max: no },
      },
    };
  };

  function handleModels(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    modelRequests.push(url.pathname);
    if (!request.headers['x-api-key'] && !request.headers['authorization']) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } }));
      return;
    }
    const id = decodeURIComponent(url.pathname.slice('/v1/models'.length).replace(/^\//, ''));
    if (id) {
      const found = models.find((model) => model.id === id);
      if (!found) {
        response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `model: ${id}` } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(modelInfo(found)));
      return;
    }
    // Pages as the real API does: limit, after_id, has_more, first_id, last_id.
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
    const after = url.searchParams.get('after_id');
    const from = after ? models.findIndex((model) => model.id === after) + 1 : 0;
    const page = models.slice(from, from + limit);
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ data: page.map(modelInfo), has_more: from + limit < models.length, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null }),
    );
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method === 'GET' && request.url?.startsWith('/v1/models')) {
      handleModels(request, response);
      return;
    }
    if (request.method !== 'POST' || !request.url?.startsWith('/v1/messages')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString()) as RecordedRequest['body'];
    requests.push({ headers: request.headers, body });
    const refusal = refusalOf(body, lastStopReason === 'pause_turn');
    if (refusal) {
      refusals.push(refusal);
      invalid(response, refusal);
      return;
    }
    const offered = new Set((body.tools ?? []).map((tool) => tool.name));
    const next = steps[0];
    const unoffered = next ? toolCallsOf(next).filter((name) => !offered.has(name)) : [];
    if (next && unoffered.length > 0) {
      steps.shift();
      const message = `stand-in: the script calls ${unoffered.join(', ')}, which this request did not offer (offered: ${[...offered].join(', ') || 'none'})`;
      violations.push(message);
      invalid(response, message);
      return;
    }
    const step = steps.shift();
    if (!step) {
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'stand-in script is empty' } }));
      return;
    }
    if (step.kind === 'status') {
      response
        .writeHead(step.status, { 'content-type': 'application/json', 'request-id': `req_${nextId++}`, ...step.headers })
        .end(JSON.stringify({ type: 'error', error: { type: step.errorType, message: `${step.errorType} from stand-in` } }));
      return;
    }
    const delta = step.events.find((event) => event.event === 'message_delta')?.data as { delta?: { stop_reason?: string } } | undefined;
    lastStopReason = delta?.delta?.stop_reason;
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${nextId++}` });
    response.flushHeaders();
    let closed = false;
    response.on('close', () => {
      closed = true;
      closedAt.push(performance.now());
    });
    let sawDelta = false;
    let sawText = false;
    const startedAt = performance.now();
    for (const [index, event] of step.events.entries()) {
      if (closed) return;
      const due = step.atMs?.[index];
      if (due !== undefined) {
        const wait = startedAt + due - performance.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      if (!sawDelta && event.event === 'content_block_delta') {
        sawDelta = true;
        firstDeltaAt.push(performance.now());
      }
      if (!sawText && (event.data['delta'] as { type?: string } | undefined)?.type === 'text_delta') {
        sawText = true;
        firstTextAt.push(performance.now());
      }
      response.write(`event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
      if (step.intervalMs) await new Promise((resolve) => setTimeout(resolve, step.intervalMs));
    }
    if (step.holdOpen) return; // ends only when the client goes away
    response.end();
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    firstDeltaAt,
    firstTextAt,
    closedAt,
    violations,
    refusals,
    modelRequests,
    script: (...more) => steps.push(...more),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
