/**
 * Sophia's MCP servers through the official SDK client, over Streamable HTTP (loopback,
 * token) and over stdio (`sophia-mcp code|infra`, the bridge started as its own process):
 * tools listed with annotations from their risk, a read-only call runs at once, a
 * state-changing call waits for the approval answered through the renderer's channel, and
 * everything is audited with the client's name.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConversationId } from '../../../electron/mcp/mcpServer';
import { mcpEndpointFileName } from '../../../electron/mcp/mcpHttpHost';
import type { McpServerKind } from '../../../electron/mcp/mcpTools';
import { mcpHarness, type McpHarness } from './mcpHarness';

const repo = path.resolve(import.meta.dirname, '../../..');
const clientName = 'sophia-test-client';

let h: McpHarness;
beforeAll(async () => {
  h = await mcpHarness();
});
afterAll(async () => {
  await h.close();
});

async function httpClient(kind: McpServerKind, name = clientName): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(h.host.url(kind)), { requestInit: { headers: { authorization: `Bearer ${h.host.endpoint.token}` } } }));
  return client;
}

/** `sophia-mcp <kind>` as its own process (TypeScript through the repository's runner), pointed at the harness's endpoint file. */
export function stdioTransport(kind: McpServerKind, endpointFile: string): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: ['test/support/runTs.ts', 'electron/mcp/mcpCli.ts', kind],
    cwd: repo,
    env: { SOPHIA_MCP_ENDPOINT: endpointFile, SOPHIA_LOG_LEVEL: 'error' },
    stderr: 'pipe',
  });
}

async function stdioClient(kind: McpServerKind): Promise<Client> {
  const client = new Client({ name: clientName, version: '1.0.0' });
  await client.connect(stdioTransport(kind, path.join(h.dataDir, mcpEndpointFileName)));
  return client;
}

function text(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/**
 * Starts the call, waits for its approval card, checks nothing ran yet, answers, returns the
 * result. An edit is answered where the renderer answers it, in the diff panel (`proposal.answer`),
 * on the proposal of the card's own call.
 */
async function approvedCall(client: Client, name: string, args: Record<string, unknown>, check: () => void, decision: 'approve' | 'cancel' = 'approve') {
  const from = h.events.length;
  const call = client.callTool({ name, arguments: args });
  const approval = await h.nextApproval(from);
  check();
  if (approval.edit) {
    const proposal = h.core.code.proposals.list().find((candidate) => candidate.conversationId === approval.conversationId && candidate.callId === approval.callId);
    expect(proposal).toBeDefined();
    expect(await h.core.handlers['proposal.answer']({ proposalId: proposal!.proposalId, action: decision }, { transport: 'test' })).toEqual({ accepted: true });
  } else {
    expect(await h.answer(approval.approvalId, decision)).toBe(true);
  }
  return { approval, result: (await call) as CallToolResult };
}

for (const transport of ['http', 'stdio'] as const) {
  describe(`over ${transport}`, () => {
    const connect = (kind: McpServerKind) => (transport === 'http' ? httpClient(kind) : stdioClient(kind));

    it('code-management: lists its tools with annotations from their risk', async () => {
      const client = await connect('code');
      try {
        const { tools } = await client.listTools();
        const byName = new Map(tools.map((tool) => [tool.name, tool]));
        expect([...byName.keys()].sort()).toEqual(['commit_and_open_pr', 'edit_code', 'generate_code', 'read_logs', 'review_code', 'run_tests', 'search_code']);
        expect(byName.get('review_code')?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
        expect(byName.get('search_code')?.annotations).toMatchObject({ readOnlyHint: true });
        expect(byName.get('edit_code')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
        expect(byName.get('run_tests')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
        // git_push is high: the composition is as destructive as its worst step.
        expect(byName.get('commit_and_open_pr')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
        expect(byName.get('run_tests')?.inputSchema).toMatchObject({ type: 'object', properties: { command: { type: 'string' } }, required: ['command'] });
        // An MCP client cannot ask for network egress or a run secret: run_tests does not offer them.
        expect(Object.keys(byName.get('run_tests')?.inputSchema.properties ?? {})).not.toContain('egress');
        expect(Object.keys(byName.get('run_tests')?.inputSchema.properties ?? {})).not.toContain('secrets');
        expect(client.getServerVersion()?.name).toBe('sophia-code-management');
      } finally {
        await client.close();
      }
    });

    it('code-management: a read-only call runs at once; a state-changing one waits for approval, then runs', async () => {
      const client = await connect('code');
      try {
        const before = h.events.length;
        const review = (await client.callTool({ name: 'review_code', arguments: { paths: ['src/greet.ts'] } })) as CallToolResult;
        expect(review.isError).toBe(false);
        expect(text(review)).toContain('return `Hello, ${name}`');
        expect(h.events.slice(before).some((event) => event.type === 'approval.request')).toBe(false);

        const runsBefore = h.ran.length;
        const { approval, result } = await approvedCall(client, 'run_tests', { command: 'npm test' }, () => expect(h.ran.length).toBe(runsBefore));
        expect(approval).toMatchObject({ tool: 'run_command', risk: 'medium', conversationId: clientConversationId(clientName) });
        expect(result.isError).toBe(false);
        expect(text(result)).toBe('run_command ran');
        expect(h.ran.at(-1)).toEqual({ tool: 'run_command', input: { command: 'npm test' } });
      } finally {
        await client.close();
      }
    });

    it('infra-management: lists, reads history at once, deploys only after approval', async () => {
      const client = await connect('infra');
      try {
        const { tools } = await client.listTools();
        expect(tools.map((tool) => tool.name).sort()).toEqual(['deploy_infrastructure', 'preview_changes', 'stack_history']);
        expect(tools.find((tool) => tool.name === 'deploy_infrastructure')?.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false, openWorldHint: true });
        expect(tools.find((tool) => tool.name === 'stack_history')?.annotations).toMatchObject({ readOnlyHint: true });

        const history = (await client.callTool({ name: 'stack_history', arguments: { stack: 'staging' } })) as CallToolResult;
        // The stand-in's output, in the MCP server's terms.
        expect(text(history)).toBe('stack_history ran');
        const runsBefore = h.ran.length;
        const { approval, result } = await approvedCall(client, 'deploy_infrastructure', { stack: 'staging', planId: 'plan-1234abcd' }, () => expect(h.ran.length).toBe(runsBefore));
        expect(approval).toMatchObject({ tool: 'pulumi_up', risk: 'high' });
        expect(text(result)).toBe('deploy_infrastructure ran');
      } finally {
        await client.close();
      }
    });
  });
}

describe('approval over MCP', () => {
  it('edit_code writes the file only after approval and returns the diff', async () => {
    const client = await httpClient('code');
    try {
      const file = path.join(h.workspace, 'src', 'greet.ts');
      const original = readFileSync(file, 'utf8');
      const content = original.replace('Hello', 'Good morning');
      const { approval, result } = await approvedCall(client, 'edit_code', { summary: 'A warmer greeting.', files: [{ path: 'src/greet.ts', content }] }, () =>
        expect(readFileSync(file, 'utf8')).toBe(original),
      );
      expect(approval.tool).toBe('propose_edit');
      expect(approval.preview).toContain('+  return `Good morning, ${name}`;');
      // Who asked: the outside client by the name it gave in initialize, on the card and on the proposal of the same call.
      expect(approval).toMatchObject({ client: clientName, conversationId: clientConversationId(clientName), edit: [{ path: 'src/greet.ts', added: 1, removed: 1, isNew: false }] });
      expect(approval.callId).toMatch(/^mcp-/);
      expect(h.core.code.proposals.list().find((proposal) => proposal.callId === approval.callId)).toMatchObject({ client: clientName, status: 'applied' });
      expect(result.isError).toBe(false);
      expect(text(result)).toContain('-  return `Hello, ${name}`;');
      expect(text(result)).toContain('+  return `Good morning, ${name}`;');
      expect(readFileSync(file, 'utf8')).toBe(content);
    } finally {
      await client.close();
    }
  });

  it('a cancelled call does not run and comes back as a tool error', async () => {
    const client = await httpClient('code');
    try {
      const runsBefore = h.ran.length;
      const { result } = await approvedCall(client, 'run_tests', { command: 'npm run lint' }, () => undefined, 'cancel');
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('Cancelled by you');
      expect(h.ran.length).toBe(runsBefore);
    } finally {
      await client.close();
    }
  });

  it('with no Sophia window to approve, a state-changing call is refused at once (read-only still runs)', async () => {
    const client = await httpClient('infra');
    h.setApproverPresent(false);
    try {
      const before = h.events.length;
      const runsBefore = h.ran.length;
      const result = (await client.callTool({ name: 'deploy_infrastructure', arguments: { stack: 'staging', planId: 'plan-1234abcd' } })) as CallToolResult;
      expect(result.isError).toBe(true);
      expect(text(result)).toContain('no Sophia window is open');
      expect(h.ran.length).toBe(runsBefore);
      expect(h.events.slice(before).some((event) => event.type === 'approval.request')).toBe(false);
      const history = (await client.callTool({ name: 'stack_history', arguments: { stack: 'staging' } })) as CallToolResult;
      expect(history.isError).toBe(false);
    } finally {
      h.setApproverPresent(true);
      await client.close();
    }
  });

  it('audits every MCP call with the client name', async () => {
    const conversationId = clientConversationId(clientName);
    const entries = h.core.safety.audit.query({ conversationId, limit: 500 });
    const requests = entries.filter((entry) => entry.kind === 'request');
    // Over stdio the bridge passes the outside client's name on; Sophia sees the call over its HTTP endpoint.
    expect(requests.some((entry) => entry.actor === `mcp:${clientName}` && entry.summary.includes('run_tests'))).toBe(true);
    expect(entries.some((entry) => entry.kind === 'approval' && entry.actor === 'user' && entry.summary.includes('pulumi_up approved'))).toBe(true);
    const ran = entries.filter((entry) => entry.kind === 'tool.call' && entry.summary.startsWith('run_command ran'));
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(ran[0]?.data ?? '{}')).toMatchObject({ client: `mcp:${clientName}` });
    expect(entries.some((entry) => entry.kind === 'refusal' && entry.actor === 'no-approver')).toBe(true);
  });
});

describe('errors', () => {
  it('unknown tools and schema-invalid arguments are MCP errors (-32602)', async () => {
    const client = await httpClient('code');
    try {
      await expect(client.callTool({ name: 'format_disk', arguments: {} })).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
      const invalid = await client.callTool({ name: 'run_tests', arguments: { command: 42 } }).catch((error: unknown) => error);
      expect(invalid).toBeInstanceOf(McpError);
      expect((invalid as McpError).code).toBe(ErrorCode.InvalidParams);
      expect((invalid as McpError).message).toContain('command');
    } finally {
      await client.close();
    }
  });

  it('the HTTP endpoint refuses a missing token, a wrong token, a browser Origin and a foreign Host', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const url = h.host.url('code');
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(401);
    expect((await fetch(url, { method: 'POST', headers: { ...headers, authorization: 'Bearer nope' }, body })).status).toBe(401);
    const authorization = `Bearer ${h.host.endpoint.token}`;
    expect((await fetch(url, { method: 'POST', headers: { ...headers, authorization, origin: 'https://evil.example' }, body })).status).toBe(403);
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect((await fetch(`${h.host.endpoint.baseUrl}nothing`, { method: 'POST', headers: { ...headers, authorization }, body })).status).toBe(404);
  });
});
