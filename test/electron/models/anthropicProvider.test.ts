/** The real @anthropic-ai/sdk against a loopback stand-in speaking Anthropic's SSE. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider, listAnthropicModels } from '../../../electron/models/anthropicProvider';
import { ModelError, type ModelRequest, type ModelStreamEvent } from '../../../electron/models/modelProvider';
import { closedPort } from '../../support/closedPort';
import { anthropicTurn, sseError, startAnthropicStandIn, thinkingSignature, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';

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
    expect(events).toContainEqual({ type: 'usage', inputTokens: 12, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(events.at(-1)).toEqual({ type: 'done', stopReason: 'end_turn', model: 'claude-sonnet-5-5', responseId: expect.stringMatching(/^msg_/) });
    const sent = standIn.requests.at(-1);
    // SDK 1.x sends the key as a bearer token (older versions used x-api-key).
    expect(sent?.headers['authorization'] ?? sent?.headers['x-api-key']).toContain('sk-ant-test-key');
    // The system prompt and the tools carry a cache breakpoint; thinking is adaptive with its text returned.
    expect(sent?.body).toMatchObject({
      model: 'claude-sonnet-5-5',
      system: [{ type: 'text', text: 'You are Sophia.', cache_control: { type: 'ephemeral' } }],
      stream: true,
      tools: [{ name: 'read_file', cache_control: { type: 'ephemeral' } }],
      thinking: { type: 'adaptive', display: 'summarized' },
    });
    for (const refused of ['temperature', 'top_p', 'top_k', 'tool_choice']) expect(sent?.body).not.toHaveProperty(refused);
  });

  it('assembles a tool call from input_json_delta fragments', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Reading.'], tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' }, chunks: 5 }] }) });
    const events = await collect(provider().stream(request()));
    const call = events.find((e) => e.type === 'tool_call');
    expect(call).toMatchObject({ type: 'tool_call', name: 'read_file', input: { path: 'sql/employees.sql' } });
    expect(call && 'error' in call ? call.error : undefined).toBeUndefined();
    expect(events.at(-1)).toEqual({ type: 'done', stopReason: 'tool_use', model: 'claude-sonnet-5-5', responseId: expect.stringMatching(/^msg_/) });
  });

  it('reports a malformed tool call instead of guessing its arguments', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', rawJson: '{"path": "a.sql"' }] }) });
    const events = await collect(provider().stream(request()));
    expect(events.find((e) => e.type === 'tool_call')).toMatchObject({ name: 'read_file', input: undefined, error: expect.stringContaining('not valid JSON') });
  });

  it('turns an error event mid-stream into a plain-words error, after the text so far', async () => {
    const turn = anthropicTurn({ text: ['Partial answer'], thinking: false });
    standIn.script({ kind: 'stream', events: [...turn.slice(0, 4), sseError('overloaded_error', 'Overloaded')] });
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
    await expect(collect(provider(null).stream(request()))).rejects.toMatchObject({ failure: 'no-key', message: expect.stringContaining('Credentials & role') });
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

  it('keeps thinking blocks whole, signature and all, streams their text, and counts cache tokens', async () => {
    standIn.script({
      kind: 'stream',
      events: anthropicTurn({ thinking: ['I should read ', 'the file first.'], tools: [{ name: 'read_file', input: { path: 'a.sql' } }], cacheReadTokens: 900, cacheWriteTokens: 40 }),
    });
    const events = await collect(provider().stream(request()));
    expect(events.filter((e) => e.type === 'thinking').map((e) => (e as { delta: string }).delta).join('')).toBe('I should read the file first.');
    const block = events.find((e) => e.type === 'thinking_block');
    expect(block).toEqual({ type: 'thinking_block', block: { type: 'thinking', thinking: 'I should read the file first.', signature: thinkingSignature('I should read the file first.') } });
    expect(events.find((e) => e.type === 'usage')).toMatchObject({ cacheReadTokens: 900, cacheWriteTokens: 40 });
  });

  it('sends thinking and redacted_thinking blocks back unchanged; the API refuses a tool-use turn without them', async () => {
    const signed = { type: 'thinking' as const, thinking: 'Plan: read it.', signature: thinkingSignature('Plan: read it.') };
    const redacted = { type: 'redacted_thinking' as const, data: `redacted:${thinkingSignature('redacted')}` };
    const history = (assistant: ModelRequest['messages'][number]['content']): ModelRequest => ({
      ...request(),
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'read a.sql' }] },
        { role: 'assistant', content: assistant },
        { role: 'user', content: [{ type: 'tool_result', toolUseId: 'toolu_1', toolName: 'read_file', content: 'x', isError: false }] },
      ],
    });
    const toolUse = { type: 'tool_use' as const, id: 'toolu_1', name: 'read_file', input: { path: 'a.sql' } };

    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Done.'] }) }, { kind: 'stream', events: anthropicTurn({ text: ['Done.'] }) });
    await collect(provider().stream(history([signed, toolUse])));
    expect(standIn.requests.at(-1)?.body.messages[1]?.content).toEqual([signed, { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a.sql' } }]);
    await collect(provider().stream(history([redacted, toolUse])));
    expect(standIn.requests.at(-1)?.body.messages[1]?.content).toEqual([redacted, expect.objectContaining({ type: 'tool_use' })]);

    // What the old provider sent (the thinking block dropped) and a tampered signature: both 400.
    for (const broken of [[toolUse], [{ ...signed, thinking: 'Plan: something else.' }, toolUse]]) {
      const failure = await collect(provider().stream(history(broken))).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ModelError);
      expect((failure as ModelError).failure).toBe('bad-request');
    }
    expect(standIn.refusals.slice(-2)).toEqual([expect.stringMatching(/Expected `thinking` or `redacted_thinking`/), expect.stringMatching(/Invalid `signature`/)]);
  });

  it('sends the effort the model accepts, and nothing a current model refuses', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['ok'] }) });
    await collect(provider().stream({ ...request(), effort: 'medium' }));
    expect(standIn.requests.at(-1)?.body.output_config).toEqual({ effort: 'medium' });
    expect(standIn.requests.at(-1)?.body.messages.at(-1)?.role).toBe('user');
  });

  it('asks an older model for neither adaptive thinking nor effort (its Models API entry says it takes neither)', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['ok'], thinking: false }) });
    const old = createAnthropicProvider({ apiKey: 'sk-ant-test-key', model: 'claude-haiku-4-5-20251001', baseURL: standIn.baseURL, maxRetries: 0 });
    await collect(old.stream({ ...request(), effort: 'high' }));
    expect(standIn.requests.at(-1)?.body).not.toHaveProperty('thinking');
    expect(standIn.requests.at(-1)?.body).not.toHaveProperty('output_config');
    expect(standIn.modelRequests).toContain('/v1/models/claude-haiku-4-5-20251001');
  });

  it('the stand-in refuses each setting the current API refuses, with its 400 invalid_request_error body', async () => {
    const refused: Record<string, unknown>[] = [
      { temperature: 0.2 },
      { top_p: 0.9 },
      { top_k: 5 },
      { tool_choice: { type: 'any' } },
      { tool_choice: { type: 'tool', name: 'read_file' } },
      { thinking: { type: 'disabled' } },
      { thinking: { type: 'enabled', budget_tokens: 2048 } },
      { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Sure,' }] },
    ];
    for (const extra of refused) {
      const response = await fetch(`${standIn.baseURL}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], stream: true, ...extra }),
      });
      expect(response.status, JSON.stringify(extra)).toBe(400);
      expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) }, request_id: expect.any(String) });
    }
  });

  it('the stand-in refuses a scripted call to a tool the request did not offer', async () => {
    standIn.script({ kind: 'stream', events: anthropicTurn({ tools: [{ name: 'git_push', input: {} }] }) });
    const failure = await collect(provider().stream(request())).catch((error: unknown) => error);
    expect((failure as ModelError).failure).toBe('bad-request');
    expect(standIn.violations.at(-1)).toMatch(/git_push, which this request did not offer/);
    standIn.violations.length = 0;
  });

  it('lists the models the key can use through the Models API, every page', async () => {
    const many = Array.from({ length: 130 }, (_, i) => ({ id: `claude-test-${i}`, displayName: `Test ${i}` }));
    const listing = await startAnthropicStandIn({ models: many });
    try {
      const models = await listAnthropicModels({ apiKey: 'sk-ant-test-key', baseURL: listing.baseURL });
      expect(models).toHaveLength(130);
      expect(models[0]).toEqual({ id: 'claude-test-0', displayName: 'Test 0' });
      expect(listing.modelRequests.filter((path) => path === '/v1/models').length).toBe(2);
      await expect(listAnthropicModels({ apiKey: undefined, baseURL: listing.baseURL })).rejects.toMatchObject({ failure: 'no-key' });
    } finally {
      await listing.close();
    }
  });
});
