/**
 * The edit path through the real registry, approval gate and broker: a proposal is shown
 * (with its base read from disk), answered from the diff view, and applied all or nothing,
 * in the file's own line endings and encoding.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { employeesSql } from '../../support/agentFixture';
import { codeHarness, snapshot, type CodeHarness } from './codeHarness';

let h: CodeHarness;

beforeEach(async () => {
  h = await codeHarness();
});

afterEach(async () => {
  await h.core.close();
});

const withPhone = employeesSql.replace('  manager_id INTEGER\n', '  manager_id INTEGER,\n  phone_number VARCHAR(20)\n');
const read = (relative: string) => readFile(path.join(h.workspace, relative), 'utf8');

describe('proposals', () => {
  it('shows the diff against the file on disk and writes nothing before the answer', async () => {
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    expect(proposal).toMatchObject({ status: 'pending', conversationId: 'conv-code', summary: 'Add PHONE_NUMBER' });
    expect(proposal.files).toEqual([{ path: 'sql/employees.sql', language: 'sql', original: employeesSql, proposed: withPhone, isNew: false, eol: 'lf', encoding: 'utf8' }]);
    const card = h.events.find((event) => event.type === 'approval.request');
    expect(card?.type === 'approval.request' && card.preview).toContain('+  phone_number VARCHAR(20)');
    expect(await read('sql/employees.sql')).toBe(employeesSql);

    expect(await h.answer({ proposalId: proposal.proposalId, action: 'approve' })).toEqual({ accepted: true });
    const result = await outcome;
    expect(result.kind).toBe('executed');
    expect(await read('sql/employees.sql')).toBe(withPhone);
    expect(h.latest(proposal.proposalId)?.status).toBe('applied');
  });

  it('applies the text the person modified, and tells the model what was written', async () => {
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    const edited = withPhone.replace('VARCHAR(20)', 'VARCHAR(32) NOT NULL');
    await h.answer({ proposalId: proposal.proposalId, action: 'modify', files: [{ path: 'sql/employees.sql', content: edited }] });
    const result = await outcome;
    expect(result.kind === 'executed' && result.result.ok).toBe(true);
    expect(result.kind === 'executed' && result.result.output).toContain('edited your proposal');
    expect(result.kind === 'executed' && result.decision.decidedBy).toBe('user');
    expect(await read('sql/employees.sql')).toBe(edited);
    // The audit log holds the human's version beside the model's.
    const approvals = h.core.safety.audit.query({ kind: 'approval' });
    expect(JSON.stringify(approvals.map((entry) => entry.data))).toContain('VARCHAR(32) NOT NULL');
  });

  it('Cancel leaves the disk untouched', async () => {
    const before = await snapshot(h.workspace);
    const first = await h.propose({ summary: 'x', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    await h.answer({ proposalId: first.proposal.proposalId, action: 'cancel' });
    const cancelled = await first.outcome;
    expect(cancelled.kind).toBe('denied');
    expect(await snapshot(h.workspace)).toEqual(before);
    expect(h.latest(first.proposal.proposalId)?.status).toBe('cancelled');
    await expect(h.answer({ proposalId: first.proposal.proposalId, action: 'approve' })).rejects.toThrow(/no longer waiting/);
  });

  it('a proposal over three files where one changed on disk applies to none, and shows a fresh diff', async () => {
    await writeFile(path.join(h.workspace, 'a.sql'), 'select 1;\n');
    await writeFile(path.join(h.workspace, 'b.sql'), 'select 2;\n');
    const { proposal, outcome } = await h.propose({
      summary: 'three files',
      files: [
        { path: 'a.sql', content: 'select 10;\n' },
        { path: 'b.sql', content: 'select 20;\n' },
        { path: 'sql/employees.sql', content: withPhone },
      ],
    });
    // Someone edits b.sql after the proposal was made.
    await writeFile(path.join(h.workspace, 'b.sql'), 'select 2; -- edited by hand\n');
    const before = await snapshot(h.workspace);
    await h.answer({ proposalId: proposal.proposalId, action: 'approve' });
    const result = await outcome;
    expect(result.kind === 'executed' && result.result).toEqual({ ok: false, output: expect.stringMatching(/b\.sql changed on disk since the proposal, so none of the 3 file\(s\) was written/) });
    expect(await snapshot(h.workspace)).toEqual(before);
    const stale = h.latest(proposal.proposalId);
    expect(stale?.status).toBe('stale');
    expect(stale?.files.find((file) => file.path === 'b.sql')?.original).toBe('select 2; -- edited by hand\n');
  });

  it('keeps CRLF line endings, a UTF-8 BOM, UTF-16LE and Latin-1 as they were', async () => {
    const cases: { name: string; bytes: Buffer; expected: (text: string) => Buffer }[] = [
      { name: 'crlf.sql', bytes: Buffer.from('a\r\nb\r\n'), expected: (text) => Buffer.from(text.replace(/\n/g, '\r\n')) },
      { name: 'bom.txt', bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('é\n')]), expected: (text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]) },
      { name: 'wide.txt', bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('wide\r\n', 'utf16le')]), expected: (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/\n/g, '\r\n'), 'utf16le')]) },
      { name: 'latin.txt', bytes: Buffer.from('caf\xe9\n', 'latin1'), expected: (text) => Buffer.from(text, 'latin1') },
    ];
    for (const item of cases) await writeFile(path.join(h.workspace, item.name), item.bytes);
    const next = (name: string) => `${name} changed\nsecond line é\n`;
    const { proposal, outcome } = await h.propose({ summary: 'encodings', files: cases.map((item) => ({ path: item.name, content: next(item.name) })) });
    expect(proposal.files.map((file) => [file.eol, file.encoding])).toEqual([
      ['crlf', 'utf8'],
      ['lf', 'utf8-bom'],
      ['crlf', 'utf16le'],
      ['lf', 'latin1'],
    ]);
    expect(proposal.files[0]?.original).toBe('a\nb\n');
    await h.answer({ proposalId: proposal.proposalId, action: 'approve' });
    expect((await outcome).kind).toBe('executed');
    for (const item of cases) {
      expect(await readFile(path.join(h.workspace, item.name)), item.name).toEqual(item.expected(next(item.name)));
    }
  });

  it('generates new files (a diff against nothing) in new folders, and keeps file modes', async () => {
    const code = 'export function summarizeGongInteractions(calls: { customer: string }[]): string {\n  return `${calls.length} calls`;\n}\n';
    const { proposal, outcome } = await h.propose({ summary: 'Gong summary', files: [{ path: 'src/gong/summarize.ts', content: code }] });
    expect(proposal.files[0]).toMatchObject({ isNew: true, original: '', language: 'typescript' });
    const card = h.events.find((event) => event.type === 'approval.request');
    expect(card?.type === 'approval.request' && card.preview).toContain('--- /dev/null');
    await h.answer({ proposalId: proposal.proposalId, action: 'approve' });
    expect((await outcome).kind).toBe('executed');
    expect(await read('src/gong/summarize.ts')).toBe(code);
  });

  it('refuses a file that was created on disk after a proposal to create it', async () => {
    const { proposal, outcome } = await h.propose({ summary: 'new', files: [{ path: 'new.sql', content: 'x\n' }] });
    await writeFile(path.join(h.workspace, 'new.sql'), 'someone else\n');
    await h.answer({ proposalId: proposal.proposalId, action: 'approve' });
    const result = await outcome;
    expect(result.kind === 'executed' && result.result.ok).toBe(false);
    expect(await read('new.sql')).toBe('someone else\n');
  });

  it('an executor call that never went through a diff is not applied', async () => {
    const result = await h.core.code.proposals.apply({ summary: 'sneaky', files: [{ path: 'sql/employees.sql', content: 'DROP TABLE employees;\n' }] }, { conversationId: 'conv-code', callId: 'call-never-previewed' });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/never shown to the person as a diff/);
    expect(await read('sql/employees.sql')).toBe(employeesSql);
  });
});
