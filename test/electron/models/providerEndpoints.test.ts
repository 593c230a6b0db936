/**
 * The model servers' addresses come from where a person already sets them: the Settings field
 * for the Anthropic API's address (a LiteLLM gateway, a company proxy), else the SDK's own
 * ANTHROPIC_BASE_URL; and OLLAMA_HOST, read as Ollama reads it, until a saved setting replaces
 * it. Each through the real client library against a loopback stand-in.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import type { ModelStreamEvent } from '../../../electron/models/modelProvider';
import { ollamaHostFromEnv } from '../../../electron/models/ollamaProvider';
import { createProvider } from '../../../electron/models/providerFactory';
import { defaultSettings, settingsDefaults, SettingsStore } from '../../../electron/settings/settingsStore';
import type { AppSettings } from '../../../shared/contract';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { ollamaTurn, startOllamaStandIn, type OllamaStandIn } from '../../support/standIns/ollamaStandIn';

let gateway: AnthropicStandIn;
let proxy: AnthropicStandIn;
let ollama: OllamaStandIn;
const secrets = { get: async () => 'sk-ant-endpoint-test' };
const savedEnv = process.env['ANTHROPIC_BASE_URL'];

beforeAll(async () => {
  [gateway, proxy, ollama] = await Promise.all([startAnthropicStandIn(), startAnthropicStandIn(), startOllamaStandIn()]);
});
afterAll(async () => {
  await Promise.all([gateway.close(), proxy.close(), ollama.close()]);
});
afterEach(() => {
  if (savedEnv === undefined) delete process.env['ANTHROPIC_BASE_URL'];
  else process.env['ANTHROPIC_BASE_URL'] = savedEnv;
});

async function ask(settings: AppSettings): Promise<string> {
  const provider = await createProvider(settings, secrets);
  let text = '';
  for await (const event of provider.stream({
    system: 'You are Sophia.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
    tools: [],
    maxTokens: 64,
    signal: new AbortController().signal,
  }) as AsyncIterable<ModelStreamEvent>) {
    if (event.type === 'text') text += event.delta;
  }
  return text;
}

describe('the Anthropic API address', () => {
  it('follows ANTHROPIC_BASE_URL when the Settings field is empty', async () => {
    process.env['ANTHROPIC_BASE_URL'] = gateway.baseURL;
    gateway.script({ kind: 'stream', events: anthropicTurn({ text: ['through the gateway'] }) });
    const before = gateway.requests.length;
    expect(await ask({ ...defaultSettings, provider: 'anthropic' })).toBe('through the gateway');
    expect(gateway.requests.length).toBe(before + 1);
    expect(gateway.requests.at(-1)?.headers['authorization'] ?? gateway.requests.at(-1)?.headers['x-api-key']).toContain('sk-ant-endpoint-test');
  });

  it('follows the Settings field over ANTHROPIC_BASE_URL', async () => {
    process.env['ANTHROPIC_BASE_URL'] = gateway.baseURL;
    proxy.script({ kind: 'stream', events: anthropicTurn({ text: ['through the proxy'] }) });
    const gatewayBefore = gateway.requests.length;
    expect(await ask({ ...defaultSettings, provider: 'anthropic', anthropicBaseUrl: proxy.baseURL })).toBe('through the proxy');
    expect(gateway.requests.length).toBe(gatewayBefore);
  });

  it('is a Settings field that keeps what was saved, and refuses what is not an http(s) address', () => {
    const store = new SettingsStore(openAppDatabase(':memory:'), defaultSettings);
    expect(store.get().anthropicBaseUrl).toBe('');
    expect(store.update({ anthropicBaseUrl: 'https://litellm.corp.example/anthropic' }).anthropicBaseUrl).toBe('https://litellm.corp.example/anthropic');
    expect(() => store.update({ anthropicBaseUrl: 'file:///etc/passwd' })).toThrow();
    expect(() => store.update({ anthropicBaseUrl: 'javascript:alert(1)' })).toThrow();
    expect(store.get().anthropicBaseUrl).toBe('https://litellm.corp.example/anthropic');
  });
});

describe('OLLAMA_HOST', () => {
  it('is read as Ollama reads it', () => {
    expect(ollamaHostFromEnv(undefined)).toBeUndefined();
    expect(ollamaHostFromEnv('  ')).toBeUndefined();
    expect(ollamaHostFromEnv('localhost')).toBe('http://localhost:11434');
    expect(ollamaHostFromEnv('127.0.0.1:11500')).toBe('http://127.0.0.1:11500');
    expect(ollamaHostFromEnv('0.0.0.0')).toBe('http://127.0.0.1:11434');
    expect(ollamaHostFromEnv('[::1]:8080')).toBe('http://[::1]:8080');
    expect(ollamaHostFromEnv('http://gpu-box.lan')).toBe('http://gpu-box.lan');
    expect(ollamaHostFromEnv('https://ollama.corp.example:8443/')).toBe('https://ollama.corp.example:8443');
    expect(ollamaHostFromEnv('ftp://files.example')).toBeUndefined();
    expect(ollamaHostFromEnv('http://user:secret@host')).toBeUndefined();
    expect(ollamaHostFromEnv('not a host')).toBeUndefined();
  });

  it('is the Ollama address until a saved setting replaces it, and the client talks to it', async () => {
    const port = new URL(ollama.host).port;
    const defaults = settingsDefaults({ OLLAMA_HOST: `127.0.0.1:${port}` });
    expect(defaults.ollamaHost).toBe(`http://127.0.0.1:${port}`);
    const db = openAppDatabase(':memory:');
    const store = new SettingsStore(db, defaults);
    ollama.script({ kind: 'stream', lines: ollamaTurn({ text: ['local answer'] }) });
    expect(await ask({ ...store.get(), provider: 'ollama' })).toBe('local answer');

    store.update({ ollamaHost: 'http://127.0.0.1:1' });
    expect(new SettingsStore(db, defaults).get().ollamaHost).toBe('http://127.0.0.1:1');
  });

  it('that is not an address leaves the built-in default', () => {
    expect(settingsDefaults({ OLLAMA_HOST: 'ftp://nowhere' }).ollamaHost).toBe(defaultSettings.ollamaHost);
    expect(settingsDefaults({}).ollamaHost).toBe('http://127.0.0.1:11434');
  });
});
