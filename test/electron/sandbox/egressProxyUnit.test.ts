/**
 * The egress proxy without Docker: a client on its Unix socket, as the in-container
 * forwarder would be. Grants are parsed strictly, addresses are judged after resolution
 * (a granted name that resolves to a private or metadata address is refused: DNS
 * rebinding), only CONNECT and absolute http:// requests pass, and closing removes
 * everything.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditInput } from '../../../electron/audit/auditLog';
import { EgressProxies, EgressProxy, forbiddenAddress, parseGrant, type Resolver } from '../../../electron/sandbox/egressProxy';
import { cutAll, StreamCutter } from '../../../electron/sandbox/outputRedaction';
import { secretEncodings } from '../../../electron/keychain/redactor';

let http: Server;
let port: number;
beforeAll(async () => {
  http = createServer((request, response) => response.end(`hello ${request.method} ${request.url} ${request.headers['proxy-authorization'] ?? 'no-proxy-auth'} ${request.headers.connection}`));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as net.AddressInfo).port;
});
afterAll(() => new Promise((resolve) => http.close(resolve)));

function ask(proxy: EgressProxy, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.socketPath, () => socket.write(text));
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

async function open(grants: string[], resolve?: Resolver): Promise<{ proxy: EgressProxy; audit: AuditInput[] }> {
  const audit: AuditInput[] = [];
  const proxy = await EgressProxy.open({ grants: grants.map(parseGrant), audit: { record: (entry) => void audit.push(entry) }, runId: 'run-test', ...(resolve ? { resolve } : {}) });
  return { proxy, audit };
}

describe('grants and addresses', () => {
  it('parses host:port strictly', () => {
    expect(parseGrant('API.Notion.com.:443')).toEqual({ host: 'api.notion.com', port: 443 });
    expect(parseGrant('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    for (const bad of ['api.notion.com', 'api.notion.com:0', 'api.notion.com:70000', 'http://x:1', 'a b:1', '-bad-.com:443', 'x:443/path', '*.notion.com:443']) {
      expect(() => parseGrant(bad), bad).toThrow();
    }
  });

  it('knows the private, loopback, link-local, CGNAT, ULA, multicast and metadata ranges, also IPv4-mapped', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', 'fd00:ec2::254', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:a9fe:a9fe', '::']) {
      expect(forbiddenAddress(address), address).toBeDefined();
    }
    for (const address of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(forbiddenAddress(address), address).toBeUndefined();
  });
});

describe('the proxy on its socket', () => {
  it('forwards an absolute-form plain-HTTP request to a granted literal address, without proxy headers, one request per connection', async () => {
    const { proxy, audit } = await open([`127.0.0.1:${port}`]);
    const answer = await ask(proxy, `GET http://127.0.0.1:${port}/pages?cursor=2 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nProxy-Authorization: Basic abc\r\nConnection: keep-alive\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('hello GET /pages?cursor=2 no-proxy-auth close');
    await proxy.close();
    expect(audit.map((entry) => (entry.data as { event: string }).event)).toEqual(['open', 'close']);
    expect(audit[1]?.data).toMatchObject({ host: '127.0.0.1', port, address: '127.0.0.1', decision: 'allowed' });
    expect(JSON.stringify(audit)).not.toContain('cursor=2');
  });

  it('refuses what is not granted, other methods in origin form, https:// in plain form, and a name that resolves to a private or metadata address', async () => {
    const rebinding: Resolver = async (host) => (host === 'metadata.example' ? ['169.254.169.254'] : host === 'mapped.example' ? ['::ffff:10.0.0.1'] : ['10.0.0.7']);
    const { proxy, audit } = await open([`127.0.0.1:${port}`, 'metadata.example:80', 'mapped.example:443', 'internal.example:443'], rebinding);
    const cases: Array<[string, RegExp]> = [
      [`GET http://127.0.0.1:${port + 1}/ HTTP/1.1\r\n\r\n`, /403[\s\S]*is not in this run's egress grant/],
      [`CONNECT evil.example:443 HTTP/1.1\r\n\r\n`, /403[\s\S]*evil\.example:443 is not in this run's egress grant/],
      [`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, /400[\s\S]*must name its URL in full/],
      [`GET https://127.0.0.1:${port}/ HTTP/1.1\r\n\r\n`, /400[\s\S]*goes through CONNECT/],
      [`GET http://metadata.example/latest/meta-data HTTP/1.1\r\n\r\n`, /403[\s\S]*metadata\.example resolves to 169\.254\.169\.254/],
      [`CONNECT mapped.example:443 HTTP/1.1\r\n\r\n`, /403[\s\S]*resolves to ::ffff:10\.0\.0\.1/],
      [`CONNECT internal.example:443 HTTP/1.1\r\n\r\n`, /403[\s\S]*private, loopback, link-local or reserved/],
      [`SSH-2.0-OpenSSH\r\n\r\n`, /400[\s\S]*not an HTTP\/1\.x proxy request/],
    ];
    for (const [request, expected] of cases) expect(await ask(proxy, request), request).toMatch(expected);
    expect(audit.filter((entry) => (entry.data as { decision: string }).decision === 'refused')).toHaveLength(cases.length);
    expect(audit.every((entry) => entry.kind === 'egress')).toBe(true);
    await proxy.close();
  });

  it('closes every connection it holds, the listener, the socket and its directory', async () => {
    const echo = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const proxies = new EgressProxies();
    const proxy = await proxies.open({ grants: [parseGrant(`127.0.0.1:${echoPort}`)], audit: { record: () => undefined }, runId: 'run-stop' });
    const client = net.connect(proxy.socketPath, () => client.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`));
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    await new Promise<void>((resolve) => client.once('data', () => resolve()));
    expect(proxy.openSockets).toBe(2);
    const items = await proxies.closeAll();
    expect(items).toHaveLength(1);
    await closed;
    expect(proxy.openSockets).toBe(0);
    expect(proxy.listening).toBe(false);
    expect(existsSync(proxy.directory)).toBe(false);
    expect(proxies.size).toBe(0);
    echo.close();
  });
});

describe('cutting secrets out of streamed output', () => {
  const value = 'ntn_abcDEF123456789_secret';
  const redactions = secretEncodings(value).map((text) => ({ text, label: 'NOTION_TOKEN' }));

  it('cuts a value split across chunks at every position, and its encodings', () => {
    const output = `before ${value} middle ${Buffer.from(`user:${value}`).toString('base64')} after ${encodeURIComponent(value)} end`;
    for (let split = 1; split < output.length; split += 3) {
      const cutter = new StreamCutter(redactions);
      const shown = cutter.push(output.slice(0, split)) + cutter.push(output.slice(split)) + cutter.end();
      expect(shown, String(split)).not.toContain(value);
      expect(shown).not.toContain(Buffer.from(value).toString('base64').slice(2, 20));
      expect(shown).toContain('before [redacted:NOTION_TOKEN] middle');
      expect(shown.endsWith(' end')).toBe(true);
    }
    expect(cutAll(`x${value}y`, redactions)).toBe('x[redacted:NOTION_TOKEN]y');
  });
});
