/**
 * A loopback stand-in for Ollama's /api/chat, speaking its real wire format: NDJSON, one
 * ChatResponse object a line, tool calls as whole objects in `message.tool_calls`, usage in
 * the final `done: true` line; errors as `{"error": "..."}` with an HTTP status.
 */
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

export async function startOllamaStandIn(): Promise<OllamaStandIn> {
  const steps: OllamaStep[] = [];
  const requests: OllamaStandIn['requests'] = [];
  const violations: string[] = [];

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
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
    script: (...more) => steps.push(...more),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
