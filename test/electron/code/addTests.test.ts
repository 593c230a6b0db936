/**
 * Add Tests through the real core: the proposal's approval stays pending while the model
 * (the real Anthropic SDK against the loopback stand-in) is asked for tests in a side turn;
 * its test files join the same proposal as more diffs, and Approve writes the change and
 * its tests together, all or none, with the audit log holding what was written.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { employeesSql, ofType } from '../../support/agentFixture';
import { anthropicTurn, startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { codeHarness, snapshot, type CodeHarness } from './codeHarness';

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
});

afterEach(async () => {
  await h.core.close();
});

const withPhone = employeesSql.replace('  manager_id INTEGER\n', '  manager_id INTEGER,\n  phone_number VARCHAR(20)\n');
const phoneTest = "-- The PHONE_NUMBER column exists and takes 20 characters.\nSELECT phone_number FROM employees WHERE LENGTH(phone_number) <= 20;\n";
const read = (relative: string) => readFile(path.join(h.workspace, relative), 'utf8');

/** Waits until the proposal is no longer waiting for its tests. */
async function settled(proposalId: string) {
  // The side turn loads the model SDK on its first call: a loaded machine takes a while.
  await expect.poll(() => h.latest(proposalId)?.status, { timeout: 15_000 }).not.toBe('tests-requested');
  return h.latest(proposalId);
}

describe('Add Tests', () => {
  it('keeps the approval pending, adds the tests to the same proposal, and Approve writes both', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'list_files', input: { path: '.' } }] }) },
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'add_tests', input: { files: [{ path: 'tests/employees_phone.sql', content: phoneTest }], note: 'Run with the SQL test runner.' } }] }) },
    );
    const before = await snapshot(h.workspace);
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    expect(await h.answer({ proposalId: proposal.proposalId, action: 'add-tests' })).toEqual({ accepted: true });
    expect(h.latest(proposal.proposalId)?.status).toBe('tests-requested');
    // Nothing can be approved while the tests are being written.
    await expect(h.answer({ proposalId: proposal.proposalId, action: 'approve' })).rejects.toThrow(/Tests are being written/);

    const withTests = await settled(proposal.proposalId);
    expect(withTests).toMatchObject({ status: 'pending', callId: proposal.callId, message: expect.stringContaining('Tests added to this change: tests/employees_phone.sql. Run with the SQL test runner.') });
    expect(withTests?.files.map((file) => [file.path, file.isNew, file.addedTests ?? false])).toEqual([
      ['sql/employees.sql', false, false],
      ['tests/employees_phone.sql', true, true],
    ]);
    expect(withTests?.files[1]?.proposed).toBe(phoneTest);
    // The same approval still waits: one card, never answered, and nothing written.
    expect(ofType(h.events, 'approval.request')).toHaveLength(1);
    expect(ofType(h.events, 'approval.resolved')).toHaveLength(0);
    expect(await snapshot(h.workspace)).toEqual(before);

    // The side turn: the change's diff went to the model, with add_tests and the read tools only.
    expect(model.requests).toHaveLength(2);
    const first = model.requests[0]!.body;
    expect(first.tools?.map((tool) => tool.name).sort()).toEqual(['add_tests', 'list_files', 'read_file', 'repo_map', 'search_code']);
    expect(JSON.stringify(first.messages)).toContain('+  phone_number VARCHAR(20)');
    expect(JSON.stringify(model.requests[1]!.body.messages)).toContain('README.md');
    // The read-only call went through the registry: the gate decided it and the audit log holds it.
    expect(h.core.safety.audit.query({ kind: 'tool.call' }).map((entry) => entry.summary)).toContain('list_files ran: ok');

    await h.answer({ proposalId: proposal.proposalId, action: 'approve' });
    const result = await outcome;
    expect(result.kind === 'executed' && result.result.ok).toBe(true);
    expect(result.kind === 'executed' && result.result.output).toMatch(/Applied to 2 file\(s\): sql\/employees\.sql, tests\/employees_phone\.sql\.\nAt the person's request \(Add Tests\)/);
    expect(await read('sql/employees.sql')).toBe(withPhone);
    expect(await read('tests/employees_phone.sql')).toBe(phoneTest);
    expect(h.latest(proposal.proposalId)?.status).toBe('applied');
    // The audit log holds the whole change that was written, tests included.
    const approvals = h.core.safety.audit.query({ kind: 'approval' });
    expect(JSON.stringify(approvals.map((entry) => entry.data))).toContain('tests/employees_phone.sql');
  });

  it('all or none: when the change\'s file changed on disk, the tests are not written either', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ tools: [{ name: 'add_tests', input: { files: [{ path: 'tests/phone.sql', content: phoneTest }] } }] }) });
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    await h.answer({ proposalId: proposal.proposalId, action: 'add-tests' });
    expect((await settled(proposal.proposalId))?.files).toHaveLength(2);
    await writeFile(path.join(h.workspace, 'sql', 'employees.sql'), `${employeesSql}-- edited by hand\n`);
    const before = await snapshot(h.workspace);
    await h.answer({ proposalId: proposal.proposalId, action: 'approve' });
    const result = await outcome;
    expect(result.kind === 'executed' && result.result.ok).toBe(false);
    expect(await snapshot(h.workspace)).toEqual(before);
    expect(h.latest(proposal.proposalId)?.status).toBe('stale');
  });

  it('Modify after Add Tests edits the added test file too', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ tools: [{ name: 'add_tests', input: { files: [{ path: 'tests/phone.sql', content: phoneTest }] } }] }) });
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    await h.answer({ proposalId: proposal.proposalId, action: 'add-tests' });
    await settled(proposal.proposalId);
    const edited = phoneTest.replace('<= 20', '<= 20 AND phone_number IS NOT NULL');
    await h.answer({ proposalId: proposal.proposalId, action: 'modify', files: [{ path: 'tests/phone.sql', content: edited }] });
    expect((await outcome).kind).toBe('executed');
    expect(await read('tests/phone.sql')).toBe(edited);
    expect(await read('sql/employees.sql')).toBe(withPhone);
  });

  it('leaves out test files it may not write (a secret file, a file under review) and says so', async () => {
    model.script({
      kind: 'stream',
      events: anthropicTurn({
        tools: [
          {
            name: 'add_tests',
            input: {
              files: [
                { path: '.env', content: 'TOKEN=x\n' },
                { path: 'sql/employees.sql', content: 'DROP TABLE employees;\n' },
                { path: '../outside.sql', content: 'x\n' },
                { path: 'tests/phone.sql', content: phoneTest },
              ],
            },
          },
        ],
      }),
    });
    const { proposal } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    await h.answer({ proposalId: proposal.proposalId, action: 'add-tests' });
    const view = await settled(proposal.proposalId);
    expect(view?.files.map((file) => file.path)).toEqual(['sql/employees.sql', 'tests/phone.sql']);
    expect(view?.files[0]?.proposed).toBe(withPhone);
    expect(view?.message).toMatch(/Left out: \.env \(.*secrets.*\); sql\/employees\.sql \(it is part of the change under review\); \.\.\/outside\.sql \(.*outside the workspace/);
    await h.answer({ proposalId: proposal.proposalId, action: 'cancel' });
  });

  it('when the model writes no tests, the proposal waits as it was and says why', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ text: ['This project has no test framework I can use.'] }) });
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    await h.answer({ proposalId: proposal.proposalId, action: 'add-tests' });
    const view = await settled(proposal.proposalId);
    expect(view).toMatchObject({ status: 'pending', message: 'No tests were added: The model added no tests. It said: This project has no test framework I can use.' });
    expect(view?.files).toHaveLength(1);
    await h.answer({ proposalId: proposal.proposalId, action: 'approve' });
    const result = await outcome;
    // Nothing was added, so the call is approved as it was asked.
    expect(result.kind === 'executed' && result.decision.reasons[0]).toBe('Approved by you.');
    expect(await read('sql/employees.sql')).toBe(withPhone);
  });

  it('Cancel while the tests are being written ends the side turn and writes nothing', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ text: ['Looking at the tests'] }).slice(0, 3), holdOpen: true });
    const before = await snapshot(h.workspace);
    const closed = model.closedAt.length;
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    await h.answer({ proposalId: proposal.proposalId, action: 'add-tests' });
    await expect.poll(() => model.requests.length).toBe(1);
    await h.answer({ proposalId: proposal.proposalId, action: 'cancel' });
    expect((await outcome).kind).toBe('denied');
    expect(h.latest(proposal.proposalId)?.status).toBe('cancelled');
    // The stream held open by the stand-in was closed by the abort.
    await expect.poll(() => model.closedAt.length).toBe(closed + 1);
    expect(await snapshot(h.workspace)).toEqual(before);
  });

  it('Stop while the tests are being written ends the side turn, writes nothing, and Add Tests waits for Resume', async () => {
    model.script({ kind: 'stream', events: anthropicTurn({ text: ['Looking at the tests'] }).slice(0, 3), holdOpen: true });
    const before = await snapshot(h.workspace);
    const closed = model.closedAt.length;
    const { proposal, outcome } = await h.propose({ summary: 'Add PHONE_NUMBER', files: [{ path: 'sql/employees.sql', content: withPhone }] });
    await h.answer({ proposalId: proposal.proposalId, action: 'add-tests' });
    await expect.poll(() => model.requests.length).toBe(1);
    await h.core.stop.stopAll();
    expect((await outcome).kind).toBe('denied');
    expect(h.latest(proposal.proposalId)?.status).toBe('expired');
    await expect.poll(() => model.closedAt.length).toBe(closed + 1);
    // No second side turn starts while stopped.
    await expect(h.answer({ proposalId: proposal.proposalId, action: 'add-tests' })).rejects.toThrow();
    expect(model.requests).toHaveLength(1);
    expect(await snapshot(h.workspace)).toEqual(before);
  });
});
