/**
 * A loopback stand-in for Ollama's /api/chat, speaking its real wire format: NDJSON, one
 * ChatResponse object a line, tool calls as whole objects in `message.tool_calls`, usage in
 * the final `done: true` line; errors as `{"error": "..."}` with an HTTP status.
 * GET /api/tags lists the local models as Ollama's API reference gives it (docs.ollama.com/api/tags,
 * read 2026-12-02): `{ models: [{ name, model, modified_at, size, digest, details: { parent_model,
 * format, family, families, parameter_size, quantization_level } }] }`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OllamaStep =
  | { readonly kind: 'stream'; readonly lines: readonly Record<string, unknown>[]; readonly intervalMs?: number }
  | { readonly kind: 'error'; readonly status: number; readonly error: string };

export interface OllamaStandIn {
  readonly host: string;
  readonly requests: { model: string; messages: { role: string; content: string; tool_name?: string }[]; tools?: { function?: { name?: string } }[] }[];
  /** Requests refused because the script called a tool the request did not offer. */
  readonly violations: string[];
  /** The models /api/tags lists (the server's pulled models); change it to pull or remove one. */
  readonly models: string[];
  /** How many times /api/tags was asked. */
  readonly tagRequests: () => number;
  script(...steps: OllamaStep[]): void;
  close(): Promise<void>;
}

export function ollamaTurn(options: {
  model?: string;
  text?: readonly string[];
  toolCalls?: readonly { name: string; arguments: unknown }[];
  promptTokens?: number;
  evalTokens?: number;
}): Record<string, unknown>[] {
  const model = options.model ?? 'qwen3:8b';
  const base = (message: Record<string, unknown>, done: boolean): Record<string, unknown> => ({
    model,
    created_at: new Date(0).toISOString(),
    message: { role: 'assistant', content: '', ...message },
    done,
  });
  const lines = (options.text ?? []).map((text) => base({ content: text }, false));
  if (options.toolCalls && options.toolCalls.length > 0) {
    lines.push(base({ tool_calls: options.toolCalls.map((call) => ({ function: { name: call.name, arguments: call.arguments } })) }, false));
  }
  lines.push({
    ...base({}, true),
    done_reason: 'stop',
    total_duration: 1,
    load_duration: 1,
    prompt_eval_count: options.promptTokens ?? 40,
    prompt_eval_duration: 1,
    eval_count: options.evalTokens ?? 20,
    eval_duration: 1,
  });
  return lines;
}

/** One entry of /api/tags, in the shape Ollama sends: a stable digest and size per name. */
function tagEntry(name: string): Record<string, unknown> {
  const digest = createHash('sha256').update(name).digest('hex');
  const [family = name] = name.split(/[:.\d]/);
  const parameterSize = /:(\d+(?:\.\d+)?)b\b/i.exec(name)?.[1];
  return {
    name,
    model: name,
    modified_at: '2026-11-30T09:12:44.409490317+01:00',
    size: 1_000_000_000 + (Number.parseInt(digest.slice(0, 6), 16) % 4_000_000_000),
    digest,
    details: { parent_model: '', format: 'gguf', family, families: [family], parameter_size: parameterSize ? `${parameterSize}B` : '7.6B', quantization_level: 'Q4_K_M' },
  };
}

export async function startOllamaStandIn(options: { models?: readonly string[] } = {}): Promise<OllamaStandIn> {
  const steps: OllamaStep[] = [];
  const requests: OllamaStandIn['requests'] = [];
  const violations: string[] = [];
  const models = [...(options.models ?? ['qwen3:8b'])];
  let tagRequests = 0;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.url === '/api/tags') {
      if (request.method !== 'GET') {
        response.writeHead(405, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'method not allowed' }));
        return;
      }
      tagRequests++;
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ models: models.map(tagEntry) }));
      return;
    }
    if (request.url !== '/api/chat' || request.method !== 'POST') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString()) as OllamaStandIn['requests'][number];
    requests.push(body);
    const step = steps.shift() ?? { kind: 'error', status: 500, error: 'stand-in script is empty' };
    // A scripted model may call only the tools offered to it in this request.
    const offered = new Set((body.tools ?? []).map((tool) => tool.function?.name));
    const called = step.kind === 'stream' ? step.lines.flatMap((line) => ((line['message'] as { tool_calls?: { function: { name: string } }[] } | undefined)?.tool_calls ?? []).map((call) => call.function.name)) : [];
    const unoffered = called.filter((name) => !offered.has(name));
    if (unoffered.length > 0) {
      const message = `stand-in: the script calls ${unoffered.join(', ')}, which this request did not offer`;
      violations.push(message);
      response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
      return;
    }
    if (step.kind === 'error') {
      response.writeHead(step.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: step.error }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const line of step.lines) {
      if (response.destroyed) return;
      response.write(`${JSON.stringify(line)}\n`);
      if (step.intervalMs) await new Promise((resolve) => setTimeout(resolve, step.intervalMs));
    }
    response.end();
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => response.destroy(error instanceof Error ? error : new Error(String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `http://127.0.0.1:${port}`,
    requests,
    violations,
    models,
    tagRequests: () => tagRequests,
    script: (...more) => steps.push(...more),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
