/**
 * Sophia as an MCP host: the outside servers the person lists in Settings, their tools
 * registered in the agent's registry as `mcp_<server>_<tool>` behind the same approval gate.
 *
 * What an outside server says of itself is an untrusted hint: annotations may raise a tool's
 * risk, never lower it (shared/mcp.ts), so every outside tool asks before it runs until the
 * person pins it for the workspace, which is offered only up to medium risk. A pin holds the
 * hash of the tool's definition (name, description, input schema, annotations); a listing
 * with another hash lapses the pin, and the next approval card shows what changed.
 *
 * A stdio server is started with only the environment variables the person listed (plus the
 * SDK's PATH, HOME, USER, SHELL, TERM, LOGNAME): never the app's credentials.
 */
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { createTwoFilesPatch } from 'diff';
import { z } from 'zod';
import type { AppSettings, RiskLevel } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { outsideToolRisk, pinnable, type McpPin, type OutsideMcpServer } from '../../shared/mcp';
import type { GateDecision, ToolCallRequest, ToolDefinition, ToolGate, ToolRegistry } from '../agent/tools';
import type { AuditSink } from '../audit/auditLog';
import { appVersion } from '../core/version';
import { createLogger } from '../log';

const log = createLogger('outsideServers');

const connectTimeoutMs = 15_000;
const callTimeoutMs = 10 * 60_000;
const maxToolsPerServer = 100;
const maxOutput = 100_000;

export interface OutsideServersOptions {
  readonly registry: ToolRegistry;
  readonly settings: () => Pick<AppSettings, 'mcpServers' | 'mcpPins' | 'workspace'>;
  readonly savePins: (pins: McpPin[]) => void;
  readonly audit: AuditSink;
  /** The environment stdio servers pick their listed variables from. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface OutsideTool {
  readonly server: string;
  readonly remoteName: string;
  readonly registryName: string;
  readonly risk: RiskLevel;
  readonly hash: string;
  /** The canonical definition text the hash covers (shown when it changes). */
  readonly definition: string;
}

/** Keys sorted at every level, so the same definition always hashes the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
}

export function definitionText(tool: Pick<Tool, 'name' | 'description' | 'inputSchema' | 'annotations'>): string {
  return JSON.stringify(canonical({ name: tool.name, description: tool.description ?? '', inputSchema: tool.inputSchema, annotations: tool.annotations ?? {} }), null, 2);
}

export function definitionHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function registryNameOf(server: string, tool: string): string {
  return `mcp_${server}_${tool.toLowerCase().replace(/[^a-z0-9_]+/g, '_')}`.slice(0, 64);
}

function inputOf(schema: Tool['inputSchema']): z.ZodType {
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (error) {
    // The outside server checks its own input; the model still gets its schema in the description.
    log.warn('outside input schema not convertible; passing arguments through', { error });
    return z.looseObject({});
  }
}

function pickEnv(names: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

export class OutsideMcpServers {
  readonly #clients = new Map<string, Client>();
  readonly #tools = new Map<string, OutsideTool>();
  /** registry name -> what changed in its definition since the pin lapsed, for the next approval card. */
  readonly #changes = new Map<string, string>();

  constructor(private readonly options: OutsideServersOptions) {}

  tools(): OutsideTool[] {
    return [...this.#tools.values()];
  }

  /** Connects to every configured server not yet connected, lists the tools and (re)registers them. */
  async refresh(): Promise<void> {
    const configured = this.options.settings().mcpServers;
    for (const id of [...this.#clients.keys()]) {
      if (!configured.some((server) => server.id === id)) await this.#disconnect(id);
    }
    for (const server of configured) {
      try {
        await this.#refreshServer(server);
      } catch (error) {
        log.warn('outside MCP server unavailable', { server: server.id, error });
        await this.#disconnect(server.id);
      }
    }
  }

  /** Allows a tool to run without asking in the open workspace, until its definition changes. */
  pin(registryName: string): McpPin {
    const tool = this.#tools.get(registryName);
    if (!tool) throw new SophiaError('bad_request', `There is no outside tool named ${registryName.slice(0, 80)}.`);
    if (!pinnable(tool.risk)) throw new SophiaError('refused', `${registryName} is ${tool.risk} risk: only tools up to medium risk can be pinned; it asks every time.`);
    const current = this.options.settings();
    const pin: McpPin = { workspace: current.workspace, server: tool.server, tool: tool.remoteName, hash: tool.hash };
    const others = current.mcpPins.filter((existing) => !(existing.workspace === pin.workspace && existing.server === pin.server && existing.tool === pin.tool));
    this.options.savePins([...others, pin]);
    this.#changes.delete(registryName);
    this.options.audit.record({ kind: 'policy', risk: tool.risk, actor: 'user', summary: `Pinned ${registryName} as allowed in this workspace`, data: pin });
    return pin;
  }

  isPinned(registryName: string): boolean {
    const tool = this.#tools.get(registryName);
    if (!tool || !pinnable(tool.risk)) return false;
    const current = this.options.settings();
    return current.mcpPins.some((pin) => pin.workspace === current.workspace && pin.server === tool.server && pin.tool === tool.remoteName && pin.hash === tool.hash);
  }

  /**
   * In front of the approval gate: a pinned outside tool runs without a card (recorded as
   * such); everything else, outside tools unpinned included, goes to the gate.
   */
  gate(inner: ToolGate, guard: { readonly stop: { readonly locked: boolean }; readonly role: () => string }): ToolGate {
    return {
      decide: async (request: ToolCallRequest, signal: AbortSignal): Promise<GateDecision> => {
        const tool = this.#tools.get(request.tool.name);
        if (!tool || !this.isPinned(tool.registryName) || guard.stop.locked || signal.aborted || guard.role() === 'viewer') return inner.decide(request, signal);
        const decision: GateDecision = { allowed: true, risk: tool.risk, decidedBy: 'policy', reasons: ['You pinned this tool as allowed in this workspace.'] };
        this.options.audit.record({
          kind: 'approval',
          conversationId: request.conversationId,
          risk: tool.risk,
          actor: 'pin',
          summary: `${tool.registryName} allowed by your pin`,
          data: { tool: tool.registryName, callId: request.callId, input: request.input, hash: tool.hash },
        });
        return decision;
      },
    };
  }

  async close(): Promise<void> {
    for (const id of [...this.#clients.keys()]) await this.#disconnect(id);
  }

  async #connect(server: OutsideMcpServer): Promise<Client> {
    const client = new Client({ name: 'sophia', version: appVersion });
    const transport =
      server.transport === 'stdio'
        ? new StdioClientTransport({ command: server.command, args: [...server.args], env: pickEnv(server.envNames, this.options.env ?? process.env), stderr: 'ignore' })
        : new StreamableHTTPClientTransport(new URL(server.url));
    await client.connect(transport, { timeout: connectTimeoutMs });
    client.onclose = () => {
      if (this.#clients.get(server.id) === client) this.#forget(server.id);
    };
    return client;
  }

  async #refreshServer(server: OutsideMcpServer): Promise<void> {
    let client = this.#clients.get(server.id);
    if (!client) {
      client = await this.#connect(server);
      this.#clients.set(server.id, client);
    }
    const { tools } = await client.listTools(undefined, { timeout: connectTimeoutMs });
    const seen = new Set<string>();
    for (const tool of tools.slice(0, maxToolsPerServer)) {
      const registryName = registryNameOf(server.id, tool.name);
      if (seen.has(registryName)) continue;
      seen.add(registryName);
      const text = definitionText(tool);
      const hash = definitionHash(text);
      const previous = this.#tools.get(registryName);
      if (previous?.hash === hash) continue;
      this.#lapsePins(server.id, tool.name, hash, registryName, previous?.definition, text);
      const outside: OutsideTool = { server: server.id, remoteName: tool.name, registryName, risk: outsideToolRisk(tool.annotations), hash, definition: text };
      this.#register(outside, tool, client);
    }
    for (const existing of [...this.#tools.values()]) {
      if (existing.server === server.id && !seen.has(existing.registryName)) {
        this.options.registry.unregister(existing.registryName);
        this.#tools.delete(existing.registryName);
      }
    }
  }

  #lapsePins(server: string, tool: string, hash: string, registryName: string, before: string | undefined, after: string): void {
    const current = this.options.settings();
    const stale = current.mcpPins.filter((pin) => pin.server === server && pin.tool === tool && pin.hash !== hash);
    if (stale.length === 0) return;
    this.options.savePins(current.mcpPins.filter((pin) => !stale.includes(pin)));
    const change = before ? createTwoFilesPatch(`${registryName} (pinned)`, `${registryName} (now)`, before, after) : `The definition no longer matches the one you pinned:\n${after}`;
    this.#changes.set(registryName, change);
    this.options.audit.record({ kind: 'policy', actor: 'system', summary: `Pin of ${registryName} lapsed: the server changed the tool's definition`, data: { server, tool, hash, change } });
  }

  #register(outside: OutsideTool, tool: Tool, client: Client): void {
    const definition: ToolDefinition = {
      name: outside.registryName,
      description: `[outside MCP server "${outside.server}"] ${tool.description ?? tool.name}`.slice(0, 4000),
      input: inputOf(tool.inputSchema),
      risk: outside.risk,
      describe: () => `${tool.name} on the outside MCP server "${outside.server}"`,
      preview: (input) => {
        const change = this.#changes.get(outside.registryName);
        const args = JSON.stringify(input, null, 2) ?? '{}';
        return change ? `The server changed this tool since you pinned it:\n${change}\n\nArguments:\n${args}` : args;
      },
    };
    this.options.registry.unregister(outside.registryName);
    this.options.registry.register(definition, async (input, context) => {
      const result = await client.callTool({ name: tool.name, arguments: input as Record<string, unknown> }, undefined, { timeout: callTimeoutMs, signal: context.signal });
      const content = Array.isArray(result['content']) ? (result['content'] as { type: string; text?: string }[]) : [];
      const text = content.map((part) => (part.type === 'text' ? (part.text ?? '') : `[${part.type}]`)).join('\n');
      return { ok: result['isError'] !== true, output: text.slice(0, maxOutput) };
    });
    this.#tools.set(outside.registryName, outside);
  }

  #forget(id: string): void {
    this.#clients.delete(id);
    for (const tool of [...this.#tools.values()]) {
      if (tool.server !== id) continue;
      this.options.registry.unregister(tool.registryName);
      this.#tools.delete(tool.registryName);
    }
  }

  async #disconnect(id: string): Promise<void> {
    const client = this.#clients.get(id);
    this.#forget(id);
    await client?.close().catch((error: unknown) => log.warn('closing an outside MCP server failed', { server: id, error }));
  }
}
