/**
 * Sophia's MCP servers over Streamable HTTP, inside the running app: `/mcp/code` and
 * `/mcp/infra` on 127.0.0.1 only, each request carrying `Authorization: Bearer <token>`
 * (a random token per start). Browsers are refused outright (any `Origin` header, any Host
 * that is not the loopback address), so a web page cannot drive the tools. Each client
 * session gets its own MCP server instance over the one registry; sessions are bounded.
 *
 * The address and token go to `mcp-endpoint.json` in the data folder (owner-only), where the
 * stdio bridge (`sophia-mcp code`) finds them.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { onDemand } from '../core/onDemand';
import { createLogger } from '../log';
import type { McpServerDeps } from './mcpServer';
import { mcpServerKinds, type McpServerKind } from './mcpTools';

const log = createLogger('mcpHttpHost');

// The endpoint listens from the start, but the MCP SDK's server side loads with the first
// client session: most launches never see one.
const serverSdk = onDemand('@modelcontextprotocol/sdk server', async () => {
  const [{ createMcpServer }, { StreamableHTTPServerTransport }] = await Promise.all([
    import('./mcpServer'),
    import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
  ]);
  return { createMcpServer, StreamableHTTPServerTransport };
});

export const mcpEndpointFileName = 'mcp-endpoint.json';

export interface McpEndpoint {
  /** `http://127.0.0.1:<port>/mcp/` — append `code` or `infra`. */
  readonly baseUrl: string;
  readonly token: string;
  readonly pid: number;
}

export interface McpHttpHostOptions {
  readonly deps: Omit<McpServerDeps, 'transport'>;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Where `mcp-endpoint.json` is written; none writes no file (tests). */
  readonly dataDir?: string;
  readonly maxSessions?: number;
  readonly maxRequestBytes?: number;
}

export interface McpHttpHost {
  readonly endpoint: McpEndpoint;
  url(kind: McpServerKind): string;
  sessions(): number;
  close(): Promise<void>;
}

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
}

function reply(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

export async function startMcpHttpHost(options: McpHttpHostOptions): Promise<McpHttpHost> {
  const token = randomBytes(32).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const maxSessions = options.maxSessions ?? 32;
  const sessions = new Map<string, Session>();
  let port = 0;

  const authorized = (req: IncomingMessage): boolean => {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // No browser: an Origin header means a page is asking, and a foreign Host means DNS rebinding.
    if (req.headers.origin !== undefined) return reply(res, 403, 'Browsers may not call Sophia\'s MCP servers.');
    if (req.headers.host !== `127.0.0.1:${port}` && req.headers.host !== `localhost:${port}`) return reply(res, 403, 'Wrong host.');
    if (!authorized(req)) return reply(res, 401, 'A valid bearer token is required.');
    const match = /^\/mcp\/([a-z]+)\/?$/.exec(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const kind = mcpServerKinds.find((candidate) => candidate === match?.[1]);
    if (!kind) return reply(res, 404, 'Not found: use /mcp/code or /mcp/infra.');

    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    if (sessionId !== undefined) {
      const session = sessions.get(`${kind}:${sessionId}`);
      if (!session) return reply(res, 404, 'Unknown or closed session.');
      await session.transport.handleRequest(req, res);
      return;
    }
    const { createMcpServer, StreamableHTTPServerTransport } = await serverSdk();
    if (sessions.size >= maxSessions) return reply(res, 503, 'Too many MCP sessions; close one first.');
    // A new session: the transport itself refuses anything but an initialize request.
    const server = createMcpServer(kind, { ...options.deps, transport: 'http' });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: options.maxRequestBytes ?? 4 * 1024 * 1024,
      onsessioninitialized: (id) => {
        sessions.set(`${kind}:${id}`, { transport, server });
      },
      onsessionclosed: (id) => {
        sessions.delete(`${kind}:${id}`);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(`${kind}:${transport.sessionId}`);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
    if (transport.sessionId === undefined) await server.close();
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error('MCP HTTP request failed', { error });
      reply(res, 500, 'Internal error.');
    });
  });
  http.headersTimeout = 10_000;
  http.requestTimeout = 0; // an approval may take minutes; SSE streams stay open
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  const endpoint: McpEndpoint = { baseUrl: `http://127.0.0.1:${port}/mcp/`, token, pid: process.pid };

  let endpointFile: string | undefined;
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    endpointFile = path.join(options.dataDir, mcpEndpointFileName);
    const temporary = `${endpointFile}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(endpoint), { mode: 0o600 });
    renameSync(temporary, endpointFile);
  }
  log.info('MCP servers listening', { baseUrl: endpoint.baseUrl });

  return {
    endpoint,
    url: (kind) => `${endpoint.baseUrl}${kind}`,
    sessions: () => sessions.size,
    close: async () => {
      if (endpointFile) rmSync(endpointFile, { force: true });
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map(async (session) => session.server.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
