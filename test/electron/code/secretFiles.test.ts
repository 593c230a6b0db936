/**
 * Secret files through the real core and agent (the real Anthropic SDK against the loopback
 * stand-in): the model cannot open `.env` itself, by any tool; once the person opens it
 * through the request channel, read_file reads it; other secret files stay refused, writes
 * stay refused, closing refuses it again, and opening and closing are audited.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ofType } from '../../support/agentFixture';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { codeHarness, context, type CodeHarness } from './codeHarness';

let model: AnthropicStandIn;
let h: CodeHarness;

beforeAll(async () => {
  model = await startAnthropicStandIn();
});

afterAll(async () => {
  await model.close();
});

beforeEach(async () => {
  model.requests.length = 0;
  h = await codeHarness({ endpoints: { anthropicBaseURL: model.baseURL } });
  await writeFile(path.join(h.workspace, '.env'), 'DATABASE_URL=postgres://payroll@db/payroll\n');
  await writeFile(path.join(h.workspace, '.env.production'), 'DATABASE_URL=postgres://prod@db/payroll\n');
  await writeFile(path.join(h.workspace, 'id_rsa'), 'PRIVATE KEY MATERIAL\n');
});

afterEach(async () => {
  await h.core.close();
});

/** One agent turn in which the model calls `tools` in order, then ends; the tool results as the chat saw them. */
async function modelCalls(...tools: { name: string; input: unknown }[]) {
  model.script(...tools.map((tool) => ({ kind: 'stream' as const, events: anthropicTurn({ tools: [tool] }) })), { kind: 'stream', events: anthropicTurn({ text: ['Done.'] }) });
  const { events } = await h.turn('show me what the .env file configures');
  return ofType(events, 'tool.result');
}

const open = (file: string) => h.core.handlers['workspace.openSecretFile']({ path: file }, context);
const close = (file: string) => h.core.handlers['workspace.closeSecretFile']({ path: file }, context);

describe('secret files', () => {
  it('the model cannot open one itself: read_file is refused, and there is no tool that opens it', async () => {
    const results = await modelCalls(
      { name: 'read_file', input: { path: '.env' } },
      { name: 'read_file', input: { path: './sql/../.env' } },
    );
    expect(results.map((result) => result.ok)).toEqual([false, false]);
    expect(results[0]?.output).toMatch(/\.env looks like a file that holds secrets .* unless you open it yourself/);
    // No tool that opens one is offered to the model (a scripted model may only call what it was offered).
    expect(model.requests[0]?.body.tools?.map((tool) => tool.name).filter((name) => /secret/i.test(name))).toEqual([]);
    // No registered tool can grant anything: every tool name and description, none about opening secrets.
    expect(h.core.registry.definitions().filter((tool) => /secret/i.test(`${tool.name} ${tool.description}`))).toEqual([]);
    expect(JSON.stringify(model.requests.map((request) => request.body.messages))).not.toContain('postgres://payroll');
    expect(await h.core.handlers['workspace.secretFiles']({}, context)).toEqual({ paths: [] });
  });

  it('after the person opens .env, read_file reads it; other secret files and writes stay refused', async () => {
    expect(await open('.env')).toEqual({ paths: ['.env'] });
    const results = await modelCalls(
      { name: 'read_file', input: { path: '.env' } },
      { name: 'read_file', input: { path: '.env.production' } },
      { name: 'read_file', input: { path: 'id_rsa' } },
    );
    expect(results[0]).toMatchObject({ ok: true, output: 'DATABASE_URL=postgres://payroll@db/payroll\n' });
    expect(results[1]?.output).toMatch(/\.env\.production looks like a file that holds secrets/);
    expect(results[2]?.output).toMatch(/id_rsa looks like a file that holds secrets/);
    // What the model got back is the file, as the person allowed.
    expect(JSON.stringify(model.requests[1]?.body.messages)).toContain('postgres://payroll@db/payroll');

    // Opening is for reading: a proposal to write it cannot be applied.
    const { proposal } = await h.propose({ summary: 'rotate', files: [{ path: '.env', content: 'DATABASE_URL=x\n' }] });
    expect(proposal.status).toBe('failed');
    expect(proposal.message).toMatch(/\.env looks like a file that holds secrets/);
    await h.answer({ proposalId: proposal.proposalId, action: 'cancel' });

    // Audited as the person's act, with the file named.
    const entries = h.core.safety.audit.query({ kind: 'secret' });
    expect(entries.map((entry) => [entry.actor, entry.summary])).toContainEqual(['user', "secret file .env opened for the agent's read tools"]);
  });

  it('closing it refuses it again, and that is audited too', async () => {
    await open('.env');
    expect(await close('.env')).toEqual({ paths: [] });
    const results = await modelCalls({ name: 'read_file', input: { path: '.env' } });
    expect(results[0]?.ok).toBe(false);
    expect(h.core.safety.audit.query({ kind: 'secret' }).map((entry) => entry.summary)).toContain('secret file .env closed to the agent');
    expect(() => close('.env')).toThrow(/not open/);
  });

  it('opens only existing secret files inside the workspace', async () => {
    await expect(open('README.md')).rejects.toThrow(/not a secret file; the agent can read it already/);
    await expect(open('../.env')).rejects.toThrow(/outside the workspace/);
    await expect(open('/etc/shadow')).rejects.toThrow(/absolute path/);
    await expect(open('.git/config')).rejects.toThrow(/inside \.git\//);
    await expect(open('config/.env')).rejects.toThrow(/does not exist/);
    expect(await h.core.handlers['workspace.secretFiles']({}, context)).toEqual({ paths: [] });
  });

  it('an opening holds for its workspace only', async () => {
    await open('.env');
    const other = await mkdtemp(path.join(os.tmpdir(), 'sophia-other-'));
    await mkdir(path.join(other, 'sql'));
    await writeFile(path.join(other, '.env'), 'OTHER=1\n');
    h.core.settings.update({ workspace: other });
    expect(await h.core.handlers['workspace.secretFiles']({}, context)).toEqual({ paths: [] });
    const results = await modelCalls({ name: 'read_file', input: { path: '.env' } });
    expect(results[0]?.ok).toBe(false);
    h.core.settings.update({ workspace: h.workspace });
    expect(await h.core.handlers['workspace.secretFiles']({}, context)).toEqual({ paths: ['.env'] });
  });
});
