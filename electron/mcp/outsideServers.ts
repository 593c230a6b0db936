/**
 * Sophia as an MCP host: the outside servers the person lists in Settings, their tools
 * registered in the agent's registry as `mcp_<server>_<tool>` behind the same approval gate.
 *
 * What an outside server says of itself is an untrusted hint: annotations may raise a tool's
 * risk, never lower it (shared/mcp.ts), so every outside tool asks before it runs until the
 * person pins it for the workspace, which is offered only up to medium risk. A pin is one
 * input to the approval gate, read after every inspector: a pinned call whose arguments make
 * it high risk, or that writes a protected path, is asked like any other. A pin holds the
 * hash of the tool's definition (name, description, input schema, annotations); a listing
 * with another hash lapses the pin, and the next approval card shows what changed.
 *
 * A stdio server is started with only the environment variables the person listed (plus the
 * SDK's PATH, HOME, USER, SHELL, TERM, LOGNAME): never the app's credentials.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type * as JsDiff from 'diff';
import { z } from 'zod';
import type { AppSettings, OutsideServersView, RiskLevel, StoppedItem } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { outsideToolRisk, pinnable, type McpPin, type OutsideMcpServer } from '../../shared/mcp';
import type { ToolDefinition, ToolRegistry } from '../agent/tools';
import type { AuditSink } from '../audit/auditLog';
import { onDemand } from '../core/onDemand';
import { appVersion } from '../core/version';
import { createLogger } from '../log';
import { requireOnFirstUse } from '../core/lazyRequire';
import type { OfflineGuard } from '../models/offlineGuard';

const log = createLogger('outsideServers');
// jsdiff is required with the first diff drawn, not at start.
const jsdiff = requireOnFirstUse<typeof JsDiff>('diff');

async function loadClientSdk() {
  const [client, stdio, http, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  return {
    Client: client.Client,
    StdioClientTransport: stdio.StdioClientTransport,
    StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    StreamableHTTPError: http.StreamableHTTPError,
    McpError: types.McpError,
    ErrorCode: types.ErrorCode,
  };
}
/** Set once the SDK has loaded: an error cannot be one of its classes before that. */
let loadedSdk: Awaited<ReturnType<typeof loadClientSdk>> | undefined;
// The MCP SDK's client loads when the first outside server is connected: with none listed in
// Settings, never.
const clientSdk = onDemand('@modelcontextprotocol/sdk client', async () => (loadedSdk = await loadClientSdk()));

const connectTimeoutMs = 15_000;
const callTimeoutMs = 10 * 60_000;
const maxToolsPerServer = 100;
const maxOutput = 100_000;
/** A pin keeps the definition it allowed (when this short) so a later change can be shown as a diff. */
const maxPinnedDefinition = 8000;

export interface OutsideServersOptions {
  readonly registry: ToolRegistry;
  readonly settings: () => Pick<AppSettings, 'mcpServers' | 'mcpPins' | 'workspace'>;
  readonly savePins: (pins: McpPin[]) => void;
  readonly saveServers: (servers: OutsideMcpServer[]) => void;
  readonly audit: AuditSink;
  /** The environment stdio servers pick their listed variables from. */
  readonly env?: NodeJS.ProcessEnv;
  /** Offline mode: a server at a URL off this machine is refused before it is reached. */
  readonly offline?: OfflineGuard;
  /** Throws while the emergency stop is engaged: no server is added, refreshed or started until Resume. */
  readonly guard?: () => void;
}

export interface OutsideTool {
  readonly server: string;
  readonly remoteName: string;
  readonly registryName: string;
  /** The server's own description: an untrusted hint. */
  readonly description: string;
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

/** What went wrong reaching a server, in words a person can act on. */
export function plainError(server: OutsideMcpServer, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  const message = error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300);
  const sdk = loadedSdk;
  if (server.transport === 'stdio') {
    if (code === 'ENOENT') return `Could not start "${server.command}": there is no such program. Give an absolute path, or a program on the PATH.`;
    if (code === 'EACCES') return `Could not start "${server.command}": it is not executable.`;
  } else {
    if (cause === 'ECONNREFUSED' || code === 'ECONNREFUSED') return `Nothing answers at ${server.url}. Is the server running?`;
    if (sdk && error instanceof sdk.StreamableHTTPError && error.code !== undefined) return `${server.url} answered HTTP ${error.code}: it is not an MCP server, or it wants a login Sophia does not have.`;
  }
  if (sdk && error instanceof sdk.McpError && error.code === sdk.ErrorCode.RequestTimeout) return `The server did not answer within ${connectTimeoutMs / 1000} seconds.`;
  if (sdk && error instanceof sdk.McpError && error.code === sdk.ErrorCode.ConnectionClosed) {
    return server.transport === 'stdio'
      ? 'The server exited before it answered. Run the command in a terminal to see why.'
      : 'The server closed the connection before it answered.';
  }
  return `Could not connect: ${message}`;
}

function pickEnv(names: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

function killStdio(client: Client | undefined): void {
  const transport = client?.transport;
  // No client exists before the SDK has loaded, so there is nothing to kill then.
  const Stdio = loadedSdk?.StdioClientTransport;
  const pid = Stdio && transport instanceof Stdio ? transport.pid : null;
  if (pid === null) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    log.warn('an outside MCP server process could not be killed (it may have exited)', { pid, error });
  }
}

export class OutsideMcpServers {
  readonly #clients = new Map<string, Client>();
  readonly #tools = new Map<string, OutsideTool>();
  /** registry name -> what changed in its definition since the pin lapsed, for the next approval card. */
  readonly #changes = new Map<string, string>();
  /** server id -> why it is not connected, in plain words. */
  readonly #errors = new Map<string, string>();
  readonly #connecting = new Set<string>();
  /** Refreshes run one after another, so one server is never connected twice. */
  #refreshing: Promise<void> = Promise.resolve();
  /** Clients still connecting (their process may be running already): the emergency stop closes them too. */
  readonly #pending = new Set<Client>();
  /** Set by the emergency stop, cleared by Resume: a connection that finishes meanwhile is closed at once. */
  #stopped = false;

  constructor(private readonly options: OutsideServersOptions) {}

  /**
   * The emergency stop: every outside server is disconnected (a stdio server's process ends,
   * and a call in flight on it fails), connections under way are closed, and nothing starts
   * again until `resume`.
   */
  async stopAll(): Promise<StoppedItem[]> {
    this.#stopped = true;
    const items: StoppedItem[] = [];
    const pending = [...this.#pending];
    this.#pending.clear();
    items.push(...pending.map((): StoppedItem => ({ kind: 'task', id: 'mcp-connecting', label: 'outside MCP server being started', outcome: 'stopped' })));
    const ids = [...this.#clients.keys()];
    for (const id of ids) {
      items.push({ kind: 'task', id: `mcp-${id}`.slice(0, 200), label: `outside MCP server ${id}`.slice(0, 200), outcome: 'stopped' });
      this.#errors.set(id, 'Stopped by the emergency stop; it is started again on Resume.');
    }
    // A stdio server is killed outright: closing its input would leave a busy one running for seconds.
    for (const client of [...pending, ...ids.map((id) => this.#clients.get(id))]) killStdio(client);
    await Promise.allSettled([...pending.map((client) => client.close()), ...ids.map((id) => this.#disconnect(id))]);
    return items;
  }

  /** After the emergency stop: the configured servers are started again. */
  resume(): void {
    this.#stopped = false;
    void this.refresh().catch((error: unknown) => log.warn('outside MCP servers could not be restarted after Resume', { error }));
  }

  tools(): OutsideTool[] {
    return [...this.#tools.values()];
  }

  /** Connects to every configured server not yet connected, lists the tools and (re)registers them. */
  refresh(): Promise<void> {
    try {
      this.options.guard?.();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const run = this.#refreshing.then(() => this.#refreshAll());
    this.#refreshing = run.catch(() => undefined);
    return run;
  }

  /** The configured servers, whether each is reached (and why not), and their tools with risk and pin state. */
  view(): OutsideServersView {
    const current = this.options.settings();
    return {
      workspace: current.workspace,
      servers: current.mcpServers.map((server) => {
        const tools = this.tools()
          .filter((tool) => tool.server === server.id)
          .map((tool) => ({
            name: tool.registryName,
            remoteName: tool.remoteName.slice(0, 128),
            description: tool.description.slice(0, 4000),
            risk: tool.risk,
            pinned: this.isPinned(tool.registryName),
            pinOffered: pinnable(tool.risk) && current.workspace !== '',
          }));
        const error = this.#errors.get(server.id);
        const state = this.#clients.has(server.id) ? 'connected' : this.#connecting.has(server.id) || error === undefined ? 'connecting' : 'error';
        return { server, state, message: state === 'error' ? (error ?? '') : '', tools };
      }),
    };
  }

  /** Adds a server the person listed and connects to it; whether that worked is in view(). */
  async add(server: OutsideMcpServer): Promise<void> {
    this.options.guard?.();
    const current = this.options.settings().mcpServers;
    if (current.some((existing) => existing.id === server.id)) throw new SophiaError('bad_request', `There is already an outside server named ${server.id}; remove it first or pick another name.`);
    this.options.saveServers([...current, server]);
    const shown = server.transport === 'stdio' ? { id: server.id, transport: server.transport, command: server.command, args: server.args, envNames: server.envNames } : server;
    this.options.audit.record({ kind: 'policy', actor: 'user', summary: `Added the outside MCP server ${server.id}`, data: shown });
    await this.refresh();
  }

  /** Removes a server: its tools leave the registry and its pins (every workspace's) go. */
  async remove(id: string): Promise<void> {
    const current = this.options.settings();
    if (!current.mcpServers.some((server) => server.id === id)) throw new SophiaError('bad_request', `There is no outside server named ${id}.`);
    this.options.saveServers(current.mcpServers.filter((server) => server.id !== id));
    this.options.savePins(current.mcpPins.filter((pin) => pin.server !== id));
    this.options.audit.record({ kind: 'policy', actor: 'user', summary: `Removed the outside MCP server ${id} and its pins`, data: { id } });
    // Removing starts nothing: allowed while stopped, without the refresh that would start the others.
    if (this.#stopped) await this.#disconnect(id);
    else await this.refresh();
    this.#errors.delete(id);
  }

  /** Allows a tool to run without asking in the open workspace, until its definition changes. */
  pin(registryName: string): McpPin {
    const tool = this.#tools.get(registryName);
    if (!tool) throw new SophiaError('bad_request', `There is no outside tool named ${registryName.slice(0, 80)}.`);
    const current = this.options.settings();
    const refuse = (message: string): never => {
      this.options.audit.record({ kind: 'refusal', risk: tool.risk, actor: 'user', summary: `Pinning ${registryName} refused`, data: { tool: registryName, reason: message } });
      throw new SophiaError('refused', message);
    };
    if (!pinnable(tool.risk)) refuse(`${registryName} is ${tool.risk} risk: only tools up to medium risk can be pinned; it asks every time.`);
    if (current.workspace === '') refuse('Open a workspace first: a pin holds for one workspace.');
    const pin: McpPin = {
      workspace: current.workspace,
      server: tool.server,
      tool: tool.remoteName,
      hash: tool.hash,
      ...(tool.definition.length <= maxPinnedDefinition ? { definition: tool.definition } : {}),
    };
    const others = current.mcpPins.filter((existing) => !(existing.workspace === pin.workspace && existing.server === pin.server && existing.tool === pin.tool));
    this.options.savePins([...others, pin]);
    this.#changes.delete(registryName);
    this.options.audit.record({ kind: 'policy', risk: tool.risk, actor: 'user', summary: `Pinned ${registryName} as allowed in this workspace`, data: { ...pin, definition: undefined } });
    return pin;
  }

  /** The tool asks before every call in the open workspace again. */
  unpin(registryName: string): void {
    const tool = this.#tools.get(registryName);
    if (!tool) throw new SophiaError('bad_request', `There is no outside tool named ${registryName.slice(0, 80)}.`);
    const current = this.options.settings();
    const mine = (pin: McpPin): boolean => pin.workspace === current.workspace && pin.server === tool.server && pin.tool === tool.remoteName;
    if (!current.mcpPins.some(mine)) return;
    this.options.savePins(current.mcpPins.filter((pin) => !mine(pin)));
    this.options.audit.record({ kind: 'policy', risk: tool.risk, actor: 'user', summary: `Unpinned ${registryName}: it asks before every call again`, data: { workspace: current.workspace, server: tool.server, tool: tool.remoteName } });
  }

  isPinned(registryName: string): boolean {
    const tool = this.#tools.get(registryName);
    if (!tool || !pinnable(tool.risk)) return false;
    const current = this.options.settings();
    return current.mcpPins.some((pin) => pin.workspace === current.workspace && pin.server === tool.server && pin.tool === tool.remoteName && pin.hash === tool.hash);
  }

  /**
   * The pin as an input to the approval gate (`ToolDefinition.pin`): why it holds, or
   * undefined. A server may change a tool between listings, so it lists the server again
   * first: a changed definition lapses the pin now, not at the next listing. The gate reads
   * this only after every inspector, and only for a call it assessed at most medium risk.
   */
  async #pinHolds(registryName: string, signal: AbortSignal): Promise<string | undefined> {
    const tool = this.#tools.get(registryName);
    if (!tool || !this.isPinned(registryName) || signal.aborted) return undefined;
    if (!(await this.#relisted(tool.server)) || signal.aborted || !this.isPinned(registryName)) return undefined;
    return 'You pinned this tool as allowed in this workspace.';
  }

  /** Lists one server's tools again; false when it cannot be reached (then nothing is pinned). */
  async #relisted(serverId: string): Promise<boolean> {
    const server = this.options.settings().mcpServers.find((candidate) => candidate.id === serverId);
    if (!server) return false;
    try {
      await this.#refreshServer(server);
      return true;
    } catch (error) {
      log.warn('outside MCP server could not be listed before a pinned call', { server: serverId, error });
      return false;
    }
  }

  async close(): Promise<void> {
    for (const id of [...this.#clients.keys()]) await this.#disconnect(id);
  }

  async #refreshAll(): Promise<void> {
    const configured = this.options.settings().mcpServers;
    for (const id of [...this.#clients.keys()]) {
      if (!configured.some((server) => server.id === id)) await this.#disconnect(id);
    }
    for (const id of [...this.#errors.keys()]) {
      if (!configured.some((server) => server.id === id)) this.#errors.delete(id);
    }
    for (const server of configured) {
      if (this.#stopped) return;
      this.#connecting.add(server.id);
      try {
        await this.#refreshServer(server);
        this.#errors.delete(server.id);
      } catch (error) {
        log.warn('outside MCP server unavailable', { server: server.id, error });
        await this.#disconnect(server.id);
        this.#errors.set(server.id, plainError(server, error));
      } finally {
        this.#connecting.delete(server.id);
      }
    }
  }

  async #connect(server: OutsideMcpServer): Promise<Client> {
    const { Client, StdioClientTransport, StreamableHTTPClientTransport } = await clientSdk();
    const client = new Client({ name: 'sophia', version: appVersion });
    const transport =
      server.transport === 'stdio'
        ? new StdioClientTransport({ command: server.command, args: [...server.args], env: pickEnv(server.envNames, this.options.env ?? process.env), stderr: 'ignore' })
        : this.#httpTransport(StreamableHTTPClientTransport, server.url);
    this.#pending.add(client);
    try {
      await client.connect(transport, { timeout: connectTimeoutMs });
    } finally {
      this.#pending.delete(client);
    }
    if (this.#stopped) {
      await client.close();
      throw new SophiaError('stopped', 'Sophia is stopped. Press Resume to continue.');
    }
    client.onclose = () => {
      if (this.#clients.get(server.id) !== client) return;
      this.#forget(server.id);
      this.#errors.set(server.id, server.transport === 'stdio' ? 'The server exited. Check again to restart it.' : 'The server closed the connection. Check again to reconnect.');
    };
    return client;
  }

  #httpTransport(Transport: typeof StreamableHTTPClientTransport, url: string): StreamableHTTPClientTransport {
    const offline = this.options.offline;
    if (!offline) return new Transport(new URL(url));
    offline.check(url, 'this MCP server');
    // Checked again at every request: a server connected before offline mode was chosen stops there.
    return new Transport(new URL(url), { fetch: offline.fetch('this MCP server') });
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
      const outside: OutsideTool = { server: server.id, remoteName: tool.name, registryName, description: tool.description ?? '', risk: outsideToolRisk(tool.annotations), hash, definition: text };
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
    // What the person pinned, when the pin kept it (it survives a restart); else the previous listing.
    const pinned = stale.find((pin) => pin.definition !== undefined)?.definition ?? before;
    const change = pinned ? jsdiff().createTwoFilesPatch(`${registryName} (pinned)`, `${registryName} (now)`, pinned, after) : `The definition no longer matches the one you pinned:\n${after}`;
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
      pin: (signal) => this.#pinHolds(outside.registryName, signal),
      preview: (input) => {
        const change = this.#changes.get(outside.registryName);
        const args = JSON.stringify(input, null, 2) ?? '{}';
        return change ? `The server changed this tool since you pinned it:\n${change}\n\nArguments:\n${args}` : args;
      },
    };
    this.options.registry.unregister(outside.registryName);
    this.options.registry.register(definition, async (input, context) => {
      let result: Awaited<ReturnType<Client['callTool']>>;
      try {
        result = await client.callTool({ name: tool.name, arguments: input as Record<string, unknown> }, undefined, { timeout: callTimeoutMs, signal: context.signal });
      } catch (error) {
        // The emergency stop ends the server mid-call; a timeout or a crash end it too. The call failed, in words.
        if (this.#stopped) return { ok: false, output: 'Stopped: the emergency stop ended the outside server during this call.' };
        log.warn('an outside MCP call failed', { server: outside.server, tool: tool.name, error });
        return { ok: false, output: `The outside server did not answer: ${error instanceof Error ? error.message.slice(0, 500) : 'unknown error'}` };
      }
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
