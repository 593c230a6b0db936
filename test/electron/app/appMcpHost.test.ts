/**
 * The MCP endpoint as the app starts it: next to the browser host, over the same core. With
 * no tab connected nobody can approve, so a state-changing call is refused at once; with a
 * tab connected it waits for that tab's approval.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppMcpHost } from '../../../electron/app/appMcpHost';
import { mcpEndpointFileName, type McpHttpHost } from '../../../electron/mcp/mcpHttpHost';
import { makeWorkspace } from '../../support/agentFixture';
import { connect, startHost, tempDataDir } from '../../support/hostFixture';
import type { BrowserHost } from '../../../electron/host/browserHost';
import type { SophiaCore } from '../../../electron/app/sophiaCore';

let core: SophiaCore;
let host: BrowserHost;
let mcp: McpHttpHost | undefined;
const dataDir = tempDataDir();

beforeAll(async () => {
  ({ core, host } = await startHost(undefined, { dataDir }));
  core.settings.update({ workspace: await makeWorkspace() });
  mcp = await startAppMcpHost(core, dataDir, () => host.clients() > 0);
});
afterAll(async () => {
  await mcp?.close();
  await host.close();
  await core.close();
});

async function client(): Promise<Client> {
  if (!mcp) throw new Error('the MCP endpoint did not start');
  const c = new Client({ name: 'app-host-test', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(mcp.url('code')), { requestInit: { headers: { authorization: `Bearer ${mcp.endpoint.token}` } } }));
  return c;
}

const text = (result: unknown): string => (result as CallToolResult).content.map((part) => (part.type === 'text' ? part.text : '')).join('');

describe('the app MCP endpoint', () => {
  it('writes its endpoint file to the data folder for sophia-mcp', () => {
    expect(existsSync(path.join(dataDir, mcpEndpointFileName))).toBe(true);
  });

  it('refuses a state-changing call when no window or tab is connected, and runs read-only ones', async () => {
    const c = await client();
    const read = await c.callTool({ name: 'search_code', arguments: { query: 'employees' } });
    expect(read.isError ?? false).toBe(false);
    const edit = await c.callTool({ name: 'edit_code', arguments: { summary: 'change', files: [{ path: 'README.md', content: '# changed\n' }] } });
    expect(edit.isError).toBe(true);
    expect(text(edit)).toMatch(/no-approver|No one|window/i);
    await c.close();
  });

  it('holds the call for approval while a tab is connected', async () => {
    const tab = await connect(host);
    const c = await client();
    const call = c.callTool({ name: 'edit_code', arguments: { summary: 'change', files: [{ path: 'README.md', content: '# changed\n' }] } });
    await expect.poll(() => tab.events.some((frame) => frame.event.type === 'approval.request')).toBe(true);
    const request = tab.events.find((frame) => frame.event.type === 'approval.request')?.event;
    const approvalId = request && request.type === 'approval.request' ? request.approvalId : '';
    const answered = await tab.exchange(JSON.stringify({ kind: 'request', id: 1, channel: 'approval.answer', input: { approvalId, decision: 'cancel' } }));
    expect(answered.result.ok).toBe(true);
    const result = await call;
    expect(result.isError).toBe(true);
    await c.close();
    await tab.close();
  });
});
