/**
 * The edit path through the real registry, approval gate and broker: a proposal is shown
 * (with its base read from disk), answered from the diff view, and applied all or nothing,
 * in the file's own line endings and encoding.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProposalView } from '../../../shared/code';
import { ProposalService } from '../../../electron/code/proposalService';
import { canonicalProposal } from '../../../electron/tools/codeTools';
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

  it('Try a different approach cancels the fix, and the model is told the diagnosis was rejected and why', async () => {
    const before = await snapshot(h.workspace);
    const { proposal, outcome } = await h.propose({ summary: 'retry on 429', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    expect(await h.answer({ proposalId: proposal.proposalId, action: 'different-approach', reason: 'The token expired; it is not the rate limit.' })).toEqual({ accepted: true });
    const result = await outcome;
    expect(result.kind).toBe('denied');
    const reasons = result.kind === 'denied' ? result.decision.reasons.join(' ') : '';
    expect(reasons).toContain('rejected your diagnosis');
    expect(reasons).toContain('The token expired; it is not the rate limit.');
    expect(result.kind === 'denied' && result.decision.decidedBy).toBe('user');
    expect(h.latest(proposal.proposalId)).toMatchObject({ status: 'cancelled', message: 'Rejected with "Try a different approach".' });
    expect(await snapshot(h.workspace)).toEqual(before);
    // Answered once: a second answer finds nothing pending.
    await expect(h.answer({ proposalId: proposal.proposalId, action: 'approve' })).rejects.toThrow();
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

describe('each proposal belongs to its own call', () => {
  // Two token-shaped names the redactor cuts whatever their value: the cards' arguments read the same.
  const tokenA = `ghp_${'A'.repeat(36)}`;
  const tokenB = `ghp_${'B'.repeat(36)}`;
  const callOf = (token: string) => ({ summary: 'Store the token', files: [{ path: `tokens/${token}.txt`, content: `token=${token}\n` }] });
  const cards = () => h.events.flatMap((event) => (event.type === 'approval.request' ? [event] : []));

  it('two proposals pending at once, with identical redacted arguments, are each applied to their own call, the second approved first', async () => {
    const a = await h.propose(callOf(tokenA));
    const b = await h.propose(callOf(tokenB));
    const [cardA, cardB] = cards();
    // What the person sees of the two calls is the same: matching by it could only guess.
    expect(cardA?.args).toBe(cardB?.args);
    expect(cardA?.args).not.toContain(tokenA);
    expect([cardA?.callId, cardB?.callId]).toEqual([a.proposal.callId, b.proposal.callId]);
    expect(cardA?.edit).toEqual([{ path: 'tokens/[redacted].txt', added: 1, removed: 0, isNew: true }]);

    expect(await h.answer({ proposalId: b.proposal.proposalId, action: 'approve' })).toEqual({ accepted: true });
    const second = await b.outcome;
    expect(second.kind === 'executed' && second.result.ok).toBe(true);
    expect(await read(`tokens/${tokenB}.txt`)).toBe(`token=${tokenB}\n`);
    // The first is still waiting, untouched.
    await expect(read(`tokens/${tokenA}.txt`)).rejects.toThrow(/ENOENT/);
    expect(h.latest(a.proposal.proposalId)?.status).toBe('pending');

    // Modified in the diff view: its own file gets its own (modified) content.
    const edited = `token=${tokenA}\n# rotated monthly\n`;
    expect(await h.answer({ proposalId: a.proposal.proposalId, action: 'modify', files: [{ path: `tokens/${tokenA}.txt`, content: edited }] })).toEqual({ accepted: true });
    const first = await a.outcome;
    expect(first.kind === 'executed' && first.result.ok).toBe(true);
    expect(await read(`tokens/${tokenA}.txt`)).toBe(edited);
    expect(await read(`tokens/${tokenB}.txt`)).toBe(`token=${tokenB}\n`);
    expect([h.latest(a.proposal.proposalId)?.status, h.latest(b.proposal.proposalId)?.status]).toEqual(['applied', 'applied']);
  });

  it('the same call id in two conversations is two calls', async () => {
    const a = await h.propose({ summary: 'a', files: [{ path: 'a.sql', content: 'select 1;\n' }] }, { conversationId: 'conv-one', callId: 'toolu_same' });
    const b = await h.propose({ summary: 'b', files: [{ path: 'b.sql', content: 'select 2;\n' }] }, { conversationId: 'conv-two', callId: 'toolu_same' });
    await h.answer({ proposalId: b.proposal.proposalId, action: 'approve' });
    expect((await b.outcome).kind).toBe('executed');
    expect(await read('b.sql')).toBe('select 2;\n');
    await expect(read('a.sql')).rejects.toThrow(/ENOENT/);
    await h.answer({ proposalId: a.proposal.proposalId, action: 'cancel' });
    expect((await a.outcome).kind).toBe('denied');
    await expect(read('a.sql')).rejects.toThrow(/ENOENT/);
  });
});

describe('adversarial: an approval answers only its own call', () => {
  const proposalsOf = () => h.core.code.proposals;

  it("an approval for call A cannot apply proposal B: B's input under A's call, or A's approval used for B, writes nothing", async () => {
    const before = await snapshot(h.workspace);
    const a = await h.propose({ summary: 'A', files: [{ path: 'a.sql', content: 'select 1;\n' }] });
    const b = await h.propose({ summary: 'B', files: [{ path: 'sql/employees.sql', content: 'DROP TABLE employees;\n' }] });
    const call = (proposal: typeof a.proposal) => ({ conversationId: proposal.conversationId, callId: proposal.callId });

    // Before any approval, neither executor call writes.
    expect((await proposalsOf().apply({ summary: 'A', files: [{ path: 'a.sql', content: 'select 1;\n' }] }, call(a.proposal))).output).toMatch(/not approved in the diff view/);

    const cardA = h.events.find((event) => event.type === 'approval.request' && event.callId === a.proposal.callId);
    // Approved at the broker alone (not in the diff view, where the proposal is): the gate lets the call run, and nothing is written.
    expect(h.core.safety.approvals.answerCall(call(a.proposal), { decision: 'approve' })).toBe(true);
    const outcomeA = await a.outcome;
    expect(outcomeA.kind === 'executed' && outcomeA.result).toEqual({ ok: false, output: expect.stringMatching(/not approved in the diff view/) });
    await expect(read('a.sql')).rejects.toThrow(/ENOENT/);
    // B's change handed to A's executor refuses too.
    const again = await proposalsOf().apply({ summary: 'B', files: [{ path: 'sql/employees.sql', content: 'DROP TABLE employees;\n' }] }, call(a.proposal));
    expect(again.ok).toBe(false);
    expect(await read('sql/employees.sql')).toBe(employeesSql);

    // A's approval is spent: answering it again, by id or by call, approves nothing, and B still waits for its own.
    expect(cardA?.type === 'approval.request' && h.core.safety.approvals.answer({ approvalId: cardA.approvalId, decision: 'cancel' })).toBe(false);
    expect(h.core.safety.approvals.answerCall(call(a.proposal), { decision: 'approve' })).toBe(false);
    expect(h.latest(b.proposal.proposalId)?.status).toBe('pending');
    expect((await proposalsOf().apply({ summary: 'B', files: [{ path: 'sql/employees.sql', content: 'DROP TABLE employees;\n' }] }, call(b.proposal))).output).toMatch(/not approved in the diff view/);
    expect(await read('sql/employees.sql')).toBe(employeesSql);

    // B ends by its own answer only.
    expect(h.core.safety.approvals.answerCall(call(b.proposal), { decision: 'cancel' })).toBe(true);
    expect((await b.outcome).kind).toBe('denied');
    expect(h.latest(b.proposal.proposalId)?.status).toBe('cancelled');
    expect(await snapshot(h.workspace)).toEqual(before);
  });

  it('the executor refuses a change that is not the one approved for its call', async () => {
    // The service alone, with a broker that accepts every answer: what apply checks, apart from the gate.
    const published: ProposalView[] = [];
    const service = new ProposalService({ publish: (event) => event.type === 'proposal' && published.push(event.proposal), workspace: () => h.workspace, canonical: canonicalProposal });
    const answered: unknown[] = [];
    const broker = { answerCall: (call: unknown, answer: unknown) => answered.push({ call, answer }) > 0 };
    const callA = { conversationId: 'conv-x', callId: 'call-a' };
    const callB = { conversationId: 'conv-x', callId: 'call-b' };
    const inputA = { summary: 'A', files: [{ path: 'a.sql', content: 'select 1;\n' }] };
    const inputB = { summary: 'B', files: [{ path: 'sql/employees.sql', content: 'DROP TABLE employees;\n' }] };
    await service.preview(inputA, callA);
    await service.preview(inputB, callB);
    const [proposalA, proposalB] = published;
    expect(service.answer({ proposalId: proposalA!.proposalId, action: 'approve' }, broker)).toEqual({ accepted: true });
    // The answer went to A's own call.
    expect(answered).toEqual([{ call: callA, answer: { decision: 'approve' } }]);
    // A approved: its executor handed B's change refuses, writes nothing, and A fails closed.
    expect((await service.apply(inputB, callA)).output).toMatch(/not the one approved in the diff view/);
    expect(await read('sql/employees.sql')).toBe(employeesSql);
    await expect(read('a.sql')).rejects.toThrow(/ENOENT/);
    expect(service.get(proposalA!.proposalId)?.status).toBe('failed');
    expect((await service.apply(inputA, callA)).ok).toBe(false);
    // B, never approved, does not apply under its own call either.
    expect((await service.apply(inputB, callB)).output).toMatch(/not approved in the diff view/);
    expect(service.get(proposalB!.proposalId)?.status).toBe('pending');
    service.close();
  });

  it('an unknown or stale call id fails closed, and the card channel cannot approve or modify an edit', async () => {
    const before = await snapshot(h.workspace);
    const a = await h.propose({ summary: 'A', files: [{ path: 'a.sql', content: 'select 1;\n' }] });
    const card = h.events.find((event) => event.type === 'approval.request' && event.callId === a.proposal.callId);
    if (card?.type !== 'approval.request') throw new Error('no card');

    // Unknown calls: no approval to answer, no proposal to apply.
    expect(h.core.safety.approvals.answerCall({ conversationId: 'conv-code', callId: 'call-unknown' }, { decision: 'approve' })).toBe(false);
    expect(h.core.safety.approvals.answerCall({ conversationId: 'conv-other', callId: a.proposal.callId }, { decision: 'approve' })).toBe(false);
    expect((await h.core.code.proposals.apply({ summary: 'A', files: [{ path: 'a.sql', content: 'select 1;\n' }] }, { conversationId: 'conv-code', callId: 'call-unknown' })).output).toMatch(/never shown/);

    // The card's channel: an edit is approved in the diff panel only, and changed there only.
    expect(() => h.core.handlers['approval.answer']({ approvalId: card.approvalId, decision: 'approve' }, { transport: 'test' })).toThrow(/approved in the diff panel/);
    expect(() =>
      h.core.handlers['approval.answer']({ approvalId: card.approvalId, decision: 'modify', args: JSON.stringify({ summary: 'A', files: [{ path: 'sql/employees.sql', content: 'DROP TABLE employees;\n' }] }) }, { transport: 'test' }),
    ).toThrow(/approved in the diff panel/);
    expect(h.latest(a.proposal.proposalId)?.status).toBe('pending');

    // Stale: once it timed out or was answered, the proposal cannot be answered or applied again.
    expect(await h.answer({ proposalId: a.proposal.proposalId, action: 'cancel' })).toEqual({ accepted: true });
    expect((await a.outcome).kind).toBe('denied');
    await expect(h.answer({ proposalId: a.proposal.proposalId, action: 'approve' })).rejects.toThrow(/no longer waiting/);
    expect(h.core.safety.approvals.answerCall({ conversationId: a.proposal.conversationId, callId: a.proposal.callId }, { decision: 'approve' })).toBe(false);
    expect((await h.core.code.proposals.apply({ summary: 'A', files: [{ path: 'a.sql', content: 'select 1;\n' }] }, { conversationId: a.proposal.conversationId, callId: a.proposal.callId })).ok).toBe(false);
    expect(await snapshot(h.workspace)).toEqual(before);
    // The refusal and the cancel are audited like any approval.
    expect(h.core.safety.audit.query({ kind: 'approval' }).some((entry) => entry.summary === 'propose_edit cancelled by the user')).toBe(true);
  });

  it('a second preview under a call id already used is refused, and its approval applies nothing', async () => {
    const a = await h.propose({ summary: 'A', files: [{ path: 'a.sql', content: 'select 1;\n' }] }, { callId: 'call-reused' });
    const second = h.core.registry.invoke('propose_edit', { summary: 'B', files: [{ path: 'b.sql', content: 'select 2;\n' }] }, { conversationId: 'conv-code', callId: 'call-reused', signal: new AbortController().signal });
    await expect.poll(() => h.core.safety.approvals.pending().filter((request) => request.callId === 'call-reused').length).toBe(2);
    const cards = h.core.safety.approvals.pending().filter((request) => request.callId === 'call-reused');
    // The second card has no proposal of its own: no edit summary, the preview says it could not be made.
    expect(cards[1]?.edit).toBeUndefined();
    expect(cards[1]?.preview).toMatch(/could not be made/);
    expect(h.core.safety.approvals.answer({ approvalId: cards[1]!.approvalId, decision: 'approve' })).toBe(true);
    const outcome = await second;
    expect(outcome.kind === 'executed' && outcome.result.ok).toBe(false);
    await expect(read('b.sql')).rejects.toThrow(/ENOENT/);
    await expect(read('a.sql')).rejects.toThrow(/ENOENT/);
    await h.answer({ proposalId: a.proposal.proposalId, action: 'cancel' });
    await a.outcome;
  });
});
