import http from 'node:http';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../../../shared/errors';
import { connect, startHost } from '../../support/hostFixture';
import type { BrowserHost } from '../../../electron/host/browserHost';
import type { SophiaCore } from '../../../electron/app/sophiaCore';

let host: BrowserHost;
let core: SophiaCore;
let rendererRoot: string;

beforeAll(async () => {
  // A renderer directory of our own, so these tests do not depend on a build.
  rendererRoot = await mkdtemp(path.join(os.tmpdir(), 'sophia-renderer-'));
  await mkdir(path.join(rendererRoot, 'assets'));
  await writeFile(path.join(rendererRoot, 'index.html'), '<!doctype html><title>Sophia</title>');
  await writeFile(path.join(rendererRoot, 'assets', 'app.js'), 'export {};');
  await writeFile(path.join(path.dirname(rendererRoot), 'sophia-secret.txt'), 'outside');
  ({ core, host } = await startHost(rendererRoot));
});

afterAll(async () => {
  await host.close();
});

function get(urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: host.port, path: urlPath, headers: { Host: `127.0.0.1:${host.port}`, ...headers } },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

describe('browser host: HTTP', () => {
  it('listens on loopback only and hides the token in the URL fragment', () => {
    expect(host.origin).toBe(`http://127.0.0.1:${host.port}`);
    expect(host.url).toBe(`${host.origin}/#token=${host.token}`);
    expect(host.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves the renderer with a strict CSP', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.body).toContain('<title>Sophia</title>');
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${host.port}`);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves nothing outside the renderer directory', async () => {
    for (const attempt of ['/../sophia-secret.txt', '/..%2fsophia-secret.txt', '/assets/..%2f..%2fsophia-secret.txt', '/%00', '/%E0%A4%A']) {
      const response = await get(attempt);
      expect(response.status, attempt).toBe(404);
      expect(response.body).not.toContain('outside');
    }
    expect((await get('/assets/app.js')).status).toBe(200);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect((await get('/', { Host: 'attacker.example:80' })).status).toBe(403);
  });
});

describe('browser host: WebSocket guard', () => {
  it('accepts the right token from its own origin', async () => {
    const socket = await connect(host);
    const response = await socket.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'app.status', input: {} }));
    expect(response.result.ok).toBe(true);
    await socket.close();
  });

  it('refuses a missing token', async () => {
    await expect(connect(host, { token: null })).rejects.toThrow('HTTP 401');
  });

  it('refuses a wrong token, including one of the right length', async () => {
    await expect(connect(host, { token: 'nope' })).rejects.toThrow('HTTP 401');
    const flipped = (host.token[0] === 'a' ? 'b' : 'a') + host.token.slice(1);
    await expect(connect(host, { token: flipped })).rejects.toThrow('HTTP 401');
  });

  it('refuses a foreign or missing Origin even with the right token', async () => {
    await expect(connect(host, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(host, { origin: `http://127.0.0.1:${host.port + 1}` })).rejects.toThrow('HTTP 403');
    await expect(connect(host, { origin: 'null' })).rejects.toThrow('HTTP 403');
    await expect(connect(host, { origin: null })).rejects.toThrow('HTTP 403');
  });
});

/** A small deterministic PRNG, so a failing payload can be reproduced. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function malformedPayloads(count: number): (string | Buffer)[] {
  const random = prng(20261124);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const huge = (n: number): string => 'x'.repeat(n);
  const weird: unknown[] = [null, true, 0, -1, 1.5, 'text', [], {}, [1, 2], { a: { b: {} } }, huge(200_000)];
  const makers: ((i: number) => string | Buffer)[] = [
    () => 'not json at all {',
    () => '',
    () => Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    () => JSON.stringify(pick(weird)),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: pick(['nope', '', '__proto__', 'constructor', 'toString', 'chat.sendx', huge(150)]), input: {} }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: huge(10_000), input: {} }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'chat.send', input: pick(weird) }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'chat.send', input: { text: pick([123, null, '', '   ', [], {}]) } }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'chat.send', input: { text: huge(100_001) } }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'chat.send', input: { text: 'hi', conversationId: pick(['../../etc', huge(65), '', 5, 'a b']) } }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'chat.send', input: { text: 'hi', extra: true } }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'conversation.open', input: { conversationId: 'does-not-exist' } }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'app.status', input: { unexpected: 1 } }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'stop.all' }),
    (i) => JSON.stringify({ kind: 'request', id: String(i), channel: 'app.status', input: {} }),
    () => JSON.stringify({ kind: 'request', id: -5, channel: 'app.status', input: {} }),
    () => JSON.stringify({ kind: 'request', channel: 'app.status', input: {} }),
    (i) => JSON.stringify({ kind: 'response', id: i, channel: 'app.status', input: {} }),
    (i) => JSON.stringify({ id: i, channel: 'app.status', input: {} }),
    (i) => JSON.stringify({ kind: 'request', id: i, channel: 'app.status', input: {}, smuggled: 'x' }),
    (i) => `{"kind":"request","id":${i},"channel":"chat.send","input":{"text":"${huge(1_000_000)}"}}`,
    () => '['.repeat(5_000) + ']'.repeat(5_000),
    (i) => `{"kind":"request","id":${i},"channel":"chat.send","input":{"__proto__":{"text":"polluted"}}}`,
  ];
  return Array.from({ length: count }, (_, i) => pick(makers)(i + 1));
}

describe('browser host: 1,000 malformed payloads', () => {
  it('answers every one with a typed error and stays up', async () => {
    const payloads = malformedPayloads(1000);
    const socket = await connect(host);
    const codes = new Map<string, number>();
    for (const payload of payloads) {
      const response = await socket.exchange(payload);
      expect(response.result.ok, String(payload).slice(0, 120)).toBe(false);
      if (response.result.ok) continue;
      expect(errorCodes).toContain(response.result.error.code);
      expect(response.result.error.code).not.toBe('internal');
      // No echo of the payload: errors stay small whatever was sent.
      expect(JSON.stringify(response.result.error).length).toBeLessThan(2_000);
      codes.set(response.result.error.code, (codes.get(response.result.error.code) ?? 0) + 1);
    }
    expect(socket.strayResponses).toHaveLength(0);
    // Every kind of rejection was exercised.
    expect([...codes.keys()].sort()).toEqual(['bad_frame', 'bad_request', 'unknown_channel']);
    // The same connection, and a new one, still work.
    const status = await socket.exchange(JSON.stringify({ kind: 'request', id: 5000, channel: 'app.status', input: {} }));
    expect(status).toMatchObject({ id: 5000, result: { ok: true } });
    await socket.close();
    const fresh = await connect(host);
    const sent = await fresh.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'chat.send', input: { text: 'still here' } }));
    expect(sent.result.ok).toBe(true);
    await fresh.close();
  });

  it('keeps the id of a readable frame so the client can match the error', async () => {
    const socket = await connect(host);
    const response = await socket.exchange(JSON.stringify({ kind: 'request', id: 77, channel: 'nope', input: {} }));
    expect(response).toMatchObject({ id: 77, result: { ok: false, error: { code: 'unknown_channel' } } });
    const unreadable = await socket.exchange('}{');
    expect(unreadable).toMatchObject({ id: null, result: { ok: false, error: { code: 'bad_frame' } } });
    await socket.close();
  });

  it('closes a connection that sends a frame over the size limit, and only that one', async () => {
    const socket = await connect(host);
    const closed = new Promise<number>((resolve) => socket.ws.once('close', (code) => resolve(code)));
    socket.ws.send('x'.repeat(5 * 1024 * 1024));
    expect(await closed).toBe(1009);
    const other = await connect(host);
    expect((await other.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'app.status', input: {} }))).result.ok).toBe(true);
    await other.close();
  });
});

describe('browser host: events', () => {
  it('pushes contract events to every connected client', async () => {
    const a = await connect(host);
    const b = await connect(host);
    const sent = await a.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'chat.send', input: { text: 'hello **world**' } }));
    expect(sent.result.ok).toBe(true);
    await expect.poll(() => b.events.some((frame) => frame.event.type === 'chat.message')).toBe(true);
    expect(b.events.find((frame) => frame.event.type === 'chat.message')?.event).toMatchObject({
      type: 'chat.message',
      message: { role: 'user', text: 'hello **world**' },
    });
    await a.close();
    await b.close();
  });

  it('reports the stop to every client and refuses chat until resumed', async () => {
    const socket = await connect(host);
    const stop = await socket.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'stop.all', input: {} }));
    expect(stop.result.ok).toBe(true);
    await expect.poll(() => socket.events.some((frame) => frame.event.type === 'stop')).toBe(true);
    expect(core.stop.locked).toBe(true);
    const refused = await socket.exchange(JSON.stringify({ kind: 'request', id: 2, channel: 'chat.send', input: { text: 'go' } }));
    expect(refused.result).toMatchObject({ ok: false, error: { code: 'stopped' } });
    const resumed = await socket.exchange(JSON.stringify({ kind: 'request', id: 3, channel: 'stop.resume', input: {} }));
    expect(resumed.result).toEqual({ ok: true, value: { locked: false } });
    const accepted = await socket.exchange(JSON.stringify({ kind: 'request', id: 4, channel: 'chat.send', input: { text: 'go' } }));
    expect(accepted.result.ok).toBe(true);
    await socket.close();
  });
});
