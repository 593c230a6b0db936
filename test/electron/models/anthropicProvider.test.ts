/** The real @anthropic-ai/sdk against a loopback stand-in speaking Anthropic's SSE. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../../electron/models/anthropicProvider';
import { ModelError, type ModelRequest, type ModelStreamEvent } from '../../../electron/models/modelProvider';
import { closedPort } from '../../support/closedPort';
import { anthropicTurn, sseError, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';

let standIn: AnthropicStandIn;
beforeAll(async () => {
  standIn = await startAnthropicStandIn();
});
afterAll(async () => {
  await standIn.close();
});

const request = (signal = new AbortController().signal): ModelRequest => ({
  system: 'You are Sophia.',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
  tools: [{ name: 'read_file', description: 'Read a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } }],
  maxTokens: 1024,
  signal,
});

const provider = (apiKey: string | null = 'sk-ant-test-key') =>
  createAnthropicProvider({ apiKey: apiKey ?? undefined, model: 'claude-sonnet-5-5', baseURL: standIn.baseURL, maxRetries: 2 });

async function collect(stream: AsyncIterable<ModelStreamEvent>): Promise<ModelStreamEvent[]> {
  const events: ModelStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe('Anthropic provider', () => {
  it('streams text deltas and reports usage', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Hel', 'lo ', 'there'], inputTokens: 12, outputTokens: 3 }) });
    const events = await collect(provider().stream(request()));
    expect(events.filter((e) => e.type === 'text').map((e) => (e as { delta: string }).delta).join('')).toBe('Hello there');
    expect(events).toContainEqual({ type: 'usage', inputTokens: 12, outputTokens: 3 });
    expect(events.at(-1)).toEqual({ type: 'done', stopReason: 'end_turn' });
    const sent = standIn.requests.at(-1);
    // SDK 1.x sends the key as a bearer token (older versions used x-api-key).
    expect(sent?.headers['authorization'] ?? sent?.headers['x-api-key']).toContain('sk-ant-test-key');
    expect(sent?.body).toMatchObject({ model: 'claude-sonnet-5-5', system: 'You are Sophia.', stream: true, tools: [{ name: 'read_file' }] });
  });

  it('assembles a tool call from input_json_delta fragments', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Reading.'], tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' }, chunks: 5 }] }) });
    const events = await collect(provider().stream(request()));
    const call = events.find((e) => e.type === 'tool_call');
    expect(call).toMatchObject({ type: 'tool_call', name: 'read_file', input: { path: 'sql/employees.sql' } });
    expect(call && 'error' in call ? call.error : undefined).toBeUndefined();
    expect(events.at(-1)).toEqual({ type: 'done', stopReason: 'tool_use' });
  });

  it('reports a malformed tool call instead of guessing its arguments', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', rawJson: '{"path": "a.sql"' }] }) });
    const events = await collect(provider().stream(request()));
    expect(events.find((e) => e.type === 'tool_call')).toMatchObject({ name: 'read_file', input: undefined, error: expect.stringContaining('not valid JSON') });
  });

  it('turns an error event mid-stream into a plain-words error, after the text so far', async () => {
    const turn = anthropicTurn({ text: ['Partial answer'] });
    standIn.script({ kind: 'stream', events: [...turn.slice(0, 3), sseError('overloaded_error', 'Overloaded')] });
    const seen: ModelStreamEvent[] = [];
    const failure = await (async () => {
      try {
        for await (const event of provider().stream(request())) seen.push(event);
      } catch (error) {
        return error;
      }
    })();
    expect(seen).toEqual([{ type: 'text', delta: 'Partial answer' }]);
    expect(failure).toBeInstanceOf(ModelError);
    expect((failure as ModelError).failure).toBe('overloaded');
    expect((failure as ModelError).message).toMatch(/overloaded/i);
  });

  it('retries a 429 and a 529 with backoff, then streams', async () => {
    const before = standIn.requests.length;
    standIn.script(
      { kind: 'status', status: 429, errorType: 'rate_limit_error', headers: { 'retry-after-ms': '5' } },
      { kind: 'status', status: 529, errorType: 'overloaded_error', headers: { 'retry-after-ms': '5' } },
      { kind: 'stream', events: anthropicTurn({ text: ['finally'] }) },
    );
    const events = await collect(provider().stream(request()));
    expect(standIn.requests.length - before).toBe(3);
    expect(events).toContainEqual({ type: 'text', delta: 'finally' });
  });

  it('gives up after its retries with words that say what to do', async () => {
    standIn.script(
      ...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429, errorType: 'rate_limit_error', headers: { 'retry-after-ms': '1' } })),
    );
    await expect(collect(provider().stream(request()))).rejects.toMatchObject({ failure: 'rate-limited', message: expect.stringMatching(/wait/i) });
  });

  it('says plainly when the key is missing or refused', async () => {
    const before = standIn.requests.length;
    await expect(collect(provider(null).stream(request()))).rejects.toMatchObject({ failure: 'no-key', message: expect.stringContaining('Settings') });
    expect(standIn.requests.length).toBe(before);
    standIn.script({ kind: 'status', status: 401, errorType: 'authentication_error' });
    await expect(collect(provider('sk-ant-wrong').stream(request()))).rejects.toMatchObject({ failure: 'bad-key' });
  });

  it('says plainly when Anthropic cannot be reached', async () => {
    const unreachable = createAnthropicProvider({ apiKey: 'k', model: 'claude-sonnet-5-5', baseURL: `http://127.0.0.1:${await closedPort()}`, maxRetries: 0 });
    await expect(collect(unreachable.stream(request()))).rejects.toMatchObject({ failure: 'unreachable', message: expect.stringContaining('cannot be reached') });
  });

  it('closes the socket when aborted mid-stream', async () => {
    const closedBefore = standIn.closedAt.length;
    const long = anthropicTurn({ text: Array.from({ length: 500 }, (_, i) => `token${i} `) });
    standIn.script({ kind: 'stream', events: long, intervalMs: 5, holdOpen: true });
    const controller = new AbortController();
    const seen: ModelStreamEvent[] = [];
    let abortedAt = 0;
    const failure = await (async () => {
      try {
        for await (const event of provider().stream(request(controller.signal))) {
          seen.push(event);
          if (seen.length === 5) {
            abortedAt = performance.now();
            controller.abort();
          }
        }
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toMatchObject({ failure: 'aborted' });
    expect(seen).toHaveLength(5);
    await expect.poll(() => standIn.closedAt.length).toBe(closedBefore + 1);
    const closeMs = (standIn.closedAt.at(-1) ?? 0) - abortedAt;
    process.stdout.write(`anthropic abort -> socket closed: ${closeMs.toFixed(1)} ms\n`);
    expect(closeMs).toBeGreaterThanOrEqual(0);
  });
});
