/**
 * The real `openai` SDK against a loopback stand-in that speaks Chat Completions streaming
 * (tool-call deltas, the usage chunk, OpenAI's error bodies) and refuses what the API refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRequest, ModelStreamEvent } from '../../../electron/models/modelProvider';
import { cortexBaseUrl, createOpenAiProvider, toChatMessages } from '../../../electron/models/openaiProvider';
import { createProvider } from '../../../electron/models/providerFactory';
import { defaultSettings } from '../../../electron/settings/settingsStore';
import { closedPort } from '../../support/closedPort';
import { openAiErrors, startOpenAiStandIn, type OpenAiStandIn } from '../../support/standIns/openaiStandIn';

const key = 'sk-proj-standin-0123456789abcdef';
let standIn: OpenAiStandIn;
beforeAll(async () => {
  standIn = await startOpenAiStandIn({ apiKey: key, models: ['gpt-5.5'] });
});
afterAll(async () => {
  await standIn.close();
});

const request = (signal = new AbortController().signal): ModelRequest => ({
  system: 'You are Sophia.',
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'read it' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'Reading.' }, { type: 'tool_use', id: 'call_a1', name: 'read_file', input: { path: 'a' } }] },
    { role: 'user', content: [{ type: 'tool_result', toolUseId: 'call_a1', toolName: 'read_file', content: 'CREATE TABLE a', isError: false }] },
  ],
  tools: [
    { name: 'read_file', description: 'Read a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } },
    { name: 'run_command', description: 'Run a command', inputSchema: { type: 'object' } },
  ],
  maxTokens: 512,
  signal,
});

async function collect(stream: AsyncIterable<ModelStreamEvent>): Promise<ModelStreamEvent[]> {
  const events: ModelStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const provider = (options: { apiKey?: string; maxRetries?: number; model?: string } = {}) =>
  createOpenAiProvider({ id: 'openai', apiKey: 'apiKey' in options ? options.apiKey : key, baseURL: standIn.baseURL, model: options.model ?? 'gpt-5.5', maxRetries: options.maxRetries ?? 0 });

describe('OpenAI-compatible provider (Chat Completions through the openai SDK)', () => {
  it('streams text and tool-call deltas, with usage from the final chunk', async () => {
    standIn.script({
      kind: 'turn',
      text: ['Let me ', 'look.'],
      tools: [
        { name: 'read_file', input: { path: 'b.sql' }, chunks: 4 },
        { name: 'run_command', input: { command: 'npm test' } },
      ],
      promptTokens: 321,
      completionTokens: 45,
    });
    const events = await collect(provider().stream(request()));
    expect(events.filter((e) => e.type === 'text')).toEqual([
      { type: 'text', delta: 'Let me ' },
      { type: 'text', delta: 'look.' },
    ]);
    const calls = events.flatMap((e) => (e.type === 'tool_call' ? [e] : []));
    expect(calls).toMatchObject([
      { name: 'read_file', input: { path: 'b.sql' } },
      { name: 'run_command', input: { command: 'npm test' } },
    ]);
    expect(events.slice(-2)).toEqual([
      { type: 'usage', inputTokens: 321, outputTokens: 45 },
      { type: 'done', stopReason: 'tool_use' },
    ]);

    const sent = standIn.requests.at(-1);
    expect(sent?.headers.authorization).toBe(`Bearer ${key}`);
    expect(sent?.body).toMatchObject({ model: 'gpt-5.5', stream: true, stream_options: { include_usage: true }, max_completion_tokens: 512 });
    expect(sent?.body.max_tokens).toBeUndefined();
    expect(sent?.body.tools?.map((t) => t.function.name)).toEqual(['read_file', 'run_command']);
    // System first; the tool result right after the assistant turn that called it.
    expect(sent?.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(sent?.body.messages[2]).toMatchObject({ content: 'Reading.', tool_calls: [{ id: 'call_a1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }] });
    expect(sent?.body.messages[3]).toMatchObject({ role: 'tool', tool_call_id: 'call_a1', content: 'CREATE TABLE a' });
  });

  it('mints tool-call ids that differ across model calls, whatever the server numbers them', async () => {
    standIn.script({ kind: 'turn', tools: [{ name: 'read_file', input: { path: 'a' } }] }, { kind: 'turn', tools: [{ name: 'read_file', input: { path: 'b' } }] });
    const first = (await collect(provider().stream(request()))).find((e) => e.type === 'tool_call');
    const second = (await collect(provider().stream(request()))).find((e) => e.type === 'tool_call');
    expect(first?.type === 'tool_call' && first.id).toMatch(/^call_[0-9a-f]{32}$/);
    expect(second?.type === 'tool_call' && second.id).toMatch(/^call_[0-9a-f]{32}$/);
    expect(first).not.toEqual(second);
  });

  it('reports malformed tool arguments instead of guessing', async () => {
    standIn.script({ kind: 'turn', tools: [{ name: 'read_file', rawJson: '{"path": "a"' }, { name: 'run_command', rawJson: '["npm"]' }] });
    const calls = (await collect(provider().stream(request()))).filter((e) => e.type === 'tool_call');
    expect(calls).toMatchObject([
      { name: 'read_file', input: undefined, error: 'The arguments were not valid JSON.' },
      { name: 'run_command', input: undefined, error: 'The arguments were not a JSON object.' },
    ]);
  });

  it('maps finish reasons onto the stop reasons the agent knows', async () => {
    standIn.script({ kind: 'turn', text: ['cut'], finishReason: 'length' }, { kind: 'turn', text: [''], finishReason: 'content_filter' });
    expect((await collect(provider().stream(request()))).at(-1)).toEqual({ type: 'done', stopReason: 'max_tokens' });
    expect((await collect(provider().stream(request()))).at(-1)).toEqual({ type: 'done', stopReason: 'refusal' });
  });

  it('a refused key: plain words, and no part of the key in them', async () => {
    const wrong = 'sk-proj-wrong-key-9876543210';
    const failure = await collect(provider({ apiKey: wrong }).stream(request())).catch((e: unknown) => e);
    expect(failure).toMatchObject({ failure: 'bad-key', message: expect.stringContaining('Credentials & role') });
    expect(standIn.refusals.at(-1)).toMatchObject({ code: 'invalid_api_key' });
    expect(JSON.stringify(failure)).not.toMatch(/3210|wrong-key/);
    expect(String((failure as Error).message)).not.toMatch(/3210|wrong-key/);
  });

  it('429: the SDK honours retry-after and gets through; when retries run out, says so', async () => {
    const before = standIn.requests.length;
    standIn.script(
      { kind: 'status', status: 429, error: openAiErrors.rateLimited('gpt-5.5'), headers: { 'retry-after': '0', 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-remaining-requests': '0' } },
      { kind: 'turn', text: ['after the wait'] },
    );
    const events = await collect(provider({ maxRetries: 2 }).stream(request()));
    expect(events[0]).toEqual({ type: 'text', delta: 'after the wait' });
    expect(standIn.requests.length - before).toBe(2);

    standIn.script({ kind: 'status', status: 429, error: openAiErrors.rateLimited('gpt-5.5'), headers: { 'retry-after': '0' } });
    await expect(collect(provider().stream(request()))).rejects.toMatchObject({ failure: 'rate-limited', message: expect.stringContaining('Wait a minute') });
    standIn.script({ kind: 'status', status: 429, error: openAiErrors.insufficientQuota() });
    await expect(collect(provider().stream(request()))).rejects.toMatchObject({ failure: 'rate-limited', message: expect.stringContaining('quota') });
  });

  it('400 when the scripted model calls a tool this request did not offer', async () => {
    standIn.script({ kind: 'turn', tools: [{ name: 'git_push', input: {} }] });
    await expect(collect(provider().stream(request()))).rejects.toMatchObject({ failure: 'bad-request', message: expect.stringContaining("'git_push'") });
    expect(standIn.refusals.at(-1)).toMatchObject({ code: 'tool_not_offered' });
  });

  it('refuses what the API refuses: an unknown model, an unanswered tool call', async () => {
    await expect(collect(provider({ model: 'gpt-nope' }).stream(request()))).rejects.toMatchObject({ failure: 'model-missing', message: expect.stringContaining('gpt-nope') });
    const unanswered: ModelRequest = { ...request(), messages: request().messages.slice(0, 2).concat([{ role: 'user', content: [{ type: 'text', text: 'and?' }] }]) };
    await expect(collect(provider().stream(unanswered))).rejects.toMatchObject({ failure: 'bad-request', message: expect.stringContaining('call_a1') });
  });

  it('an error event in the middle of the stream ends the turn with a server error', async () => {
    standIn.script({ kind: 'turn', text: ['partial', ' answer', ' more'], errorAfter: { chunks: 2, error: openAiErrors.server() } });
    const seen: ModelStreamEvent[] = [];
    const failure = await (async () => {
      try {
        for await (const event of provider().stream(request())) seen.push(event);
      } catch (error) {
        return error;
      }
    })();
    expect(seen).toEqual([{ type: 'text', delta: 'partial' }]);
    expect(failure).toMatchObject({ failure: 'server-error' });
  });

  it('a cloud address with no key is refused before anything is sent; a local server needs none', async () => {
    const cloud = createOpenAiProvider({ id: 'openai', apiKey: undefined, baseURL: 'https://api.openai.com/v1', model: 'gpt-5.5' });
    await expect(collect(cloud.stream(request()))).rejects.toMatchObject({ failure: 'no-key' });
    expect(cloud.offline).toBe(false);

    const local = await startOpenAiStandIn();
    try {
      local.script({ kind: 'turn', text: ['local answer'] });
      const llamaCpp = createOpenAiProvider({ id: 'openai', apiKey: undefined, baseURL: local.baseURL, model: 'qwen3-coder' });
      expect(llamaCpp.offline).toBe(true);
      expect((await collect(llamaCpp.stream(request())))[0]).toEqual({ type: 'text', delta: 'local answer' });
    } finally {
      await local.close();
    }
    const absent = createOpenAiProvider({ id: 'openai', apiKey: undefined, baseURL: `http://127.0.0.1:${await closedPort()}/v1`, model: 'x', maxRetries: 0 });
    await expect(collect(absent.stream(request()))).rejects.toMatchObject({ failure: 'unreachable', message: expect.stringContaining('Start it') });
  });

  it('stops reading when aborted', async () => {
    standIn.script({ kind: 'turn', text: Array.from({ length: 200 }, (_, i) => `t${i} `), intervalMs: 5 });
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

  it('leaves out blocks Chat Completions has no place for, and sends tool errors as such', () => {
    const messages = toChatMessages('sys', [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'read_file', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', toolUseId: 'c1', toolName: 'read_file', content: 'no such file', isError: true }, { type: 'text', text: 'try again' }] },
    ]);
    expect(messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read_file', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'Error: no such file' },
      { role: 'user', content: 'try again' },
    ]);
  });
});

describe('Snowflake Cortex preset', () => {
  it('derives the account address, sends the programmatic access token as the bearer, and says what Cortex needs', async () => {
    expect(cortexBaseUrl('MyOrg-My_Account')).toBe('https://myorg-my-account.snowflakecomputing.com/api/v2/cortex/v1');
    const pat = 'pat-cortex-secret-value-123456';
    const cortex = await startOpenAiStandIn({ apiKey: pat, basePath: '/api/v2/cortex/v1', models: ['claude-sonnet-4-5', 'openai-gpt-5.6-sol'] });
    try {
      const secrets = { get: async (name: string) => (name === 'snowflake-cortex-token' ? pat : undefined) };
      const settings = { ...defaultSettings, provider: 'cortex' as const, cortexAccount: 'myorg-myaccount', cortexModel: 'claude-sonnet-4-5' };
      const model = await createProvider(settings, secrets, { cortexBaseURL: cortex.baseURL });
      expect(model).toMatchObject({ id: 'cortex', model: 'claude-sonnet-4-5', offline: false });
      cortex.script({ kind: 'turn', text: ['from Cortex'], tools: [{ name: 'read_file', input: { path: 'x' } }] });
      const events = await collect(model.stream(request()));
      expect(events[0]).toEqual({ type: 'text', delta: 'from Cortex' });
      expect(cortex.requests.at(-1)).toMatchObject({ path: '/api/v2/cortex/v1/chat/completions', headers: { authorization: `Bearer ${pat}` } });

      // No account, no token: refused with what to set, before anything is sent.
      await expect(createProvider({ ...settings, cortexAccount: '' }, secrets)).rejects.toMatchObject({ failure: 'no-key' });
      const noToken = await createProvider(settings, { get: async () => undefined }, { cortexBaseURL: cortex.baseURL });
      await expect(collect(noToken.stream(request()))).rejects.toMatchObject({ failure: 'no-key', message: expect.stringContaining('snowflake-cortex-token') });
      cortex.script({ kind: 'status', status: 403, error: { message: 'Access denied', type: 'invalid_request_error', param: null, code: null } });
      await expect(collect(model.stream(request()))).rejects.toMatchObject({ failure: 'bad-key', message: expect.stringContaining('CORTEX_USER') });
    } finally {
      await cortex.close();
    }
  });

  it('the OpenAI-compatible provider reads its own key and counts as local only on loopback', async () => {
    const read: string[] = [];
    const secrets = { get: async (name: string) => (read.push(name), undefined) };
    const local = await createProvider({ ...defaultSettings, provider: 'openai', openaiBaseUrl: 'http://127.0.0.1:1234/v1', openaiModel: 'qwen3' }, secrets);
    expect(local).toMatchObject({ id: 'openai', model: 'qwen3', offline: true });
    const remote = await createProvider({ ...defaultSettings, provider: 'openai', openaiBaseUrl: 'http://10.0.0.5:8000/v1' }, secrets);
    expect(remote.offline).toBe(false);
    expect(read).toEqual(['openai-api-key', 'openai-api-key']);
  });
});
