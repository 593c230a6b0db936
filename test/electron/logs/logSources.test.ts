/**
 * Log sources and read_logs through the real core: the channels the person uses (checked,
 * audited, persisted with the settings), and read_logs through the registry and the real
 * approval gate (the person approves each card) over real files in a temporary folder outside
 * the workspace: a rotated folder with a compressed file and a link out of it, timestamped
 * lines and a stack trace, a log without timestamps (its modification time decides), a file
 * larger than the read limit. A keychain value (the real Secret Service) never comes back,
 * and the filter cannot be used to probe for it. Run inside dbus-run-session (see .ci/run).
 */
import { appendFile, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsInput, requests, type SophiaEvent } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import { mcpToolSpecs } from '../../../electron/mcp/mcpTools';
import { tempDataDir } from '../../support/hostFixture';
import { makeWorkspace } from '../../support/agentFixture';
import { testKeychain } from '../keychain/keychainSupport';

const secretValue = 'Sn0wfl4ke-Pa55-Canary-7781';
const ctx = { transport: 'test' as const };

let core: SophiaCore;
let workspace: string;
let logs: string;
let calls = 0;
const events: SophiaEvent[] = [];

const iso = (msAgo: number): string => new Date(Date.now() - msAgo).toISOString();
const minutes = 60_000;

async function readLogs(args: Record<string, unknown>): Promise<{ ok: boolean; output: string }> {
  calls += 1;
  const outcome = await core.registry.invoke('read_logs', args, { conversationId: 'logs-test', callId: `call-${calls}`, signal: new AbortController().signal });
  if (outcome.kind === 'invalid-input') return { ok: false, output: `invalid: ${outcome.message}` };
  if (outcome.kind === 'denied') return { ok: false, output: `denied: ${outcome.decision.reasons.join(' ')}` };
  return outcome.result;
}

async function saveError(input: Parameters<SophiaCore['handlers']['logSources.save']>[0]): Promise<SophiaError> {
  const error = await Promise.resolve()
    .then(() => core.handlers['logSources.save'](input, ctx))
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  expect(error).toBeInstanceOf(SophiaError);
  return error as SophiaError;
}

beforeAll(async () => {
  workspace = await makeWorkspace();
  logs = await mkdtemp(path.join(tmpdir(), 'sophia-logs-'));
  core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), keychain: testKeychain(), secrets: { get: async () => 'sk-ant-test-key' } });
  core.settings.update({ workspace });
  // The person approves every card.
  core.events.subscribe((event) => {
    events.push(event);
    if (event.type === 'approval.request') queueMicrotask(() => core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'approve' }));
  });
  await core.handlers['secrets.set']({ name: 'snowflake-password', value: secretValue }, ctx);

  // A rotated folder: app.log (newest), app.log.1, a compressed app.log.2.gz, a link out of it, a link within it.
  const rotated = path.join(logs, 'rotated');
  await mkdir(rotated);
  await writeFile(
    path.join(rotated, 'app.log.1'),
    [`${iso(180 * minutes)} INFO sync started`, `${iso(170 * minutes)} ERROR notion 429 Too Many Requests (retry-after 2)`, `${iso(160 * minutes)} INFO sync ended`].join('\n') + '\n',
  );
  await utimes(path.join(rotated, 'app.log.1'), new Date(Date.now() - 160 * minutes), new Date(Date.now() - 160 * minutes));
  await writeFile(
    path.join(rotated, 'app.log'),
    [
      `${iso(40 * minutes)} INFO sync started`,
      `${iso(30 * minutes)} ERROR notion 429 Too Many Requests (retry-after 2)`,
      'Traceback (most recent call last):',
      '  File "sync.py", line 12, in fetch_pages',
      `${iso(10 * minutes)} WARN page 2 of 3 never fetched; token=${secretValue}`,
      `${iso(5 * minutes)} INFO sync ended with 1 error`,
    ].join('\n') + '\n',
  );
  await writeFile(path.join(rotated, 'app.log.2.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x41, 0x42]));
  await writeFile(path.join(logs, 'outside.txt'), 'a file beside the folder, not in it\n');
  await symlink(path.join(logs, 'outside.txt'), path.join(rotated, 'escape.log'));
  await symlink(path.join(rotated, 'app.log.1'), path.join(rotated, 'previous.log'));
  // A log without timestamps, last written two hours ago.
  await writeFile(path.join(logs, 'plain.log'), 'starting worker\nworker crashed: out of memory\n');
  await utimes(path.join(logs, 'plain.log'), new Date(Date.now() - 120 * minutes), new Date(Date.now() - 120 * minutes));
});

afterAll(async () => {
  await core?.close();
  await rm(logs, { recursive: true, force: true });
  await rm(workspace, { recursive: true, force: true });
});

describe('log sources in Settings (the person\'s channels)', () => {
  it('saves a folder and a file, lists them, and keeps them with the settings', async () => {
    const saved = await core.handlers['logSources.save']({ name: 'app', kind: 'file', path: path.join(logs, 'rotated') }, ctx);
    expect(saved.sources).toEqual([{ name: 'app', kind: 'file', path: path.join(logs, 'rotated') }]);
    await core.handlers['logSources.save']({ name: 'plain', kind: 'file', path: path.join(logs, 'plain.log') }, ctx);
    expect((await core.handlers['logSources.list']({}, ctx)).sources.map((source) => source.name)).toEqual(['app', 'plain']);
    expect(core.settings.get().logSources).toHaveLength(2);
  });

  it('expands ~ to the home folder when it saves', async () => {
    const home = process.env['HOME'];
    process.env['HOME'] = logs;
    try {
      const saved = await core.handlers['logSources.save']({ name: 'home', kind: 'file', path: '~/plain.log' }, ctx);
      expect(saved.sources.find((source) => source.name === 'home')).toEqual({ name: 'home', kind: 'file', path: path.join(logs, 'plain.log') });
    } finally {
      process.env['HOME'] = home;
    }
    await core.handlers['logSources.remove']({ name: 'home' }, ctx);
  });

  it('refuses a missing file, a path inside the workspace and a missing container, naming the field', async () => {
    const missing = await saveError({ name: 'gone', kind: 'file', path: path.join(logs, 'nope.log') });
    expect(missing.message).toContain('does not exist');
    expect(missing.data).toEqual({ field: 'path' });
    const inside = await saveError({ name: 'ws', kind: 'file', path: path.join(workspace, 'README.md') });
    expect(inside.message).toContain('inside the workspace');
    expect(inside.data).toEqual({ field: 'path' });
    const relative = await saveError({ name: 'rel', kind: 'file', path: 'logs/app.log' });
    expect(relative.message).toContain('absolute');
    expect(core.settings.get().logSources.map((source) => source.name)).toEqual(['app', 'plain']);
  });

  it('is changed only through its own channels: Settings → Save cannot carry log sources, and no tool or MCP tool changes them', () => {
    expect(settingsInput.safeParse({ logSources: [{ name: 'etc', kind: 'file', path: '/etc' }] }).success).toBe(false);
    expect(Object.keys(requests).filter((channel) => channel.startsWith('logSources.'))).toEqual(['logSources.list', 'logSources.save', 'logSources.remove']);
    // The only tool that names log sources reads them: its arguments cannot carry a path, a container or a command.
    const touching = core.registry.definitions().filter((definition) => /log.?source/i.test(`${definition.name} ${JSON.stringify(definition.input.toJSONSchema())}`));
    // report_diagnosis quotes a source by name only (read-only, it changes nothing).
    expect(touching.map((definition) => definition.name).sort()).toEqual(['read_logs', 'report_diagnosis']);
    expect(core.registry.definitions(['report_diagnosis'])[0]?.risk).toBe('read-only');
    const readLogs = core.registry.definitions(['read_logs'])[0];
    expect(readLogs?.risk).toBe('low');
    expect(Object.keys((readLogs?.input.toJSONSchema() as { properties: object }).properties).sort()).toEqual(['fixed', 'grep', 'since', 'source', 'tail', 'until']);
    expect(mcpToolSpecs('code', core.registry).map((spec) => spec.name)).toContain('read_logs');
    expect(mcpToolSpecs('code', core.registry).find((spec) => spec.name === 'read_logs')?.uses).toEqual(['read_logs']);
  });

  it('a call with a path of its own is refused by the schema and adds nothing', async () => {
    const result = await readLogs({ source: 'app', path: '/etc' });
    expect(result.output).toMatch(/^invalid: .*Unrecognized key/);
    expect(core.settings.get().logSources.map((source) => source.name)).toEqual(['app', 'plain']);
  });
});

describe('read_logs over files', () => {
  it('reads a rotated folder newest first: the tail, file by file, skipping the binary file and refusing the link out', async () => {
    const result = await readLogs({ source: 'app', tail: 3 });
    expect(result.ok).toBe(true);
    const [header, body] = result.output.split('\n---\n');
    expect(header).toContain(`Log source: app (file; folder ${path.join(logs, 'rotated')}`);
    // Reading stopped at the tail: the stack trace's record was decided whole, so more matched than were kept.
    expect(header).toContain('Lines: at least 5 matched, 3 returned (tail 3)');
    expect(header).toContain('refused escape.log: a link that leaves the folder');
    expect(body?.split('\n')).toEqual([
      '  app.log: File "sync.py", line 12, in fetch_pages'.replace('  app.log: ', 'app.log:   '),
      expect.stringMatching(/^app\.log: .* WARN page 2 of 3 never fetched; token=\[redacted:snowflake-password\]$/),
      expect.stringMatching(/^app\.log: .* INFO sync ended with 1 error$/),
    ]);
    const all = await readLogs({ source: 'app' });
    expect(all.output).toContain('Lines: 9 matched, 9 returned (tail 200)');
    expect(all.output).toContain('skipped app.log.2.gz: binary');
    expect(all.output).not.toContain('a file beside the folder');
    // Oldest first: the older file's lines come before the newer file's; the link to app.log.1 is read once.
    const lines = all.output.split('\n---\n')[1]?.split('\n') ?? [];
    expect(lines[0]).toMatch(/^(app\.log\.1|previous\.log): .* INFO sync started$/);
    expect(lines.at(-1)).toMatch(/^app\.log: .* INFO sync ended with 1 error$/);
  });

  it('applies the window by line timestamps; a stack trace belongs to the stamped line above it', async () => {
    const recent = await readLogs({ source: 'app', since: '35m', until: iso(8 * minutes) });
    expect(recent.output).toMatch(/applied by line timestamps/);
    const lines = recent.output.split('\n---\n')[1]?.split('\n') ?? [];
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('ERROR notion 429');
    expect(lines[1]).toBe('app.log: Traceback (most recent call last):');
    expect(lines[3]).toContain('WARN page 2 of 3');
    const none = await readLogs({ source: 'app', since: '1m' });
    expect(none.output).toContain('Lines: 0 matched, 0 returned');
    expect(none.output).toContain('(no lines match)');
  });

  it('filters by a regular expression (RE2), any case, or a fixed string, and says so', async () => {
    const errors = await readLogs({ source: 'app', grep: '(?i)error|warn' });
    expect(errors.output).toContain('Filter: /(?i)error|warn/ (regular expression, RE2)');
    expect(errors.output).toContain('Lines: 4 matched, 4 returned');
    const fixed = await readLogs({ source: 'app', grep: '(retry-after 2)', fixed: true });
    expect(fixed.output).toContain('"(retry-after 2)" (fixed string)');
    expect(fixed.output).toContain('Lines: 2 matched');
    const backreference = await readLogs({ source: 'app', grep: '(a)\\1' });
    expect(backreference.ok).toBe(false);
    expect(backreference.output).toContain('not a regular expression Sophia can run');
    // A pattern that backtracks exponentially in JavaScript's engine runs in linear time in RE2.
    await appendFile(path.join(logs, 'rotated', 'app.log'), `${iso(1 * minutes)} DEBUG ${'a'.repeat(5000)}!\n`);
    const catastrophic = await readLogs({ source: 'app', grep: '^.* DEBUG (a+)+$' });
    expect(catastrophic.ok).toBe(true);
    expect(catastrophic.output).toContain('Lines: 0 matched');
  });

  it('without line timestamps, the file\'s modification time decides the window, and the header says so', async () => {
    const old = await readLogs({ source: 'plain', since: '1h' });
    expect(old.output).toContain('applied by file modification times (the lines carry no timestamps)');
    expect(old.output).toContain('Lines: 0 matched');
    const wide = await readLogs({ source: 'plain', since: '3h', grep: 'crash' });
    expect(wide.output).toContain('Lines: 1 matched, 1 returned');
    expect(wide.output.endsWith('worker crashed: out of memory')).toBe(true);
  });

  it('never returns a keychain value, and a filter cannot find one', async () => {
    const probe = await readLogs({ source: 'app', grep: 'Canary', fixed: true });
    expect(probe.output).toContain('Lines: 0 matched');
    const all = await readLogs({ source: 'app' });
    expect(all.output).not.toContain(secretValue);
    expect(all.output).toContain('[redacted:snowflake-password]');
  });

  it('names the sources it has when asked for an unknown one; checks the arguments', async () => {
    const unknown = await readLogs({ source: 'nginx' });
    expect(unknown.ok).toBe(false);
    expect(unknown.output).toBe('There is no log source named "nginx". The sources are: app, plain.');
    expect((await readLogs({ source: 'app', tail: 2001 })).output).toMatch(/^invalid: .*tail/);
    const badTime = await readLogs({ source: 'app', since: 'yesterday' });
    expect(badTime.output).toContain('neither an ISO time');
    const reversed = await readLogs({ source: 'app', since: '1h', until: '2h' });
    expect(reversed.output).toContain('until is before since');
  });

  it('reads a file larger than the read limit from its end, and says where it stopped', async () => {
    const big = path.join(logs, 'big.log');
    const line = `${'x'.repeat(99)}\n`;
    const block = line.repeat(10_000);
    await writeFile(big, 'NEEDLE at the very start\n');
    // 70 MB: past the 64 MiB a call reads.
    for (let i = 0; i < 70; i += 1) await appendFile(big, block);
    await appendFile(big, 'the last line\n');
    await core.handlers['logSources.save']({ name: 'big', kind: 'file', path: big }, ctx);
    const tail = await readLogs({ source: 'big', tail: 2 });
    expect(tail.output.split('\n---\n')[1]).toBe(`${'x'.repeat(99)}\nthe last line`);
    const needle = await readLogs({ source: 'big', grep: 'NEEDLE' });
    expect(needle.output).toContain('Lines: at least 0 matched');
    expect(needle.output).toContain('stopped reading big.log at the 64 MiB read limit');
    await rm(big);
  });

  it('refuses a source that is now inside the workspace', async () => {
    core.settings.update({ workspace: logs });
    try {
      const refused = await readLogs({ source: 'plain' });
      expect(refused.ok).toBe(false);
      expect(refused.output).toContain('is inside the workspace');
    } finally {
      core.settings.update({ workspace });
    }
  });

  it('removes a source through its channel; read_logs is refused it from then on', async () => {
    await core.handlers['logSources.remove']({ name: 'big' }, ctx);
    const removed = await readLogs({ source: 'big' });
    expect(removed.output).toContain('The sources are: app, plain.');
  });

  it('audits the channels and every read_logs call (at low risk, approved by the person)', () => {
    const requestsAudited = core.safety.audit.query({ kind: 'request', limit: 500 }).map((entry) => entry.summary);
    expect(requestsAudited).toContain('logSources.save requested');
    expect(requestsAudited).toContain('logSources.remove requested');
    const toolCalls = core.safety.audit.query({ kind: 'tool.call', limit: 500 }).filter((entry) => entry.summary.startsWith('read_logs'));
    expect(toolCalls.length).toBe(calls);
    expect(toolCalls.some((entry) => entry.summary === 'read_logs ran: ok' && entry.risk === 'low')).toBe(true);
    const approvals = events.filter((event) => event.type === 'approval.request' && event.tool === 'read_logs');
    expect(approvals.length).toBeGreaterThan(0);
    // Nothing audited holds the keychain value.
    expect(JSON.stringify(core.safety.audit.query({ limit: 500 }))).not.toContain(secretValue);
  });
});
