/**
 * Egress and run secrets for one sandboxed run, against the real Docker engine and the real
 * sandbox image: run_command's executor with a granted host:port reaches a loopback server
 * through the host-side proxy (plain HTTP and CONNECT), everything else is refused and
 * audited, the container has no route and no DNS of its own, nothing stays open after the
 * run or after the stop, and a run secret is in the command's environment for that command
 * only and cut from what it prints.
 */
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SophiaError } from '../../../shared/errors';
import type { AuditInput } from '../../../electron/audit/auditLog';
import { EgressProxies } from '../../../electron/sandbox/egressProxy';
import { runCommandExecutor, type CommandGrants } from '../../../electron/tools/commandTools';
import type { ToolContext } from '../../../electron/agent/tools';
import { makeWorkspace, newService } from './support';

const token = 'ntn_S3cr3t-Token-Value-4242-abcdef';
const audit: AuditInput[] = [];
const proxies = new EgressProxies();
const grants: CommandGrants = {
  egress: proxies,
  audit: { record: (entry) => void audit.push(entry) },
  readSecrets: (names) => {
    const values = new Map<string, string>();
    for (const name of names) {
      if (name !== 'NOTION_TOKEN') throw new SophiaError('bad_request', `The run secret ${name} is not set.`);
      values.set(name, token);
    }
    return values;
  },
};
const { service } = newService();
let workspace: { dir: string; remove: () => Promise<void> };
let http: Server;
let httpPort: number;
let echo: net.Server;
let echoPort: number;
const seenAuthorization: string[] = [];

function context(signal = new AbortController().signal): ToolContext & { chunks: string[] } {
  const chunks: string[] = [];
  return { conversationId: 'c-egress', callId: 'call-1', signal, onOutput: (chunk) => void chunks.push(chunk), chunks };
}

const run = runCommandExecutor(service, () => workspace.dir, grants);

beforeAll(async () => {
  workspace = await makeWorkspace();
  http = createServer((request, response) => {
    seenAuthorization.push(request.headers.authorization ?? '');
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ ok: true, path: request.url, proxyHeader: request.headers['proxy-authorization'] ?? null }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpPort = (http.address() as net.AddressInfo).port;
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as net.AddressInfo).port;
  expect((await service.start()).state).toBe('ready');
}, 120_000);

afterAll(async () => {
  await service.close();
  await new Promise((resolve) => http.close(resolve));
  await new Promise((resolve) => echo.close(resolve));
  await workspace.remove();
});

const pythonGet = (url: string): string =>
  `python3 -c "import urllib.request,sys
try:
  print(urllib.request.urlopen('${url}', timeout=10).read().decode())
except Exception as e:
  print('FAILED', getattr(e, 'code', ''), getattr(e, 'read', lambda: b'')().decode() or e)"`;

describe('egress through the proxy', () => {
  it('reaches a granted host:port by plain HTTP and by CONNECT, and refuses the rest; every connection is audited', async () => {
    audit.length = 0;
    const connectScript = `const net=require('net');const s=net.connect(3128,'127.0.0.1',()=>s.write('CONNECT 127.0.0.1:${echoPort} HTTP/1.1\\r\\nHost: 127.0.0.1:${echoPort}\\r\\n\\r\\n'));let b='';let sent=false;s.on('data',d=>{b+=d;if(!sent&&b.includes('\\r\\n\\r\\n')){sent=true;console.log('HEAD',b.split('\\r\\n')[0]);b='';s.write('ping-through-tunnel')}else if(sent&&b.includes('ping-through-tunnel')){console.log('ECHO',b);s.end()}});`;
    const command = [
      pythonGet(`http://127.0.0.1:${httpPort}/v1/search?page=1`),
      `node -e "${connectScript.replace(/"/g, '\\"')}"`,
      pythonGet('http://example.com:80/'),
      pythonGet(`http://127.0.0.1:${httpPort + 1}/`),
    ].join(' ; ');
    const result = await run({ command, egress: [`127.0.0.1:${httpPort}`, `127.0.0.1:${echoPort}`], timeoutSeconds: 60 }, context());
    expect(result.output).toContain('"path":"/v1/search?page=1"');
    expect(result.output).toContain('"proxyHeader":null');
    expect(result.output).toContain('HEAD HTTP/1.1 200 Connection Established');
    expect(result.output).toContain('ECHO ping-through-tunnel');
    expect(result.output).toMatch(/FAILED 403 Sophia's egress proxy refused this connection: example\.com:80 is not in this run's egress grant/);
    expect(result.output).toMatch(new RegExp(`FAILED 403 Sophia's egress proxy refused this connection: 127\\.0\\.0\\.1:${httpPort + 1} is not in this run's egress grant`));
    expect(result.output).toContain('Egress: 2 connection(s) allowed, 2 refused.');
    const egress = audit.filter((entry) => entry.kind === 'egress');
    const data = egress.map((entry) => entry.data as { event: string; host: string; port: number; decision: string; bytesIn: number });
    expect(data.filter((entry) => entry.event === 'refused').map((entry) => `${entry.host}:${entry.port}`).sort()).toEqual(['127.0.0.1:' + String(httpPort + 1), 'example.com:80'].sort());
    const closed = data.filter((entry) => entry.event === 'close');
    expect(closed.map((entry) => entry.port).sort()).toEqual([httpPort, echoPort].sort());
    expect(closed.every((entry) => entry.bytesIn > 0)).toBe(true);
    // Nothing of the run is left: no proxy, no socket directory, no connection.
    expect(proxies.size).toBe(0);
  }, 120_000);

  it('refuses a name that resolves to a private address unless the grant names the address', async () => {
    audit.length = 0;
    const result = await run({ command: pythonGet(`http://localhost:${httpPort}/`), egress: [`localhost:${httpPort}`] }, context());
    expect(result.output).toMatch(/FAILED 403 .*localhost resolves to .*private, loopback, link-local or reserved address/);
    const refused = audit.find((entry) => entry.kind === 'egress' && (entry.data as { event: string }).event === 'refused');
    expect(refused?.summary).toContain(`localhost:${httpPort}`);
  }, 120_000);

  it('gives the container no route and no DNS of its own', async () => {
    const probe = `python3 -c "
import socket
try:
  socket.create_connection(('1.1.1.1', 80), timeout=5); print('RAW connected')
except OSError as e:
  print('RAW', e.errno, e.strerror)
try:
  print('DNS', socket.getaddrinfo('example.com', 443))
except OSError as e:
  print('DNS failed', e)
"`;
    const result = await run({ command: probe, egress: [`127.0.0.1:${httpPort}`] }, context());
    expect(result.output).toMatch(/RAW 101 Network is unreachable/);
    expect(result.output).toMatch(/DNS failed/);
    expect(result.output).not.toContain('RAW connected');
  }, 120_000);

  it('closes the proxy, its connections and its socket directory on the stop, mid-run', async () => {
    const controller = new AbortController();
    const ctx = context(controller.signal);
    // A tunnel held open by the command: the stop must cut it.
    const hold = `node -e "const s=require('net').connect(3128,'127.0.0.1',()=>s.write('CONNECT 127.0.0.1:${echoPort} HTTP/1.1\\r\\n\\r\\n'));s.on('data',d=>console.log('got',String(d).split('\\r\\n')[0]));setTimeout(()=>{},60000)"`;
    const running = run({ command: hold, egress: [`127.0.0.1:${echoPort}`], timeoutSeconds: 120 }, ctx);
    const deadline = Date.now() + 60_000;
    while (!ctx.chunks.join('').includes('got HTTP/1.1 200')) {
      if (Date.now() > deadline) throw new Error(`the tunnel did not open: ${ctx.chunks.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(proxies.size).toBe(1);
    const items = await proxies.closeAll();
    const directory = items[0]?.id;
    await service.killAll();
    controller.abort();
    const result = await running;
    expect(result.ok).toBe(false);
    expect(proxies.size).toBe(0);
    expect(directory).toMatch(/^sophia-egress-/);
    expect(existsSync(`/tmp/${directory}`)).toBe(false);
    service.resume();
  }, 120_000);
});

describe('run secrets', () => {
  it('are in the environment of the one command that names them, cut from its output in every encoding, and absent from the next run', async () => {
    const ctx = context();
    const command =
      'echo "plain=$NOTION_TOKEN"; printf "%s" "$NOTION_TOKEN" | base64 -w0; echo; printf "x:%s" "$NOTION_TOKEN" | base64 -w0; echo; python3 -c "import os,urllib.parse;print(urllib.parse.quote(os.environ[\'NOTION_TOKEN\'], safe=\'\'))"; echo "length=${#NOTION_TOKEN}"';
    const result = await run({ command, secrets: ['NOTION_TOKEN'] }, ctx);
    expect(result.ok).toBe(true);
    expect(result.output).toContain(`length=${token.length}`);
    expect(result.output).toContain('plain=[redacted:NOTION_TOKEN]');
    const streamed = ctx.chunks.join('');
    for (const shown of [result.output, streamed]) {
      expect(shown).not.toContain(token);
      expect(shown).not.toContain(Buffer.from(token).toString('base64').slice(0, 20));
      expect(shown).not.toContain(Buffer.from(`x:${token}`).toString('base64').slice(4, 24));
      expect(shown).not.toContain(encodeURIComponent(token));
    }
    const next = await run({ command: 'echo "next=[${NOTION_TOKEN:-unset}]"; cat /proc/1/environ 2>/dev/null | tr "\\0" "\\n" | grep -c NOTION || true' }, context());
    expect(next.output).toContain('next=[unset]');
  }, 120_000);

  it('refuses a secret that is not set before anything runs', async () => {
    const result = await run({ command: 'echo should-not-run', secrets: ['MISSING_ONE'] }, context());
    expect(result.ok).toBe(false);
    expect(result.output).toContain('MISSING_ONE');
    expect(result.output).toContain('Nothing was run');
    expect(result.output).not.toContain('should-not-run');
  }, 60_000);
});
