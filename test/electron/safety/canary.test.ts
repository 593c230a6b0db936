/**
 * A canary: credentials stored through the settings channel (in the real keychain) never
 * appear in the SQLite files, the logs, what the renderer receives, or a request body to
 * the model stand-in, even when the user pastes one into the chat and a workspace file
 * the model reads holds another.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBrowserHost, type BrowserHost } from '../../../electron/host/browserHost';
import { connect, rendererDir, type TestSocket } from '../../support/hostFixture';
import { makeWorkspace } from '../../support/agentFixture';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { secretNames } from '../../../shared/contract';
import { safetyHarness, type SafetyHarness } from './safetyHarness';

const apiKey = `sk-ant-api03-CANARY${'k'.repeat(40)}`;
const githubToken = 'canary-github-7e1f0c5a2b9d';
const snowflakePassword = 'canary "snow" \\ pass';

let standIn: AnthropicStandIn;
let h: SafetyHarness;
let host: BrowserHost;
let socket: TestSocket;
const logged: string[] = [];

beforeAll(async () => {
  standIn = await startAnthropicStandIn();
  const workspace = await makeWorkspace();
  await writeFile(path.join(workspace, 'deploy.env'), `GITHUB_TOKEN=${githubToken}\nSNOWFLAKE_PASSWORD=${snowflakePassword}\n`);
  // Every log line the main process writes, at every level.
  vi.stubEnv('SOPHIA_LOG_LEVEL', 'debug');
  const write = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logged.push(String(chunk));
    return write(chunk as string, ...(rest as []));
  });
  // No stand-in key: the provider reads the Anthropic key from the keychain, where the settings put it.
  h = safetyHarness({ endpoints: { anthropicBaseURL: standIn.baseURL }, secrets: undefined });
  h.core.settings.update({ provider: 'anthropic', workspace });
  host = await startBrowserHost({ core: h.core, rendererDir });
  socket = await connect(host);
});

afterAll(async () => {
  for (const name of secretNames) h.core.safety.secrets.remove(name);
  await socket?.close();
  await host?.close();
  await h?.core.close();
  await standIn?.close();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

let nextId = 1;
const request = (channel: string, input: unknown) => socket.exchange(JSON.stringify({ kind: 'request', id: nextId++, channel, input }));

describe('a stored credential', () => {
  it('goes in through the settings channel and never comes back', async () => {
    for (const [name, value] of [['anthropic-api-key', apiKey], ['github-token', githubToken], ['snowflake-password', snowflakePassword]] as const) {
      expect((await request('secrets.set', { name, value })).result).toEqual({ ok: true, value: { name, set: true } });
    }
    const listed = await request('secrets.list', {});
    expect(listed.result).toMatchObject({ ok: true, value: { keychain: { available: true } } });
    expect(JSON.stringify(listed)).not.toContain(githubToken);
  });

  it('is cut from the chat, from tool output, from the model’s requests, from the stores and the logs', async () => {
    standIn.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Reading deploy.env.'], tools: [{ name: 'read_file', input: { path: 'deploy.env' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The file sets two credentials; I will not repeat them.'] }) },
    );
    const sent = await request('chat.send', { text: `my token is ${githubToken}, check deploy.env uses it` });
    expect(sent.result.ok).toBe(true);
    const conversationId = (sent.result as { value: { conversationId: string } }).value.conversationId;
    await h.core.agent.whenIdle(conversationId);
    const opened = await request('conversation.open', { conversationId });
    const audited = await request('audit.query', { limit: 500 });
    await vi.waitFor(() => expect(socket.events.some((frame) => frame.event.type === 'chat.message' && frame.event.message.text.includes('will not repeat'))).toBe(true));

    // The provider did use the key from the keychain, in its header; never in a body.
    expect(standIn.requests.length).toBe(2);
    expect(standIn.requests[0]?.headers['authorization'] ?? standIn.requests[0]?.headers['x-api-key']).toContain(apiKey);
    const bodies = JSON.stringify(standIn.requests.map((r) => r.body));
    expect(bodies).toContain('[redacted:github-token]');

    const renderer = JSON.stringify([socket.events, opened, audited]);
    const databases = readdirSync(h.dataDir)
      .filter((file) => /\.db(-wal|-shm)?$/.test(file))
      .map((file) => readFileSync(path.join(h.dataDir, file)));
    expect(databases.length).toBeGreaterThanOrEqual(2);
    const logs = logged.join('');
    expect(logs.length).toBeGreaterThan(0);

    for (const canary of [apiKey, githubToken, snowflakePassword, JSON.stringify(snowflakePassword).slice(1, -1)]) {
      expect(bodies, 'model request bodies').not.toContain(canary);
      expect(renderer, 'what the renderer received').not.toContain(canary);
      expect(logs, 'logs').not.toContain(canary);
      for (const bytes of databases) expect(bytes.includes(Buffer.from(canary)), 'SQLite files').toBe(false);
    }
  });
});
