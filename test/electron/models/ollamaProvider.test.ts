/** The real `ollama` client against a loopback stand-in speaking Ollama's NDJSON. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOllamaProvider, isLoopbackUrl } from '../../../electron/models/ollamaProvider';
import type { ModelRequest, ModelStreamEvent } from '../../../electron/models/modelProvider';
import { closedPort } from '../../support/closedPort';
import { ollamaTurn, startOllamaStandIn, type OllamaStandIn } from '../../support/standIns/ollamaStandIn';

let standIn: OllamaStandIn;
beforeAll(async () => {
  standIn = await startOllamaStandIn();
});
afterAll(async () => {
  await standIn.close();
});

const request = (signal = new AbortController().signal): ModelRequest => ({
  system: 'You are Sophia.',
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'read it' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'read_file', input: { path: 'a' } }] },
    { role: 'user', content: [{ type: 'tool_result', toolUseId: 't1', toolName: 'read_file', content: 'CREATE TABLE a', isError: false }] },
  ],
  tools: [{ name: 'read_file', description: 'Read a file', inputSchema: { type: 'object' } }],
  maxTokens: 512,
  signal,
});

async function collect(stream: AsyncIterable<ModelStreamEvent>): Promise<ModelStreamEvent[]> {
  const events: ModelStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('Ollama provider (offline mode)', () => {
  const provider = () => createOllamaProvider({ host: standIn.host, model: 'qwen3:8b' });

  it('streams text and tool calls from NDJSON, with usage', async () => {
    standIn.script({ kind: 'stream', lines: ollamaTurn({ text: ['Let me ', 'look.'], toolCalls: [{ name: 'read_file', arguments: { path: 'b.sql' } }], promptTokens: 33, evalTokens: 7 }) });
    const events = await collect(provider().stream(request()));
    expect(events).toEqual([
      { type: 'text', delta: 'Let me ' },
      { type: 'text', delta: 'look.' },
      { type: 'tool_call', id: expect.stringMatching(/^ollama_[0-9a-f-]{36}$/), name: 'read_file', input: { path: 'b.sql' } },
      { type: 'usage', inputTokens: 33, outputTokens: 7 },
      { type: 'done', stopReason: 'stop' },
    ]);
    const sent = standIn.requests.at(-1);
    expect(sent?.model).toBe('qwen3:8b');
    expect(sent?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(sent?.messages.at(-1)).toMatchObject({ role: 'tool', content: 'CREATE TABLE a', tool_name: 'read_file' });
    expect(provider().offline).toBe(true);
  });

  it('reports a malformed tool call', async () => {
    standIn.script({ kind: 'stream', lines: ollamaTurn({ toolCalls: [{ name: 'read_file', arguments: 'not an object' }] }) });
    const events = await collect(provider().stream(request()));
    expect(events.find((e) => e.type === 'tool_call')).toMatchObject({ input: undefined, error: expect.any(String) });
  });

  it('says how to fix a missing model and an absent server', async () => {
    standIn.script({ kind: 'error', status: 404, error: 'model "qwen3:8b" not found, try pulling it first' });
    await expect(collect(provider().stream(request()))).rejects.toMatchObject({ failure: 'model-missing', message: expect.stringContaining('ollama pull') });
    const absent = createOllamaProvider({ host: `http://127.0.0.1:${await closedPort()}`, model: 'qwen3:8b' });
    await expect(collect(absent.stream(request()))).rejects.toMatchObject({ failure: 'unreachable', message: expect.stringContaining('ollama serve') });
  });

  it('refuses an Ollama host off this machine: offline means local', async () => {
    expect(isLoopbackUrl('http://127.0.0.1:11434')).toBe(true);
    expect(isLoopbackUrl('http://localhost:11434')).toBe(true);
    expect(isLoopbackUrl('http://192.168.1.5:11434')).toBe(false);
    expect(isLoopbackUrl('http://127.0.0.1.evil.example')).toBe(false);
    const remote = createOllamaProvider({ host: 'http://10.0.0.7:11434', model: 'x' });
    await expect(collect(remote.stream(request()))).rejects.toMatchObject({ failure: 'unreachable' });
  });

  it('stops reading when aborted', async () => {
    standIn.script({ kind: 'stream', lines: ollamaTurn({ text: Array.from({ length: 200 }, (_, i) => `t${i} `) }), intervalMs: 5 });
    const controller = new AbortController();
    const seen: ModelStreamEvent[] = [];
    const failure = await (async () => {
      try {
        for await (const event of provider().stream(request(controller.signal))) {
          seen.push(event);
          if (seen.length === 3) controller.abort();
        }
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toMatchObject({ failure: 'aborted' });
    expect(seen).toHaveLength(3);
  });
});
