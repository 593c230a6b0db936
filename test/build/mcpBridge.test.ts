/**
 * The MCP stdio bridge as a person configures it in Claude Desktop or Claude Code
 * (`node out/main/mcp.js code|infra`), built, against the RUNNING built app
 * (`node out/main/serve.js`), through the official @modelcontextprotocol/sdk client: both
 * servers list their tools, with the annotations the registry's risks give them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedApp, type ServedApp } from '../support/servedApp';

const bridge = path.resolve(import.meta.dirname, '../../out/main/mcp.js');
let app: ServedApp;

beforeAll(async () => {
  app = await startServedApp();
  // As with a person's open tab: the first answer starts the app's MCP endpoint, which it
  // announces in mcp-endpoint.json for the bridge. Wait for that (bounded), then bridge.
  await app.request('app.status', {});
  const endpointFile = path.join(app.dataDir, 'mcp-endpoint.json');
  for (const deadline = Date.now() + 30_000; !existsSync(endpointFile); ) {
    if (Date.now() > deadline) throw new Error('the built app did not write mcp-endpoint.json within 30 s of its first answer');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 120_000);

afterAll(async () => {
  await app?.close();
});

async function connectBridge(kind: 'code' | 'infra') {
  const client = new Client({ name: 'sophia-bridge-test', version: '1.0.0' });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('VITEST')) env[key] = value;
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [bridge, kind], env: { ...env, SOPHIA_DATA_DIR: app.dataDir }, stderr: 'pipe' }));
  return client;
}

/** Sophia's own tool names: what its registry calls them, which an MCP client never sees. */
const internalNames = ['propose_edit', 'read_file', 'report_findings', 'run_command', 'git_commit', 'git_push', 'github_open_pull_request', 'pulumi_preview', 'pulumi_up', 'pulumi_history', 'snowflake_plan', 'snowflake_apply', 'snowflake_restore'];

async function listThroughBridge(kind: 'code' | 'infra') {
  const client = new Client({ name: 'sophia-bridge-test', version: '1.0.0' });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('VITEST')) env[key] = value;
  const transport = new StdioClientTransport({ command: process.execPath, args: [bridge, kind], env: { ...env, SOPHIA_DATA_DIR: app.dataDir }, stderr: 'pipe' });
  await client.connect(transport);
  try {
    return { server: client.getServerVersion(), tools: (await client.listTools()).tools };
  } finally {
    await client.close();
  }
}

describe('the built MCP stdio bridge against the running built app', () => {
  it('`node out/main/mcp.js code` lists the code-management tools', async () => {
    const { server, tools } = await listThroughBridge('code');
    expect(server?.name).toBe('sophia-code-management');
    expect(tools.map((tool) => tool.name)).toEqual(['review_code', 'edit_code', 'generate_code', 'search_code', 'run_tests', 'commit_and_open_pr', 'read_logs']);
    expect(tools.find((tool) => tool.name === 'review_code')?.annotations?.readOnlyHint).toBe(true);
    expect(tools.find((tool) => tool.name === 'commit_and_open_pr')?.annotations?.readOnlyHint).toBe(false);
  }, 60_000);

  it('`node out/main/mcp.js infra` lists the infrastructure-management tools', async () => {
    const { server, tools } = await listThroughBridge('infra');
    expect(server?.name).toBe('sophia-infra-management');
    expect(tools.map((tool) => tool.name)).toEqual(['preview_changes', 'deploy_infrastructure', 'stack_history', 'manage_snowflake']);
    expect(tools.find((tool) => tool.name === 'deploy_infrastructure')?.annotations?.destructiveHint).toBe(true);
  }, 60_000);

  it('describes each tool, and each of its fields, in terms of the tools the MCP client sees', async () => {
    for (const kind of ['code', 'infra'] as const) {
      const { tools } = await listThroughBridge(kind);
      for (const tool of tools) {
        const text = `${tool.description ?? ''}\n${JSON.stringify(tool.inputSchema)}`;
        for (const name of internalNames) expect(text, `${tool.name} names ${name}`).not.toMatch(new RegExp(`\\b${name}\\b`));
      }
      if (kind === 'infra') {
        const byName = new Map(tools.map((tool) => [tool.name, tool]));
        expect(byName.get('preview_changes')?.description).toContain('Returns a planId for deploy_infrastructure');
        expect(JSON.stringify(byName.get('deploy_infrastructure')?.inputSchema)).toContain('The id preview_changes returned');
        const snowflake = byName.get('manage_snowflake')?.description ?? '';
        expect(snowflake).toContain('"apply"');
        expect(snowflake).toContain('manage_snowflake (action "apply")');
        expect(snowflake).toMatch(/planId \(The id manage_snowflake \(action "plan"\) returned\)/);
      }
    }
  }, 60_000);

  it('supports MCP logging: logging/setLevel is answered, and a call logs at or above the level set', async () => {
    const client = await connectBridge('code');
    const messages: LoggingMessageNotification['params'][] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      messages.push(notification.params);
    });
    try {
      expect(client.getServerCapabilities()?.logging).toEqual({});
      // No workspace is open in this app: the read-only search fails, which is logged as a warning.
      await client.setLoggingLevel('debug');
      const first = await client.callTool({ name: 'search_code', arguments: { query: 'employees' } });
      expect(first.isError).toBe(true);
      expect(messages.map((message) => message.level)).toEqual(['debug', 'warning']);
      expect(messages[0]).toMatchObject({ logger: 'sophia-code-management', data: 'search_code called (read-only risk)' });
      expect(String(messages[1]?.data)).toMatch(/^search_code did not succeed: /);

      messages.length = 0;
      await client.setLoggingLevel('error');
      const second = await client.callTool({ name: 'search_code', arguments: { query: 'employees' } });
      expect(second.isError).toBe(true);
      expect(messages).toEqual([]);

      await client.setLoggingLevel('warning');
      await client.callTool({ name: 'search_code', arguments: { query: 'employees' } });
      expect(messages.map((message) => message.level)).toEqual(['warning']);
    } finally {
      await client.close();
    }
  }, 60_000);
});
