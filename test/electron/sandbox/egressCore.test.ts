/**
 * Egress and a run secret through the whole core, against the real Docker engine, the real
 * sandbox image and the real OS keychain (Secret Service): the person saves NOTION_TOKEN in
 * Settings (runSecrets.set), the scripted model asks run_command for egress to a loopback
 * API stand-in and for NOTION_TOKEN, the card is high risk, names the host and the secret
 * and offers no session approval, the person approves, the command reaches the stand-in with
 * the token, and the value is nowhere it must not be: not in the model's requests, the
 * events (chat, execution log), the app log, the audit log or the database files.
 */
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest, SophiaEvent } from '../../../shared/contract';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { tempDataDir } from '../../support/hostFixture';
import { testKeychain } from '../keychain/keychainSupport';
import { containersOf, newService } from './support';

const token = `secret_${Math.random().toString(36).slice(2)}TokenValue42`;
const forms = [token, Buffer.from(token).toString('base64').slice(0, 24), encodeURIComponent(token)];

let model: AnthropicStandIn;
let core: SophiaCore;
let workspace: string;
let dataDir: string;
let api: Server;
let apiPort: number;
const received: string[] = [];
const events: SophiaEvent[] = [];
const logLines: string[] = [];
const { service } = newService();
let closed = false;
const writeStderr = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  process.env['SOPHIA_LOG_LEVEL'] = 'debug';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logLines.push(String(chunk));
    return (writeStderr as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  // The stand-in API echoes the Authorization header back: the command prints it, so the output must be cut.
  api = createServer((request, response) => {
    received.push(request.headers.authorization ?? '');
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ object: 'list', results: [], echoed: request.headers.authorization }));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiPort = (api.address() as net.AddressInfo).port;
  model = await startAnthropicStandIn();
  workspace = await mkdtemp(path.join(tmpdir(), 'sophia-egress-ws-'));
  await writeFile(
    path.join(workspace, 'sync.py'),
    `import json, os, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + os.environ["NOTION_TOKEN"]})
body = json.loads(urllib.request.urlopen(req, timeout=10).read())
print("status ok, echoed:", body["echoed"])
`,
  );
  await chmod(workspace, 0o755);
  dataDir = tempDataDir();
  core = createSophiaCore({
    host: 'browser',
    dataDir,
    keychain: testKeychain(),
    secrets: { get: async () => 'sk-ant-egress-test' },
    endpoints: { anthropicBaseURL: model.baseURL },
    sandbox: service,
    approvalTimeoutMs: 120_000,
  });
  core.settings.update({ workspace });
  core.events.subscribe((event) => {
    events.push(event);
    if (event.type === 'approval.request') queueMicrotask(() => core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' }));
  });
  expect((await service.start()).state).toBe('ready');
}, 120_000);

afterAll(async () => {
  process.stderr.write = writeStderr;
  if (!closed) await core?.close();
  await model?.close();
  await new Promise((resolve) => api.close(resolve));
  await rm(workspace, { recursive: true, force: true });
});

describe('egress and a run secret through the core', () => {
  it('are granted on a high-risk card naming them, reach the stand-in, and the value appears nowhere', async () => {
    await core.handlers['runSecrets.set']({ name: 'NOTION_TOKEN', value: token }, { transport: 'test' });
    const listed = await core.handlers['runSecrets.list']({}, { transport: 'test' });
    expect(listed.secrets).toEqual([{ name: 'NOTION_TOKEN', set: true }]);
    expect(JSON.stringify(listed)).not.toContain(token);

    const input = { command: `python3 sync.py http://127.0.0.1:${apiPort}/v1/databases/query`, egress: [`127.0.0.1:${apiPort}`], secrets: ['NOTION_TOKEN'], timeoutSeconds: 60 };
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Reproducing the sync against the API.'], tools: [{ name: 'run_command', input }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The sync reached the API.'] }) },
    );
    const sent = core.agent.send('the Notion sync is failing, please investigate');
    await core.agent.whenIdle(sent.conversationId);

    const card = events.find((event): event is ApprovalRequest => event.type === 'approval.request');
    expect(card).toMatchObject({ tool: 'run_command', risk: 'high', sessionApproval: false, grants: { hosts: [`127.0.0.1:${apiPort}`], secrets: ['NOTION_TOKEN'] } });
    const result = events.find((event): event is Extract<SophiaEvent, { type: 'tool.result' }> => event.type === 'tool.result');
    expect(result?.ok).toBe(true);
    expect(result?.output).toContain('status ok, echoed: Bearer [redacted:NOTION_TOKEN]');
    expect(result?.output).toContain('Egress: 1 connection(s) allowed, 0 refused.');
    // The command really had the value: the stand-in received it.
    expect(received).toEqual([`Bearer ${token}`]);

    // Every proxy connection is in the audit log; the set is audited by name only.
    const egress = core.safety.audit.query({ kind: 'egress' });
    expect(egress.map((entry) => JSON.parse(entry.data).event).sort()).toEqual(['close', 'open']);
    const setEntries = core.safety.audit.query({ kind: 'request' }).filter((entry) => entry.summary.startsWith('runSecrets.set'));
    expect(setEntries).toHaveLength(1);
    expect(setEntries[0]?.data).toContain('NOTION_TOKEN');

    await core.handlers['runSecrets.remove']({ name: 'NOTION_TOKEN' }, { transport: 'test' });
    expect((await core.handlers['runSecrets.list']({}, { transport: 'test' })).secrets).toEqual([]);
    await core.close();
    closed = true;
    const places: Record<string, string> = {
      'model requests': JSON.stringify(model.requests.map((request) => request.body)),
      events: JSON.stringify(events),
      'app log': logLines.join(''),
    };
    for (const file of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
      if (file.isFile()) places[`data file ${file.name}`] = readFileSync(path.join(file.parentPath, file.name)).toString('latin1');
    }
    expect(Object.keys(places).some((name) => name.includes('sophia.db'))).toBe(true);
    expect(Object.keys(places).some((name) => name.includes('audit.db'))).toBe(true);
    for (const [place, text] of Object.entries(places)) for (const form of forms) expect(text.includes(form), `${place} holds ${form === token ? 'the value' : 'an encoding of it'}`).toBe(false);
    expect(places['model requests']).toContain('[redacted:NOTION_TOKEN]');
    expect(await containersOf(service.ownerId)).toEqual([]);
  }, 180_000);
});
