/**
 * report_diagnosis through the real registry: quoted log lines are checked against what
 * read_logs returned in the same conversation (the whole kept output too), never the model's say-so.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConversationStore } from '../../../electron/agent/conversationStore';
import { registerDiagnosisTool } from '../../../electron/agent/diagnosisTool';
import { ToolRegistry, type ToolGate } from '../../../electron/agent/tools';
import { openAppDatabase } from '../../../electron/db/appDatabase';
import { parseDiagnosisResult } from '../../../shared/troubleshoot';

const allow: ToolGate = { decide: async (request) => ({ allowed: true, risk: request.tool.risk, decidedBy: 'policy', reasons: [] }) };
const dbs: { close(): unknown }[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function setUp() {
  const db = openAppDatabase(path.join(mkdtempSync(path.join(tmpdir(), 'sophia-diagnosis-')), 'sophia.db'));
  dbs.push(db);
  const store = new ConversationStore(db);
  const registry = new ToolRegistry(allow);
  registerDiagnosisTool(registry, store);
  store.create('conv-a', 'a');
  store.create('conv-b', 'b');
  const read = (conversationId: string, callId: string, source: string, output: string, ok = true) => {
    store.appendEvent(conversationId, { type: 'tool.call', conversationId, callId, tool: 'read_logs', args: { source }, risk: 'read-only' });
    store.appendEvent(conversationId, { type: 'tool.result', conversationId, callId, ok, output: output.slice(0, 6000) });
  };
  const diagnose = (conversationId: string, evidence: unknown) =>
    registry.invoke('report_diagnosis', { cause: 'The sync does not wait after a 429.', evidence }, { conversationId, callId: `d-${Math.random().toString(36).slice(2)}`, signal: new AbortController().signal });
  return { store, read, diagnose, registry };
}

const log = ['2026-12-02T10:00:01Z INFO sync started', '2026-12-02T10:00:02Z ERROR HTTP 429 rate_limited from /v1/databases/db1/query', '2026-12-02T10:00:02Z ERROR sync failed'].join('\n');

describe('report_diagnosis', () => {
  it('marks each quoted line found or not found in what read_logs returned in this conversation', async () => {
    const { read, diagnose } = setUp();
    read('conv-a', 'r1', 'notion-sync', log);
    read('conv-a', 'r2', 'other', 'ERROR made-up line only in another source');
    read('conv-b', 'r3', 'notion-sync', 'ERROR a line read in another conversation');
    read('conv-a', 'r4', 'notion-sync', 'ERROR a line from a failed read', false);
    const outcome = await diagnose('conv-a', [
      { source: 'notion-sync', lines: ['ERROR  HTTP 429 rate_limited from /v1/databases/db1/query', 'ERROR the model made this up'] },
      { source: 'notion-sync', lines: ['ERROR a line read in another conversation', 'ERROR a line from a failed read', 'ERROR made-up line only in another source'] },
    ]);
    expect(outcome.kind).toBe('executed');
    const output = outcome.kind === 'executed' ? outcome.result.output : '';
    expect(parseDiagnosisResult(output)).toEqual([true, false, false, false, false]);
    expect(output).toContain('4 of 5 quoted line(s) were NOT found');
    expect(output).toContain('ERROR the model made this up');
  });

  it('finds a line in the middle of a long output through the kept whole text', async () => {
    const { store, read, diagnose } = setUp();
    const long = Array.from({ length: 2000 }, (_, i) => `2026-12-02T10:00:00Z INFO line ${i}`).join('\n');
    read('conv-a', 'r1', 'notion-sync', long);
    store.saveToolOutput('conv-a', 'r1', 'read_logs', long);
    const outcome = await diagnose('conv-a', [{ source: 'notion-sync', lines: ['INFO line 1500'] }]);
    expect(outcome.kind === 'executed' && parseDiagnosisResult(outcome.result.output)).toEqual([true]);
  });

  it('says when the reproduction it names is not a run_command of this conversation', async () => {
    const { store, read, registry } = setUp();
    read('conv-a', 'r1', 'notion-sync', log);
    store.appendEvent('conv-a', { type: 'tool.call', conversationId: 'conv-a', callId: 'x1', tool: 'run_command', args: { command: 'python3 sync.py' }, risk: 'medium' });
    const report = (reproduction: string) =>
      registry.invoke('report_diagnosis', { cause: 'c', evidence: [{ source: 'notion-sync', lines: ['ERROR sync failed'] }], reproduction }, { conversationId: 'conv-a', callId: `d-${reproduction}`, signal: new AbortController().signal });
    const good = await report('x1');
    const bad = await report('r1');
    expect(good.kind === 'executed' && good.result.output).not.toContain('Note:');
    expect(bad.kind === 'executed' && bad.result.output).toContain('r1 is not a run_command call of this conversation');
    // The verdict is still the last line.
    expect(bad.kind === 'executed' && parseDiagnosisResult(bad.result.output)).toEqual([true]);
  });

  it('refuses a report without evidence (schema)', async () => {
    const { diagnose } = setUp();
    expect((await diagnose('conv-a', [])).kind).toBe('invalid-input');
  });
});
