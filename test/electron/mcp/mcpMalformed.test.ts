/**
 * 1,000 bad requests to each transport: broken JSON, unknown methods, unknown tools,
 * schema-invalid arguments, wrong JSON-RPC shapes. Each gets an MCP error (or, for a line
 * that is not JSON at all on stdio, nothing), nothing runs, and the server still answers
 * a good request afterwards. Counts are fixed; no clock is asserted.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ErrorCode, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpEndpointFileName } from '../../../electron/mcp/mcpHttpHost';
import { mcpHarness, type McpHarness } from './mcpHarness';

const repo = path.resolve(import.meta.dirname, '../../..');
const total = 1000;

let h: McpHarness;
beforeAll(async () => {
  h = await mcpHarness();
});
afterAll(async () => {
  await h.close();
});

const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'fuzzer', version: '1' } } };

/** The i-th bad request, and the JSON-RPC error code it must get (undefined: no answer is possible). */
function bad(i: number): { body: string; code: number | undefined } {
  switch (i % 5) {
    case 0:
      return { body: `{"jsonrpc":"2.0","id":${i},"method":"tools/call",`, code: undefined };
    case 1:
      return { body: JSON.stringify({ jsonrpc: '2.0', id: i, method: `no/such/method/${i}` }), code: ErrorCode.MethodNotFound };
    case 2:
      return { body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: `format_disk_${i}`, arguments: {} } }), code: ErrorCode.InvalidParams };
    case 3:
      return { body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'run_tests', arguments: { command: i, extra: true } } }), code: ErrorCode.InvalidParams };
    default:
      return { body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 42 } }), code: ErrorCode.InvalidParams };
  }
}

describe('1,000 malformed requests', () => {
  it('over Streamable HTTP: each answered with an error, the session and server stay up', async () => {
    const url = h.host.url('code');
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${h.host.endpoint.token}` };
    const started = await fetch(url, { method: 'POST', headers, body: JSON.stringify(initialize) });
    expect(started.status).toBe(200);
    await started.text();
    const session = started.headers.get('mcp-session-id');
    expect(session).toBeTruthy();
    const inSession = { ...headers, 'mcp-session-id': session ?? '', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
    expect((await fetch(url, { method: 'POST', headers: inSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status).toBe(202);

    const send = async (body: string): Promise<{ status: number; message: { id?: unknown; error?: { code: number }; result?: unknown } | undefined }> => {
      const response = await fetch(url, { method: 'POST', headers: inSession, body });
      const raw = await response.text();
      // An SSE stream carries the JSON-RPC message on its data line; an error status carries plain JSON.
      const data = raw.split('\n').find((line) => line.startsWith('data: ') && line.length > 6);
      const json = data ? data.slice(6) : raw;
      return { status: response.status, message: json.trim() ? (JSON.parse(json) as never) : undefined };
    };
    const runsBefore = h.ran.length;
    const codes = new Map<number, number>();
    // Eight in flight at a time, a fixed count in all.
    for (let start = 0; start < total; start += 8) {
      const batch = Array.from({ length: Math.min(8, total - start) }, (_, offset) => start + offset);
      const answers = await Promise.all(batch.map(async (i) => ({ i, expected: bad(i).code, answer: await send(bad(i).body) })));
      for (const { i, expected, answer } of answers) {
        const code = answer.message?.error?.code;
        expect(code, `request ${i}`).toBeDefined();
        if (expected !== undefined) expect(code, `request ${i}`).toBe(expected);
        else expect(answer.status).toBe(400);
        codes.set(code ?? 0, (codes.get(code ?? 0) ?? 0) + 1);
      }
    }
    expect([...codes.values()].reduce((sum, count) => sum + count, 0)).toBe(total);
    expect(h.ran.length).toBe(runsBefore);
    const listed = await send(JSON.stringify({ jsonrpc: '2.0', id: 'final', method: 'tools/list' }));
    expect(listed.message).toMatchObject({ id: 'final', result: { tools: expect.arrayContaining([expect.objectContaining({ name: 'run_tests' })]) } });
  }, 120_000);

  it('over stdio (sophia-mcp code): each answered with an error or skipped, and the server still answers', async () => {
    const child = spawn(process.execPath, ['test/support/runTs.ts', 'electron/mcp/mcpCli.ts', 'code'], {
      cwd: repo,
      env: { PATH: process.env['PATH'] ?? '', SOPHIA_MCP_ENDPOINT: path.join(h.dataDir, mcpEndpointFileName), SOPHIA_LOG_LEVEL: 'error' },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    try {
      const answers = new Map<unknown, { error?: { code: number }; result?: unknown }>();
      let waiting: { id: unknown; resolve: () => void } | undefined;
      createInterface({ input: child.stdout }).on('line', (line) => {
        const message = JSON.parse(line) as { id?: unknown; error?: { code: number }; result?: unknown };
        answers.set(message.id, message);
        if (waiting && answers.has(waiting.id)) waiting.resolve();
      });
      const answered = (id: unknown): Promise<void> =>
        answers.has(id) ? Promise.resolve() : new Promise((resolve) => (waiting = { id, resolve }));
      const write = (body: string): void => {
        child.stdin.write(`${body}\n`);
      };
      write(JSON.stringify(initialize));
      await answered(0);
      write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      const runsBefore = h.ran.length;
      for (let i = 1; i <= total; i++) write(bad(i).body);
      // Requests are answered in any order; the last good one is sent after all the bad ones.
      write(JSON.stringify({ jsonrpc: '2.0', id: 'final', method: 'tools/list' }));
      const expected = Array.from({ length: total }, (_, index) => index + 1).filter((i) => bad(i).code !== undefined);
      for (const id of [...expected, 'final']) await answered(id);
      for (const i of expected) expect(answers.get(i)?.error?.code, `request ${i}`).toBe(bad(i).code);
      expect(answers.get('final')).toMatchObject({ result: { tools: expect.arrayContaining([expect.objectContaining({ name: 'review_code' })]) } });
      expect(h.ran.length).toBe(runsBefore);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill();
    }
  }, 120_000);
});
