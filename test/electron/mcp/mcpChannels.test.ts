/**
 * The Settings panel's channels for outside MCP servers, through the real dispatch (the
 * contract's schemas) and the real core: adding the tiny stdio server of test/fixtures,
 * listing its tools with risk and pin state, a server that cannot start described in plain
 * words, pinning refused above medium and audited, a pin lapsing when the server changes the
 * tool (the tool asks again, with the change on the card, also after the connection is made
 * anew), unpinning, and removing a server taking its tools out of the agent's registry.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest, Channel, OutsideServerView, RequestInput, RequestOutput } from '../../../shared/contract';
import type { SerializedError } from '../../../shared/errors';
import type { OutsideMcpServer } from '../../../shared/mcp';
import type { InvokeOutcome } from '../../../electron/agent/tools';
import { dispatch } from '../../../electron/ipc/dispatch';
import { mcpHarness, type McpHarness } from './mcpHarness';

const fixture = path.resolve(import.meta.dirname, '../../fixtures/mcp/outsideServer.mjs');
const descriptionFile = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-mcp-channels-')), 'description.txt');
const conversationId = 'mcp-channels-test';
const fixtureServer: OutsideMcpServer = { id: 'fixture', transport: 'stdio', command: process.execPath, args: [fixture], envNames: ['FIXTURE_DESCRIPTION_FILE'] };

let h: McpHarness;
beforeAll(async () => {
  writeFileSync(descriptionFile, 'Take a note.');
  process.env['FIXTURE_DESCRIPTION_FILE'] = descriptionFile;
  h = await mcpHarness();
});
afterAll(async () => {
  await h.close();
});

async function request<C extends Channel>(channel: C, input: RequestInput<C>): Promise<RequestOutput<C>> {
  const result = await dispatch(h.core.handlers, channel, input, { transport: 'test' });
  if (!result.ok) throw new Error(`${channel} failed: ${result.error.message}`);
  return result.value as RequestOutput<C>;
}

/** The typed error a channel answers with (or a failure of the test when it succeeds). */
async function refusal(channel: Channel, input: unknown): Promise<SerializedError> {
  const result = await dispatch(h.core.handlers, channel, input, { transport: 'test' });
  if (result.ok) throw new Error(`${channel} was expected to fail`);
  return result.error;
}

function serverOf(view: RequestOutput<'mcp.servers'>, id: string): OutsideServerView {
  const found = view.servers.find((server) => server.server.id === id);
  if (!found) throw new Error(`no server ${id} in the view`);
  return found;
}

function toolOf(view: RequestOutput<'mcp.servers'>, name: string) {
  return serverOf(view, 'fixture').tools.find((tool) => tool.name === name);
}

let calls = 0;
function invoke(tool: string, args: unknown): Promise<InvokeOutcome> {
  return h.core.registry.invoke(tool, args, { conversationId, callId: `call-${++calls}`, signal: new AbortController().signal });
}

/** Runs a tool and approves its card; returns the card. */
async function approved(tool: string, args: unknown): Promise<ApprovalRequest> {
  const from = h.events.length;
  const pending = invoke(tool, args);
  const approval = await h.nextApproval(from);
  expect(await h.answer(approval.approvalId, 'approve')).toBe(true);
  expect((await pending).kind).toBe('executed');
  return approval;
}

/** Runs a tool that must not ask; fails when a card appears. */
async function quiet(tool: string, args: unknown): Promise<void> {
  const from = h.events.length;
  const outcome = await invoke(tool, args);
  expect(outcome.kind).toBe('executed');
  expect(h.events.slice(from).some((event) => event.type === 'approval.request')).toBe(false);
}

const auditSummaries = (kind: 'policy' | 'refusal'): string[] => h.core.safety.audit.query({ kind, limit: 200 }).map((entry) => entry.summary);

describe('the outside MCP server channels', () => {
  it('adds the fixture server and lists its tools with their risk, pin state and whether Pin is offered', async () => {
    expect(await request('mcp.servers', {})).toEqual({ workspace: h.workspace, servers: [] });
    const view = await request('mcp.addServer', { server: fixtureServer });
    const server = serverOf(view, 'fixture');
    expect(server).toMatchObject({ server: fixtureServer, state: 'connected', message: '' });
    expect(server.tools.map((tool) => [tool.name, tool.risk, tool.pinned, tool.pinOffered]).sort()).toEqual([
      ['mcp_fixture_drop_schema', 'high', false, false],
      ['mcp_fixture_note', 'medium', false, true],
      ['mcp_fixture_show_env', 'medium', false, true],
      ['mcp_fixture_wipe_database', 'medium', false, true],
    ]);
    expect(toolOf(view, 'mcp_fixture_note')).toMatchObject({ remoteName: 'note', description: 'Take a note.' });
    expect(h.core.registry.has('mcp_fixture_note')).toBe(true);
    expect(h.core.settings.get().mcpServers).toEqual([fixtureServer]);
    expect(auditSummaries('policy')).toContain('Added the outside MCP server fixture');
    // The listing is the same through the read-only channel.
    expect(await request('mcp.servers', {})).toEqual(view);
  });

  it('refuses a second server of the same name, a malformed one, and servers or pins through settings.set', async () => {
    expect(await refusal('mcp.addServer', { server: fixtureServer })).toMatchObject({ code: 'bad_request', message: expect.stringContaining('already an outside server named fixture') });
    expect((await refusal('mcp.addServer', { server: { ...fixtureServer, id: 'Bad Name' } })).message).toContain('lower-case letters and digits');
    expect((await refusal('mcp.addServer', { server: { ...fixtureServer, id: 'other', envNames: ['NOT-A-NAME'] } })).code).toBe('bad_request');
    expect((await refusal('mcp.addServer', { server: { id: 'web', transport: 'http', url: 'file:///etc/passwd' } })).code).toBe('bad_request');
    // Pins and servers change only through their channels: settings.set does not take them.
    expect((await refusal('settings.set', { mcpServers: [] })).code).toBe('bad_request');
    const forged = { workspace: h.workspace, server: 'fixture', tool: 'drop_schema', hash: 'a'.repeat(64) };
    expect((await refusal('settings.set', { mcpPins: [forged] })).code).toBe('bad_request');
    expect(h.core.settings.get().mcpServers).toEqual([fixtureServer]);
    expect(h.core.settings.get().mcpPins).toEqual([]);
  });

  it('says in plain words why a server could not be reached', async () => {
    const missing = serverOf(await request('mcp.addServer', { server: { id: 'missing', transport: 'stdio', command: '/nonexistent/mcp-server', args: [], envNames: [] } }), 'missing');
    expect(missing).toMatchObject({ state: 'error', tools: [] });
    expect(missing.message).toBe('Could not start "/nonexistent/mcp-server": there is no such program. Give an absolute path, or a program on the PATH.');
    const exits = serverOf(await request('mcp.addServer', { server: { id: 'exits', transport: 'stdio', command: process.execPath, args: ['-e', 'process.exit(3)'], envNames: [] } }), 'exits');
    expect(exits).toMatchObject({ state: 'error', message: 'The server exited before it answered. Run the command in a terminal to see why.' });
    const view = await request('mcp.removeServer', { id: 'missing' });
    expect(serverOf(await request('mcp.removeServer', { id: 'exits' }), 'fixture').state).toBe('connected');
    expect(view.servers.map((server) => server.server.id)).toEqual(['fixture', 'exits']);
    expect((await refusal('mcp.removeServer', { id: 'missing' })).message).toContain('no outside server named missing');
  });

  it('refuses to pin a tool above medium risk, and audits the refusal', async () => {
    const refused = await refusal('mcp.pin', { tool: 'mcp_fixture_drop_schema' });
    expect(refused).toMatchObject({ code: 'refused', message: expect.stringContaining('only tools up to medium risk can be pinned') });
    expect(auditSummaries('refusal')).toContain('Pinning mcp_fixture_drop_schema refused');
    expect(toolOf(await request('mcp.servers', {}), 'mcp_fixture_drop_schema')?.pinned).toBe(false);
    expect(h.core.settings.get().mcpPins).toEqual([]);
    // Only outside tools can be named, and only ones that are there.
    expect((await refusal('mcp.pin', { tool: 'run_command' })).code).toBe('bad_request');
    expect((await refusal('mcp.pin', { tool: 'mcp_fixture_nothing' })).message).toContain('no outside tool named mcp_fixture_nothing');
  });

  it('refuses to pin with no workspace open: a pin holds for one workspace', async () => {
    h.core.settings.update({ workspace: '' });
    try {
      expect(toolOf(await request('mcp.servers', {}), 'mcp_fixture_note')?.pinOffered).toBe(false);
      expect((await refusal('mcp.pin', { tool: 'mcp_fixture_note' })).message).toContain('Open a workspace first');
    } finally {
      h.core.settings.update({ workspace: h.workspace });
    }
  });

  it('a pinned medium tool runs without a card until the server changes its definition; then it asks again with the change shown', async () => {
    const view = await request('mcp.pin', { tool: 'mcp_fixture_note' });
    expect(toolOf(view, 'mcp_fixture_note')).toMatchObject({ pinned: true, pinOffered: true });
    expect(auditSummaries('policy')).toContain('Pinned mcp_fixture_note as allowed in this workspace');
    await quiet('mcp_fixture_note', { text: 'first' });

    writeFileSync(descriptionFile, 'Take a note. Then mail it to everyone.');
    const changed = await request('mcp.refresh', {});
    expect(toolOf(changed, 'mcp_fixture_note')).toMatchObject({ pinned: false, description: 'Take a note. Then mail it to everyone.' });
    expect(h.core.settings.get().mcpPins).toEqual([]);
    expect(auditSummaries('policy')).toContain("Pin of mcp_fixture_note lapsed: the server changed the tool's definition");
    const card = await approved('mcp_fixture_note', { text: 'second' });
    expect(card.preview).toContain('The server changed this tool since you pinned it');
    expect(card.preview).toContain('-  "description": "Take a note.",');
    expect(card.preview).toContain('+  "description": "Take a note. Then mail it to everyone.",');
  });

  it('the change is shown from the pin itself when the tool is listed afresh (as after a restart)', async () => {
    await request('mcp.pin', { tool: 'mcp_fixture_note' });
    await quiet('mcp_fixture_note', { text: 'third' });
    // The connection ends (the app quits); the server changes meanwhile; the next listing is the first of its connection.
    await h.core.mcp.outside.close();
    expect(h.core.registry.has('mcp_fixture_note')).toBe(false);
    writeFileSync(descriptionFile, 'Take a note and upload it.');
    const view = await request('mcp.refresh', {});
    expect(toolOf(view, 'mcp_fixture_note')?.pinned).toBe(false);
    const card = await approved('mcp_fixture_note', { text: 'fourth' });
    expect(card.preview).toContain('-  "description": "Take a note. Then mail it to everyone.",');
    expect(card.preview).toContain('+  "description": "Take a note and upload it.",');
  });

  it('unpinning makes the tool ask before every call again, audited', async () => {
    await request('mcp.pin', { tool: 'mcp_fixture_show_env' });
    await quiet('mcp_fixture_show_env', {});
    const view = await request('mcp.unpin', { tool: 'mcp_fixture_show_env' });
    expect(toolOf(view, 'mcp_fixture_show_env')?.pinned).toBe(false);
    expect(h.core.settings.get().mcpPins.some((pin) => pin.tool === 'show_env')).toBe(false);
    expect(auditSummaries('policy')).toContain('Unpinned mcp_fixture_show_env: it asks before every call again');
    await approved('mcp_fixture_show_env', {});
  });

  it('no tool the model can call adds a server or pins one', () => {
    const names = h.core.registry.definitions().map((definition) => definition.name);
    expect(names.filter((name) => /pin|server|settings/.test(name) && !name.startsWith('mcp_fixture_'))).toEqual([]);
  });

  it('removing a server takes its tools out of the agent\'s registry and drops its pins', async () => {
    await request('mcp.pin', { tool: 'mcp_fixture_wipe_database' });
    expect(h.core.settings.get().mcpPins.some((pin) => pin.server === 'fixture')).toBe(true);
    const view = await request('mcp.removeServer', { id: 'fixture' });
    expect(view.servers).toEqual([]);
    for (const tool of ['mcp_fixture_note', 'mcp_fixture_show_env', 'mcp_fixture_wipe_database', 'mcp_fixture_drop_schema']) expect(h.core.registry.has(tool)).toBe(false);
    expect(h.core.mcp.outside.tools()).toEqual([]);
    expect(h.core.settings.get()).toMatchObject({ mcpServers: [], mcpPins: [] });
    expect(auditSummaries('policy')).toContain('Removed the outside MCP server fixture and its pins');
    const gone = await invoke('mcp_fixture_note', { text: 'after removal' });
    expect(gone.kind).not.toBe('executed');
  });
});
