/**
 * Offline mode: with Ollama selected (or an OpenAI-compatible server on loopback: vLLM,
 * LM Studio, llama.cpp's server), a whole conversation (browser host, agent, tool call,
 * model) connects to nothing but loopback (and the local Docker engine's Unix socket). The
 * whole process is watched by `strace -f` (test/support/connectionWatch.ts): every thread,
 * worker threads included, and every child process; any connection or datagram to a
 * non-loopback address, a DNS query included, fails the test. The tools' side of offline
 * mode is in offlineTools.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { watchConnections, type ConnectionWatch } from '../../support/connectionWatch';
import { connect, startHost } from '../../support/hostFixture';
import { ollamaTurn, startOllamaStandIn, type OllamaStandIn } from '../../support/standIns/ollamaStandIn';
import { startOpenAiStandIn, type OpenAiStandIn } from '../../support/standIns/openaiStandIn';
import { employeesSql, makeWorkspace } from '../../support/agentFixture';
import type { BrowserHost } from '../../../electron/host/browserHost';
import type { SophiaCore } from '../../../electron/app/sophiaCore';
import type { SophiaEvent } from '../../../shared/contract';

let watch: ConnectionWatch;
let ollama: OllamaStandIn;
let localOpenAi: OpenAiStandIn;
let core: SophiaCore;
let host: BrowserHost;
const secretsRead = vi.fn(async () => 'sk-ant-should-never-be-read');

beforeAll(async () => {
  watch = await watchConnections();
  ollama = await startOllamaStandIn();
  localOpenAi = await startOpenAiStandIn({ models: ['qwen3-coder-30b'] });
  ({ core, host } = await startHost(undefined, { secrets: { get: secretsRead } }));
  core.settings.update({ provider: 'ollama', ollamaHost: ollama.host, ollamaModel: 'qwen3:8b', workspace: await makeWorkspace() });
});

afterAll(async () => {
  await watch.stop();
  await host.close();
  await core.close();
  await ollama.close();
  await localOpenAi.close();
});

describe('offline mode (Ollama, or an OpenAI-compatible server on loopback)', () => {
  it('runs a whole conversation with a tool call and connects only to loopback', async () => {
    ollama.script(
      { kind: 'stream', lines: ollamaTurn({ toolCalls: [{ name: 'read_file', arguments: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', lines: ollamaTurn({ text: ['The table ', 'has four columns.'] }) },
    );
    const socket = await connect(host);
    const status = await socket.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'app.status', input: {} }));
    expect(status.result).toMatchObject({ ok: true, value: { model: { provider: 'ollama', name: 'qwen3:8b', offline: true } } });

    const sent = await socket.exchange(JSON.stringify({ kind: 'request', id: 2, channel: 'chat.send', input: { text: 'review the employees table definition' } }));
    expect(sent.result.ok).toBe(true);
    await expect.poll(() => socket.events.some((f) => f.event.type === 'agent.status' && f.event.state === 'idle'), { timeout: 10_000 }).toBe(true);

    const results = socket.events.flatMap((f) => (f.event.type === 'tool.result' ? [f.event] : []));
    expect(results).toMatchObject([{ ok: true, output: employeesSql }]);
    const answer = socket.events.flatMap((f) => (f.event.type === 'chat.message' && f.event.message.role === 'assistant' ? [f.event.message.text] : []));
    expect(answer).toEqual(['The table has four columns.']);
    await socket.close();

    expect(ollama.requests).toHaveLength(2);
    expect(secretsRead).not.toHaveBeenCalled();
    const report = watch.report();
    expect(report.addresses.length).toBeGreaterThan(0); // the watch saw the loopback traffic
    expect(report.violations).toEqual([]);
  });

  it('a local OpenAI-compatible server is offline too: a whole conversation, loopback only', async () => {
    const addressesBefore = watch.report().addresses.length;
    core.settings.update({ provider: 'openai', openaiBaseUrl: localOpenAi.baseURL, openaiModel: 'qwen3-coder-30b' });
    localOpenAi.script(
      { kind: 'turn', tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] },
      { kind: 'turn', text: ['Four columns, ', 'as before.'] },
    );
    const socket = await connect(host);
    const status = await socket.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'app.status', input: {} }));
    expect(status.result).toMatchObject({ ok: true, value: { model: { provider: 'openai', name: 'qwen3-coder-30b', offline: true } } });
    const sent = await socket.exchange(JSON.stringify({ kind: 'request', id: 2, channel: 'chat.send', input: { text: 'review the employees table definition' } }));
    expect(sent.result.ok).toBe(true);
    await expect.poll(() => socket.events.some((f) => f.event.type === 'agent.status' && f.event.state === 'idle'), { timeout: 10_000 }).toBe(true);
    expect(socket.events.flatMap((f) => (f.event.type === 'tool.result' ? [f.event] : []))).toMatchObject([{ ok: true, output: employeesSql }]);
    const answer = socket.events.flatMap((f) => (f.event.type === 'chat.message' && f.event.message.role === 'assistant' ? [f.event.message.text] : []));
    expect(answer).toEqual(['Four columns, as before.']);
    await socket.close();

    expect(localOpenAi.requests).toHaveLength(2);
    expect(localOpenAi.refusals).toEqual([]);
    const report = watch.report();
    expect(report.addresses.length).toBeGreaterThan(addressesBefore);
    expect(report.violations).toEqual([]);
  });

  it('gives every tool call of a conversation its own id, across model calls (Ollama numbers none)', async () => {
    // The test before switched to the local OpenAI-compatible server.
    core.settings.update({ provider: 'ollama' });
    ollama.script(
      { kind: 'stream', lines: ollamaTurn({ toolCalls: [{ name: 'read_file', arguments: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', lines: ollamaTurn({ toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }] }) },
      { kind: 'stream', lines: ollamaTurn({ text: ['Read both.'] }) },
    );
    const events: SophiaEvent[] = [];
    const unsubscribe = core.events.subscribe((event) => events.push(event));
    const { conversationId } = core.agent.send('read the employees table and the readme');
    await core.agent.whenIdle(conversationId);
    unsubscribe();
    const calls = events.flatMap((event) => (event.type === 'tool.call' ? [event.callId] : []));
    const results = events.flatMap((event) => (event.type === 'tool.result' ? [event] : []));
    expect(calls).toHaveLength(2);
    expect(new Set(calls).size).toBe(2);
    // Each card gets its own result: the second call did not overwrite the first.
    expect(results.map((result) => result.callId)).toEqual(calls);
    expect(results.map((result) => result.output)).toEqual([employeesSql, '# Payroll\n']);
    expect(ollama.violations).toEqual([]);
  });

  it('the watch itself catches a connection off loopback', async () => {
    const before = watch.report().violations.length;
    // 0.0.0.0 is not loopback to the watch, yet the kernel answers a connect to it on this
    // machine: the check names an address off loopback without sending a packet anywhere.
    await fetch('http://0.0.0.0:40009/', { signal: AbortSignal.timeout(300) }).catch(() => undefined);
    expect(watch.report().violations.slice(before).some((line) => line.includes('"0.0.0.0"') && line.includes('htons(40009)'))).toBe(true);
  });
});
