/**
 * A loopback stand-in for Anthropic's Messages API that speaks its real wire format:
 * Server-Sent Events (`message_start`, `content_block_start` / `_delta` / `_stop` with
 * `text_delta` and `input_json_delta`, `message_delta` with usage, `message_stop`, `error`),
 * and HTTP errors such as 429 and 529 with their JSON bodies. Each request plays the next
 * step of a script. It lives in test/, never in the product.
 */
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
    system?: string;
    messages: { role: string; content: unknown }[];
    tools?: { name: string }[];
    stream?: boolean;
  };
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
  script(...steps: AnthropicStep[]): void;
  close(): Promise<void>;
}

let nextId = 1;

/** The SSE events of one assistant turn: text chunks, then optional tool calls. */
export function anthropicTurn(options: {
  text?: readonly string[];
  tools?: readonly { name: string; input?: unknown; rawJson?: string; chunks?: number }[];
  inputTokens?: number;
  outputTokens?: number;
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
          usage: { input_tokens: options.inputTokens ?? 100, output_tokens: 1 },
        },
      },
    },
  ];
  let index = 0;
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

export async function startAnthropicStandIn(): Promise<AnthropicStandIn> {
  const steps: AnthropicStep[] = [];
  const requests: RecordedRequest[] = [];
  const firstDeltaAt: number[] = [];
  const firstTextAt: number[] = [];
  const closedAt: number[] = [];

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method !== 'POST' || !request.url?.startsWith('/v1/messages')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
      return;
    }
    requests.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString()) as RecordedRequest['body'] });
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
    script: (...more) => steps.push(...more),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
