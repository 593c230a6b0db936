/**
 * Hooks through the real core: the real agent and model SDK against the loopback Anthropic
 * stand-in, the real audit log, hooks saved through the `hooks.save` channel, real processes.
 * UserPromptSubmit keeps a prompt from the model, PostToolUse's block reaches the model with the
 * result, a Stop hook keeps the agent working (bounded), and an MCP client's call passes the
 * PreToolUse hook like the agent's own.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { HooksConfig } from '../../../shared/hooks';
import { maxStopHookContinuations } from '../../../electron/agent/agent';
import { anthropicSuite, harness, ofType, type AgentHarness } from '../../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { testKeychain } from '../keychain/keychainSupport';
import { mcpHarness } from '../mcp/mcpHarness';

let standIn: AnthropicStandIn;
let workspace: string;
const open: AgentHarness[] = [];

anthropicSuite(open, (stood, made) => {
  standIn = stood;
  workspace = made;
});

async function setUp(hooks: HooksConfig): Promise<AgentHarness> {
  const managedPolicyFile = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-managed-')), 'policy.yaml');
  const h = harness({ endpoints: { anthropicBaseURL: standIn.baseURL }, keychain: testKeychain(), managedPolicyFile });
  h.core.settings.update({ provider: 'anthropic', workspace });
  open.push(h);
  // Through the channel the Settings section uses: validated, and audited as a request.
  const listing = await h.core.handlers['hooks.save']({ hooks }, { transport: 'test' });
  expect(listing.sources.find((source) => source.source === 'user')?.hooks).toEqual(hooks);
  return h;
}

const hookEntries = (h: AgentHarness) => h.core.safety.audit.query({ kind: 'hook.run', limit: 100 });
const notices = (events: Parameters<typeof ofType>[0]) => ofType(events, 'chat.message').filter((event) => event.message.role === 'system').map((event) => event.message.text);

describe('hooks around the agent', () => {
  it('UserPromptSubmit exit 2: the model never sees the prompt, the person sees why, the run is audited', async () => {
    const h = await setUp({ UserPromptSubmit: [{ hooks: [{ type: 'command', command: 'grep -q "api[_ ]key" && { echo "prompts must not carry keys" >&2; exit 2; }; exit 0' }] }] });
    const before = standIn.requests.length;
    const { events } = await h.turn('here is my api_key sk-123, deploy it');
    expect(standIn.requests.length).toBe(before);
    expect(notices(events).join('\n')).toContain('prompts must not carry keys');
    expect(hookEntries(h)[0]).toMatchObject({ actor: 'hook:user' });
    expect(JSON.parse(hookEntries(h)[0]!.data)).toMatchObject({ event: 'UserPromptSubmit', outcome: 'deny', exitCode: 2 });
    expect(h.core.safety.audit.query({ kind: 'request', limit: 50 }).some((entry) => entry.summary === 'hooks.save requested')).toBe(true);
    // A prompt the hook lets through reaches the model (the test can fail).
    standIn.script({ kind: 'stream', events: anthropicTurn({ text: ['Hello.'] }) });
    await h.turn('hello');
    expect(standIn.requests.length).toBe(before + 1);
  });

  it('PostToolUse "block": the model gets the result marked failed with the hook’s reason; the hook read tool_response', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-post-')), 'stdin.json');
    const h = await setUp({
      PostToolUse: [{ matcher: 'read_file', hooks: [{ type: 'command', command: `cat > '${file}'; echo '{"decision":"block","reason":"salary columns are confidential: do not quote them"}'` }] }],
    });
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Understood.'] }) },
    );
    const start = standIn.requests.length;
    await h.turn('show me the employees table');
    const second = standIn.requests[start + 1]!.body.messages.at(-1)!.content as { type: string; content: unknown; is_error?: boolean }[];
    const result = second.find((block) => block.type === 'tool_result')!;
    expect(result.is_error).toBe(true);
    expect(JSON.stringify(result.content)).toContain('salary columns are confidential');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      hook_event_name: 'PostToolUse',
      tool_name: 'read_file',
      tool_input: { path: 'sql/employees.sql' },
      tool_response: { success: true, output: expect.stringContaining('CREATE TABLE employees') },
    });
  });

  it(`Stop "block" keeps the agent working with the reason, at most ${maxStopHookContinuations} times per message`, async () => {
    const h = await setUp({ Stop: [{ hooks: [{ type: 'command', command: `echo '{"decision":"block","reason":"the tests have not run yet"}'` }] }] });
    standIn.script(...Array.from({ length: maxStopHookContinuations + 1 }, (_, i) => ({ kind: 'stream' as const, events: anthropicTurn({ text: [`Done (${i}).`] }) })));
    const start = standIn.requests.length;
    const { events } = await h.turn('finish the task');
    expect(standIn.requests.length - start).toBe(maxStopHookContinuations + 1);
    const last = standIn.requests.at(-1)!.body.messages.at(-1)!;
    expect(JSON.stringify(last.content)).toContain('the tests have not run yet');
    expect(notices(events).filter((text) => text.startsWith('A Stop hook kept Sophia working'))).toHaveLength(maxStopHookContinuations);
    expect(notices(events).some((text) => text.includes('it is not followed'))).toBe(true);
    const stopRuns = hookEntries(h).filter((entry) => JSON.parse(entry.data).event === 'Stop');
    expect(stopRuns).toHaveLength(maxStopHookContinuations + 1);
  });
});

describe('an MCP client’s call passes the PreToolUse hook', () => {
  it('a hook that denies pulumi_history refuses the client’s stack_history, and is audited', async () => {
    const h = await mcpHarness();
    try {
      await h.core.handlers['hooks.save']({ hooks: { PreToolUse: [{ matcher: 'pulumi_history', hooks: [{ type: 'command', command: 'echo "history is off limits to outside clients" >&2; exit 2' }] }] } }, { transport: 'test' });
      const client = new Client({ name: 'hook-test-client', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(h.host.url('infra')), { requestInit: { headers: { authorization: `Bearer ${h.host.endpoint.token}` } } }));
      try {
        const result = (await client.callTool({ name: 'stack_history', arguments: { stack: 'staging' } })) as CallToolResult;
        expect(result.isError).toBe(true);
        expect(JSON.stringify(result.content)).toContain('history is off limits to outside clients');
        expect(h.ran).toEqual([]);
        const runs = h.core.safety.audit.query({ kind: 'hook.run', limit: 10 });
        expect(runs).toHaveLength(1);
        expect(JSON.parse(runs[0]!.data)).toMatchObject({ event: 'PreToolUse', tool: 'pulumi_history', outcome: 'deny' });
      } finally {
        await client.close();
      }
    } finally {
      await h.close();
    }
  });
});
