/**
 * A local model through the `ollama` client's streaming /api/chat, with tool calls. This
 * is offline mode: the only connection it makes is to the Ollama server, which must be on
 * this machine (a loopback address); any other host is refused up front.
 */
import { randomUUID } from 'node:crypto';
import { Ollama, type AbortableAsyncIterator, type ChatResponse, type Message } from 'ollama';
import type { ModelMessage, ModelProvider, ModelRequest, ModelStreamEvent } from './modelProvider';
import { ModelError } from './modelProvider';
import { isLoopbackUrl } from './endpoints';

export { defaultOllamaHost, isLoopbackUrl, ollamaHostFromEnv } from './endpoints';

export interface OllamaOptions {
  readonly host: string;
  readonly model: string;
}

function toOllamaMessages(system: string, messages: readonly ModelMessage[]): Message[] {
  const out: Message[] = [{ role: 'system', content: system }];
  for (const message of messages) {
    const text = message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
    const toolCalls = message.content.flatMap((block) =>
      block.type === 'tool_use' ? [{ function: { name: block.name, arguments: (block.input ?? {}) as Record<string, unknown> } }] : [],
    );
    if (text || toolCalls.length > 0 || message.role === 'assistant') {
      out.push({ role: message.role, content: text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
    }
    for (const block of message.content) {
      if (block.type === 'tool_result') out.push({ role: 'tool', content: block.content, tool_name: block.toolName });
    }
  }
  return out;
}

export function createOllamaProvider(options: OllamaOptions): ModelProvider {
  const { host, model } = options;
  const offlineHost = isLoopbackUrl(host);
  const client = new Ollama({ host });

  async function* stream(request: ModelRequest): AsyncIterable<ModelStreamEvent> {
    if (!offlineHost) {
      throw new ModelError('unreachable', `Offline mode talks only to an Ollama server on this machine; ${host} is not. Set the Ollama address to http://127.0.0.1:11434 in Settings.`);
    }
    let iterator: AbortableAsyncIterator<ChatResponse> | undefined;
    const abort = (): void => iterator?.abort();
    request.signal.addEventListener('abort', abort, { once: true });
    try {
      const started = await client.chat({
        model,
        stream: true,
        messages: toOllamaMessages(request.system, request.messages),
        tools: request.tools.map((tool) => ({
          type: 'function',
          function: { name: tool.name, description: tool.description, parameters: tool.inputSchema as never },
        })),
        options: { num_predict: request.maxTokens },
      });
      iterator = started;
      if (request.signal.aborted) started.abort();
      for await (const chunk of started) {
        if (chunk.message?.content) yield { type: 'text', delta: chunk.message.content };
        for (const call of chunk.message?.tool_calls ?? []) {
          // Ollama gives calls no id; a counter would start again at 1 on the next model call.
          const id = `ollama_${randomUUID()}`;
          const args: unknown = call.function.arguments;
          const valid = typeof args === 'object' && args !== null && !Array.isArray(args);
          yield valid
            ? { type: 'tool_call', id, name: call.function.name, input: args }
            : { type: 'tool_call', id, name: call.function.name, input: undefined, error: 'The arguments were not a JSON object.' };
        }
        if (chunk.done) {
          yield { type: 'usage', inputTokens: chunk.prompt_eval_count ?? 0, outputTokens: chunk.eval_count ?? 0 };
          yield { type: 'done', stopReason: chunk.done_reason || 'stop' };
        }
      }
    } catch (error) {
      if (request.signal.aborted || (error instanceof Error && error.name === 'AbortError')) throw new ModelError('aborted', 'Stopped.');
      const message = error instanceof Error ? error.message : String(error);
      if (/model .*not found|not found.*model/i.test(message)) {
        throw new ModelError('model-missing', `Ollama has no model "${model}". Run \`ollama pull ${model}\`, or pick an installed model in Settings.`);
      }
      if (/fetch failed|ECONNREFUSED|connect/i.test(message) || (error instanceof TypeError)) {
        throw new ModelError('unreachable', `No Ollama server answers at ${host}. Start it with \`ollama serve\`, or check the address in Settings.`);
      }
      throw new ModelError('server-error', `Ollama failed: ${message.slice(0, 200)}`);
    } finally {
      request.signal.removeEventListener('abort', abort);
    }
  }

  return { id: 'ollama', model, offline: true, stream };
}
