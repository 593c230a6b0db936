/**
 * `sophia-mcp code` / `sophia-mcp infra`: an MCP server over stdio that an outside client
 * (Claude Desktop, Claude Code, ...) starts. It holds no tools of its own: it forwards each
 * request to the running Sophia app's Streamable HTTP endpoint (address and token from
 * `mcp-endpoint.json` in Sophia's data folder), so every call meets the app's approval gate
 * and the person answers in the Sophia window. When Sophia is not running, every request is
 * refused with an error saying so. The outside client's name is passed on for the audit log.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  SetLevelRequestSchema,
  type CallToolRequest,
  type LoggingLevel,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { defaultDataDir } from '../core/dataDir';
import { appVersion } from '../core/version';
import { createLogger } from '../log';
import { mcpEndpointFileName, type McpEndpoint } from './mcpHttpHost';
import { lenientToolCall } from './mcpServer';
import { mcpServerNames, type McpServerKind } from './mcpTools';

const log = createLogger('mcpStdioBridge');

const endpointSchema = z.object({ baseUrl: z.url({ protocol: /^http$/ }).refine((url) => new URL(url).hostname === '127.0.0.1', 'loopback only'), token: z.string().min(16).max(200), pid: z.number().int() });

/** Long enough for a person to read an approval card; the app's own approval timeout ends it sooner. */
const callTimeoutMs = 60 * 60 * 1000;

/** Where the app may have written its endpoint: `SOPHIA_MCP_ENDPOINT`, the data folder, Electron's userData on Linux. */
export function endpointCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const explicit = env['SOPHIA_MCP_ENDPOINT'];
  if (explicit) return [path.resolve(explicit)];
  const candidates = [path.join(defaultDataDir(), mcpEndpointFileName)];
  if (process.platform === 'linux' && !env['SOPHIA_DATA_DIR']) {
    const config = env['XDG_CONFIG_HOME'] ?? path.join(os.homedir(), '.config');
    candidates.push(path.join(config, 'sophia', mcpEndpointFileName), path.join(config, 'Sophia', mcpEndpointFileName));
  }
  return candidates;
}

export function readEndpoint(candidates: readonly string[]): McpEndpoint | undefined {
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      return endpointSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      log.warn('MCP endpoint file unreadable', { file, error });
    }
  }
  return undefined;
}

export interface BridgeOptions {
  readonly kind: McpServerKind;
  readonly endpointFiles?: readonly string[];
}

export function createStdioBridge(options: BridgeOptions): Server {
  const server = new Server({ name: mcpServerNames[options.kind], version: appVersion }, { capabilities: { tools: {}, logging: {} } });
  let upstream: Promise<Client> | undefined;
  /** The level the outside client asked for, passed on to the app's server (which filters). */
  let level: LoggingLevel | undefined;

  const connect = async (): Promise<Client> => {
    const endpoint = readEndpoint(options.endpointFiles ?? endpointCandidates());
    if (!endpoint) throw new McpError(ErrorCode.InternalError, 'Sophia is not running: start the Sophia app, then try again. Its approval window is where these calls are approved.');
    const outside = server.getClientVersion();
    const client = new Client({ name: (outside?.name ?? 'unknown').slice(0, 80), version: (outside?.version ?? '0').slice(0, 40) });
    const transport = new StreamableHTTPClientTransport(new URL(`${endpoint.baseUrl}${options.kind}`), {
      requestInit: { headers: { authorization: `Bearer ${endpoint.token}` } },
    });
    try {
      await client.connect(transport);
    } catch (error) {
      log.warn('cannot reach Sophia', { error });
      throw new McpError(ErrorCode.InternalError, 'Sophia is not reachable: start the Sophia app, then try again.');
    }
    client.onclose = () => {
      upstream = undefined;
    };
    // The app's log messages about a call go on to the outside client as they are.
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) =>
      server.notification({ method: 'notifications/message', params: notification.params }).catch((error: unknown) => log.warn('MCP log message not passed on', { error })),
    );
    if (level) await client.setLoggingLevel(level);
    return client;
  };
  const client = async (): Promise<Client> => {
    upstream ??= connect().catch((error: unknown) => {
      upstream = undefined;
      throw error;
    });
    return upstream;
  };
  /** An upstream protocol error passes through as it is; a broken connection is dropped and reported. */
  const forward = async <T>(call: (client: Client) => Promise<T>): Promise<T> => {
    const connected = await client();
    try {
      return await call(connected);
    } catch (error) {
      if (error instanceof McpError && error.code !== (ErrorCode.ConnectionClosed as number)) throw error;
      upstream = undefined;
      void connected.close().catch(() => undefined);
      throw new McpError(ErrorCode.InternalError, `Lost the connection to Sophia: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500));
    }
  };

  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    level = request.params.level;
    await forward((connected) => connected.setLoggingLevel(request.params.level));
    return {};
  });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => forward((connected) => connected.listTools(request.params)));
  // Passed on unchecked: Sophia's server is the one that judges the call (and answers -32602).
  server.setRequestHandler(lenientToolCall, async (request, extra) =>
    forward(async (connected) => connected.request({ method: 'tools/call', params: request.params as CallToolRequest['params'] }, CallToolResultSchema, { timeout: callTimeoutMs, signal: extra.signal })),
  );
  server.onclose = () => {
    void upstream?.then((connected) => connected.close()).catch(() => undefined);
  };
  server.onerror = (error) => log.warn('MCP protocol error on stdio', { error });
  return server;
}

export async function runStdioBridge(kind: McpServerKind): Promise<void> {
  const server = createStdioBridge({ kind });
  await server.connect(new StdioServerTransport());
}
