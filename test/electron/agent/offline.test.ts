/**
 * Offline mode: with Ollama selected, a whole conversation (browser host, agent, tool call,
 * model) connects to nothing but loopback (and the local Docker engine's Unix socket). Every TCP socket the process opens is watched
 * through Node's `net.client.socket` diagnostics channel; any socket, DNS lookup or
 * connection to a non-loopback address fails the test.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, startHost } from '../../support/hostFixture';
import { ollamaTurn, startOllamaStandIn, type OllamaStandIn } from '../../support/standIns/ollamaStandIn';
import { employeesSql, makeWorkspace } from '../../support/agentFixture';
import type { BrowserHost } from '../../../electron/host/browserHost';
import type { SophiaCore } from '../../../electron/core/sophiaCore';
import type { SophiaEvent } from '../../../shared/contract';

// A Unix socket (the local Docker engine's) never leaves the machine.
const loopback = (address: string | undefined): boolean =>
  address === undefined ||
  address.startsWith('/') || address === '::1' || address === '::ffff:127.0.0.1' || /^127\./.test(address) || /^::ffff:127\./.test(address);

const violations: string[] = [];
const sockets: Socket[] = [];
function watch(message: unknown): void {
  const socket = (message as { socket: Socket }).socket;
  sockets.push(socket);
  socket.on('lookup', (_error, address, _family, host) => {
    if (!loopback(address) || !['localhost', '127.0.0.1', '::1'].includes(host)) violations.push(`DNS lookup of ${host} -> ${address}`);
  });
  socket.on('connectionAttempt', (ip: string, port: number) => {
    if (!loopback(ip)) violations.push(`connection attempt to ${ip}:${port}`);
  });
}

let ollama: OllamaStandIn;
let core: SophiaCore;
let host: BrowserHost;
const secretsRead = vi.fn(async () => 'sk-ant-should-never-be-read');

beforeAll(async () => {
  diagnostics.subscribe('net.client.socket', watch);
  ollama = await startOllamaStandIn();
  ({ core, host } = await startHost(undefined, { secrets: { get: secretsRead } }));
  core.settings.update({ provider: 'ollama', ollamaHost: ollama.host, ollamaModel: 'qwen3:8b', workspace: await makeWorkspace() });
});

afterAll(async () => {
  diagnostics.unsubscribe('net.client.socket', watch);
  await host.close();
  await core.close();
  await ollama.close();
});

describe('offline mode (Ollama)', () => {
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
    expect(sockets.length).toBeGreaterThan(0); // the watch saw the loopback traffic
    expect(violations).toEqual([]);
  });

  it('gives every tool call of a conversation its own id, across model calls (Ollama numbers none)', async () => {
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
    const before = violations.length;
    // A documentation address (TEST-NET-1): never a real host.
    await fetch('http://192.0.2.1:8080/', { signal: AbortSignal.timeout(300) }).catch(() => undefined);
    expect(violations.slice(before)).toEqual(['connection attempt to 192.0.2.1:8080']);
    violations.length = before;
  });
});
