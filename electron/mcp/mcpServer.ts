/**
 * One MCP server (`code` or `infra`) over Sophia's tool registry, for any transport. Each
 * call is a `ToolRegistry.invoke` with the MCP client's name in the call context, so the
 * approval gate holds a state-changing call until the person answers in the Sophia window,
 * and the audit log says which client asked. With no window to answer, a call that is not
 * read-only is refused at once (fail closed) rather than left to time out.
 *
 * Protocol errors: an unknown tool and arguments that do not match the schema are JSON-RPC
 * errors (-32602); a refused or failed call is a tool result with `isError`.
 */
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  McpError,
  SetLevelRequestSchema,
  type CallToolResult,
  type LoggingLevel,
  type ServerNotification,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ToolRegistry } from '../agent/tools';
import type { AuditSink } from '../audit/auditLog';
import type { StopController } from '../core/stopController';
import { createLogger } from '../log';
import { appVersion } from '../core/version';
import { annotationsFor, inMcpTerms, inputJsonSchema, mcpServerNames, mcpToolSpecs, specRisk, type McpServerKind } from './mcpTools';

const log = createLogger('mcpServer');

export const lenientToolCall = z.object({ method: z.literal('tools/call'), params: z.unknown().optional() });

export interface McpServerDeps {
  readonly registry: ToolRegistry;
  readonly audit: AuditSink;
  /** Whether a person can answer an approval now (a Sophia window or browser tab is connected). */
  readonly approverPresent: () => boolean;
  /** The emergency stop aborts every call in flight. */
  readonly stop?: Pick<StopController, 'observe'>;
  /** For the audit trail. */
  readonly transport: 'stdio' | 'http';
}

const maxClientName = 40;

/** The client's self-reported name, reduced to what fits an id: `mcp-claude-code`. */
export function clientConversationId(clientName: string | undefined): string {
  const cleaned = (clientName ?? 'unknown').toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, maxClientName);
  return `mcp-${cleaned || 'unknown'}`;
}

const severity = (level: LoggingLevel): number => LoggingLevelSchema.options.indexOf(level);

export function createMcpServer(kind: McpServerKind, deps: McpServerDeps): Server {
  const server = new Server(
    { name: mcpServerNames[kind], version: appVersion },
    {
      // logging: the client sets a level (logging/setLevel) and gets each call's progress
      // (waiting for approval, refused, done) as notifications/message at or above it.
      capabilities: { tools: { listChanged: false }, logging: {} },
      instructions:
        kind === 'code'
          ? 'Sophia code management: review, edit, search and test the workspace open in Sophia, commit and open pull requests. Every change is approved by the person in the Sophia window first.'
          : 'Sophia infrastructure management: preview and deploy Pulumi stacks, stack history, Snowflake. Every change is approved by the person in the Sophia window first.',
    },
  );
  const clientName = (): string => (server.getClientVersion()?.name ?? 'unknown').slice(0, 80);

  // One server instance serves one client session, so one level. Until the client sets one,
  // info and above are sent (the SDK's own handler would send everything, debug included).
  let minimum: LoggingLevel = 'info';
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    minimum = request.params.level;
    return {};
  });
  /** A log message about the call in progress, on that call's own response stream. */
  const logFor =
    (sendNotification: (notification: ServerNotification) => Promise<void>) =>
    (level: LoggingLevel, text: string): void => {
      if (severity(level) < severity(minimum)) return;
      sendNotification({ method: 'notifications/message', params: { level, logger: mcpServerNames[kind], data: text } }).catch((error: unknown) =>
        log.warn('MCP log message not delivered', { error }),
      );
    };

  server.setRequestHandler(ListToolsRequestSchema, () => {
    const definitions = deps.registry.definitions();
    const tools: Tool[] = mcpToolSpecs(kind, deps.registry).map((spec) => ({
      name: spec.name,
      title: spec.title,
      description: inMcpTerms(kind, spec.description),
      inputSchema: inputJsonSchema(spec.input, kind),
      annotations: annotationsFor(spec, specRisk(spec, definitions)),
    }));
    return { tools };
  });

  // A lenient schema here, so the SDK's own tools/call check answers a malformed call with
  // -32602 (Invalid params) rather than -32603; the handler then reads the checked params.
  server.setRequestHandler(lenientToolCall, async (raw, extra): Promise<CallToolResult> => {
    const request = CallToolRequestSchema.parse(raw);
    const name = request.params.name;
    const spec = mcpToolSpecs(kind, deps.registry).find((candidate) => candidate.name === name);
    if (!spec) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name.slice(0, 80)}`);
    const parsed = spec.input.safeParse(request.params.arguments ?? {});
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
      throw new McpError(ErrorCode.InvalidParams, `Arguments for ${name} do not match its schema: ${issues.join('; ')}`);
    }
    const client = clientName();
    const conversationId = clientConversationId(client);
    const risk = specRisk(spec, deps.registry.definitions());
    const logMessage = logFor(extra.sendNotification);
    logMessage('debug', `${name} called (${risk} risk)`);
    const callId = `mcp-${randomUUID()}`;
    deps.audit.record({
      kind: 'request',
      conversationId,
      risk,
      actor: `mcp:${client}`.slice(0, 200),
      summary: `MCP ${mcpServerNames[kind]}.${name} called by ${client} over ${deps.transport}`,
      data: { server: mcpServerNames[kind], tool: name, client, transport: deps.transport, callId, arguments: parsed.data },
    });
    if (risk !== 'read-only' && !deps.approverPresent()) {
      deps.audit.record({
        kind: 'refusal',
        conversationId,
        risk,
        actor: 'no-approver',
        summary: `MCP ${name} refused: no Sophia window is open to approve it`,
        data: { tool: name, client, callId },
      });
      logMessage('warning', `${name} refused: no Sophia window is open to approve it`);
      return { content: [{ type: 'text', text: `${name} was refused: it needs the person's approval, and no Sophia window is open. Open Sophia and call it again.` }], isError: true };
    }

    const controller = new AbortController();
    const unobserve = deps.stop?.observe((transition) => {
      if (transition.type === 'stopped') controller.abort();
    });
    const signal = AbortSignal.any([controller.signal, extra.signal]);
    let step = 0;
    if (risk !== 'read-only') logMessage('info', `${name} may need the person's approval: it waits until they answer in the Sophia window`);
    try {
      const result = await spec.run(parsed.data, (tool, args) =>
        deps.registry.invoke(tool, args, { conversationId, callId: `${callId}-${step++}`, signal, client: `mcp:${client}` }),
      );
      // Infrastructure outputs name the next step ("pulumi_up with this planId"): said as this server's tools.
      const text = kind === 'infra' ? inMcpTerms(kind, result.text) : result.text;
      logMessage(result.isError ? 'warning' : 'info', result.isError ? `${name} did not succeed: ${text.split('\n', 1)[0]?.slice(0, 300) ?? ''}` : `${name} finished`);
      return { content: [{ type: 'text', text }], isError: result.isError };
    } catch (error) {
      log.error('MCP tool call failed', { tool: name, client, error });
      logMessage('error', `${name} failed inside Sophia`);
      throw new McpError(ErrorCode.InternalError, `${name} failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 2000));
    } finally {
      unobserve?.();
    }
  });

  server.onerror = (error) => log.warn('MCP protocol error', { server: kind, error });
  return server;
}
