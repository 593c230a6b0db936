/**
 * The edit path in Chromium with a scripted model (the real Anthropic SDK against the
 * loopback stand-in): "add a PHONE_NUMBER column to the EMPLOYEES table" shows the diff in
 * the Monaco DiffEditor; Modify one line, Approve, and the file on disk is the modified
 * proposal. Cancel leaves the disk untouched. A proposal over three files where one changed
 * on disk applies to none and shows a fresh diff. A review's findings jump to the code.
 */
import { openBrowserSession, type BrowserSession } from './support/session';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { employeesSql, makeWorkspace } from '../support/agentFixture';
import { anthropicTurn, type AnthropicStandIn } from '../support/standIns/anthropicStandIn';
import { screenshot, type PageProblems } from './support/chromium';

let model: AnthropicStandIn;
let page: Page;
let watched: PageProblems;
let workspace: string;

const withPhone = employeesSql.replace('  manager_id INTEGER\n', '  manager_id INTEGER,\n  phone_number VARCHAR(20)\n');
/** What an editor shows, with Monaco's non-breaking spaces as plain ones. */
const text = async (locator: Locator) => (await locator.innerText()).replace(/\u00a0/g, ' ');
const disk = (relative: string) => readFile(path.join(workspace, relative), 'utf8');

let session: BrowserSession;
beforeAll(async () => {
  workspace = await makeWorkspace();
  session = await openBrowserSession({ settings: { workspace }, viewport: { width: 1600, height: 900 } });
  ({ model, page, watched } = session);
});

afterAll(async () => {
  await session?.close();
});

async function ask(text: string): Promise<void> {
  await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
}

/** The newest proposal on screen, once its diff is drawn. */
async function proposalShown(summary: string) {
  const proposal = page.getByTestId('proposal');
  // Each model turn now carries thinking and every tool: on a loaded machine the card takes longer than poll's default second.
  await expect.poll(() => proposal.getByTestId('proposal-summary').innerText().catch(() => ''), { timeout: 30_000 }).toBe(summary);
  await proposal.locator('.monaco-diff-editor :is(.line-insert, .char-insert, .line-delete, .char-delete)').first().waitFor({ timeout: 30_000 });
  return proposal;
}

describe('code management in Chromium', () => {
  it('shows the workspace in the status bar', async () => {
    await expect.poll(() => page.getByTestId('status-workspace').innerText()).toBe(`Workspace: ${path.basename(workspace)}`);
  });

  it('add a PHONE_NUMBER column: the diff shows, Modify one line, Approve, and the disk holds the modified proposal', async () => {
    model.script(
      { kind: 'stream', events: anthropicTurn({ text: ['Reading the table first.'], tools: [{ name: 'read_file', input: { path: 'sql/employees.sql' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Here is the change.'], tools: [{ name: 'propose_edit', input: { summary: 'Add a PHONE_NUMBER column to EMPLOYEES', files: [{ path: 'sql/employees.sql', content: withPhone }] } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The column is added.'] }) },
    );
    await ask('add a PHONE_NUMBER column to the EMPLOYEES table');
    const proposal = await proposalShown('Add a PHONE_NUMBER column to EMPLOYEES');
    expect(await proposal.getByTestId('proposal-status').innerText()).toBe('Waiting for your answer');
    expect(await proposal.locator('.editor.modified').innerText()).toContain('phone_number');
    expect(await disk('sql/employees.sql')).toBe(employeesSql);
    await screenshot(page, 'proposal-diff');

    // One approval surface: the edit's card says who asked, summarises the change and points to the panel; no diff, no answer of its own.
    const card = page.getByTestId('approval-card');
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getAttribute('data-kind')).toBe('edit');
    expect(await card.getByTestId('approval-requester').innerText()).toMatch(/^Asked by the agent in “.*PHONE_NUMBER/);
    expect(await card.getByTestId('approval-edit-summary').innerText()).toBe('1 file · +2 −1');
    expect(await card.getByTestId('approval-edit-file').allInnerTexts()).toEqual(['sql/employees.sql +2 −1']);
    expect(await card.getByRole('button', { name: /approve|modify|cancel|run/i }).count()).toBe(0);
    expect(await card.getByTestId('approval-preview').count()).toBe(0);
    expect(await card.locator('pre, textarea, .monaco-editor').count()).toBe(0);
    expect(await card.innerText()).not.toContain('phone_number');
    expect(await proposal.getByTestId('proposal-requester').innerText()).toBe(await card.getByTestId('approval-requester').innerText());
    // The card's button brings the panel back to this proposal from another tab.
    await page.getByTestId('tab-git').click();
    await expect.poll(() => page.getByTestId('proposal').count()).toBe(0);
    await card.getByTestId('approval-open-diff').click();
    await proposalShown('Add a PHONE_NUMBER column to EMPLOYEES');
    // The card and the panel are the same call's.
    expect(await proposal.getAttribute('data-call-id')).toBe(await card.getAttribute('data-call-id'));
    expect(await proposal.getAttribute('data-approval-id')).toBeTruthy();
    await screenshot(page, 'edit-card-and-diff-panel');

    await proposal.getByTestId('proposal-modify').click();
    const line = proposal.locator('.editor.modified .view-line', { hasText: 'phone_number' });
    await line.click();
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.type('phone_number VARCHAR(32) NOT NULL');
    await expect.poll(() => proposal.locator('.editor.modified').innerText()).toContain('VARCHAR(32)');
    await screenshot(page, 'proposal-modified');
    await proposal.getByTestId('proposal-approve').click();

    await expect.poll(() => proposal.getByTestId('proposal-status').innerText()).toBe('Applied');
    expect(await disk('sql/employees.sql')).toBe(withPhone.replace('phone_number VARCHAR(20)', 'phone_number VARCHAR(32) NOT NULL'));
    // The model was told what the person wrote.
    await expect.poll(() => model.requests.length).toBe(3);
    expect(JSON.stringify(model.requests[2]?.body.messages)).toContain('VARCHAR(32) NOT NULL');
    await screenshot(page, 'proposal-applied');
  });

  it('Cancel leaves the disk untouched', async () => {
    const before = await disk('sql/employees.sql');
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'propose_edit', input: { summary: 'Drop the salary column', files: [{ path: 'sql/employees.sql', content: before.replace('  salary NUMBER(10, 2),\n', '') }] } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['Understood, nothing changed.'] }) },
    );
    await ask('change the employees table: drop the salary column');
    const proposal = await proposalShown('Drop the salary column');
    await proposal.getByTestId('proposal-cancel').click();
    await expect.poll(() => proposal.getByTestId('proposal-status').innerText()).toBe('Cancelled: nothing was written');
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
    expect(await disk('sql/employees.sql')).toBe(before);
  });

  it('a proposal over three files where one changed on disk applies to none, with a clear message and a fresh diff', async () => {
    await writeFile(path.join(workspace, 'sql', 'departments.sql'), 'CREATE TABLE departments (id INTEGER);\n');
    await writeFile(path.join(workspace, 'sql', 'payroll.sql'), 'CREATE TABLE payroll (id INTEGER);\n');
    const employees = await disk('sql/employees.sql');
    model.script(
      {
        kind: 'stream',
        events: anthropicTurn({
          tools: [
            {
              name: 'propose_edit',
              input: {
                summary: 'Add created_at to three tables',
                files: [
                  { path: 'sql/employees.sql', content: employees.replace('  id INTEGER PRIMARY KEY,\n', '  id INTEGER PRIMARY KEY,\n  created_at TIMESTAMP,\n') },
                  { path: 'sql/departments.sql', content: 'CREATE TABLE departments (id INTEGER, created_at TIMESTAMP);\n' },
                  { path: 'sql/payroll.sql', content: 'CREATE TABLE payroll (id INTEGER, created_at TIMESTAMP);\n' },
                ],
              },
            },
          ],
        }),
      },
      { kind: 'stream', events: anthropicTurn({ text: ['A file changed under me; I will read it again.'] }) },
    );
    await ask('update the three tables to add a created_at column');
    const proposal = await proposalShown('Add created_at to three tables');
    expect(await proposal.getByTestId('proposal-file-tab').count()).toBe(3);
    // Someone edits one of the files by hand while the proposal waits.
    await writeFile(path.join(workspace, 'sql', 'payroll.sql'), 'CREATE TABLE payroll (id INTEGER, amount NUMBER);\n');
    await proposal.getByTestId('proposal-approve').click();

    await expect.poll(() => proposal.getByTestId('proposal-status').innerText()).toBe('Not applied: a file changed on disk');
    expect(await proposal.getByTestId('proposal-message').innerText()).toMatch(/sql\/payroll\.sql changed on disk since the proposal, so none of the 3 file\(s\) was written/);
    expect(await disk('sql/employees.sql')).toBe(employees);
    expect(await disk('sql/departments.sql')).toBe('CREATE TABLE departments (id INTEGER);\n');
    expect(await disk('sql/payroll.sql')).toBe('CREATE TABLE payroll (id INTEGER, amount NUMBER);\n');
    // The fresh diff: the file as it is now on the left.
    await proposal.getByTestId('proposal-file-tab').nth(2).click();
    await expect.poll(() => text(proposal.locator('.editor.original'))).toContain('amount NUMBER');
    await screenshot(page, 'proposal-stale');
  });

  it('Add Tests: the tests join the same card, and Approve writes the change and its tests', async () => {
    const before = await disk('sql/employees.sql');
    const withEmail = before.replace('  name VARCHAR(100),\n', '  name VARCHAR(100),\n  email VARCHAR(254),\n');
    const emailTest = '-- EMAIL exists and holds an address.\nSELECT email FROM employees WHERE email LIKE \'%@%\';\n';
    model.script(
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'propose_edit', input: { summary: 'Add an EMAIL column to EMPLOYEES', files: [{ path: 'sql/employees.sql', content: withEmail }] } }] }) },
      // The side turn Add Tests starts while the card waits.
      { kind: 'stream', events: anthropicTurn({ tools: [{ name: 'add_tests', input: { files: [{ path: 'tests/employees_email.sql', content: emailTest }], note: 'One query per new column.' } }] }) },
      { kind: 'stream', events: anthropicTurn({ text: ['The column and its test are in place.'] }) },
    );
    const requestsBefore = model.requests.length;
    await ask('add an EMAIL column to the employees table');
    const proposal = await proposalShown('Add an EMAIL column to EMPLOYEES');
    const approvalId = await proposal.getAttribute('data-approval-id');
    await proposal.getByTestId('proposal-add-tests').click();

    // Same card, same approval: now two files, the second a new test file.
    const tabs = proposal.getByTestId('proposal-file-tab');
    await expect.poll(() => tabs.count()).toBe(2);
    expect(await tabs.nth(1).innerText()).toBe('tests/employees_email.sql (tests)');
    expect(await proposal.getAttribute('data-approval-id')).toBe(approvalId);
    expect(await proposal.getByTestId('proposal-status').innerText()).toBe('Waiting for your answer');
    expect(await proposal.getByTestId('proposal-message').innerText()).toContain('Tests added to this change: tests/employees_email.sql. One query per new column.');
    await tabs.nth(1).click();
    await expect.poll(() => text(proposal.locator('.editor.modified'))).toContain("LIKE '%@%'");
    await screenshot(page, 'proposal-with-tests');
    expect(await disk('sql/employees.sql')).toBe(before);

    await proposal.getByTestId('proposal-approve').click();
    await expect.poll(() => proposal.getByTestId('proposal-status').innerText(), { timeout: 30_000 }).toBe('Applied');
    expect(await disk('sql/employees.sql')).toBe(withEmail);
    expect(await disk('tests/employees_email.sql')).toBe(emailTest);
    await expect.poll(() => model.requests.length, { timeout: 30_000 }).toBe(requestsBefore + 3);
    // The agent's own turn learns that tests were written with its change.
    expect(JSON.stringify(model.requests[requestsBefore + 2]?.body.messages)).toContain('tests/employees_email.sql');
    await expect.poll(() => page.getByTestId('agent-status').count(), { timeout: 30_000 }).toBe(0);
  });

  it('a secret file: refused to the model until the person opens it in the panel, then readable; closed again, refused', async () => {
    await writeFile(path.join(workspace, '.env'), 'PAYROLL_DB=postgres://payroll@db/payroll\n');
    const readEnv = () => anthropicTurn({ tools: [{ name: 'read_file', input: { path: '.env' } }] });
    model.script({ kind: 'stream', events: readEnv() }, { kind: 'stream', events: anthropicTurn({ text: ['I may not read it.'] }) });
    const before = model.requests.length;
    await ask('what database does the .env file point at?');
    await expect.poll(() => model.requests.length, { timeout: 30_000 }).toBe(before + 2);
    expect(JSON.stringify(model.requests[before + 1]?.body.messages)).toContain('unless you open it yourself');

    const panel = page.getByTestId('secret-files');
    if ((await panel.getAttribute('open')) === null) await panel.locator('summary').click();
    await panel.getByTestId('secret-file-path').fill('.env');
    await panel.getByTestId('secret-file-open').click();
    await expect.poll(() => panel.getByTestId('secret-file').allInnerTexts()).toEqual([expect.stringContaining('.env')]);
    await screenshot(page, 'secret-file-open');

    model.script({ kind: 'stream', events: readEnv() }, { kind: 'stream', events: anthropicTurn({ text: ['It points at the payroll database.'] }) });
    await ask('what database does the .env file point at?');
    await expect.poll(() => model.requests.length).toBe(before + 4);
    expect(JSON.stringify(model.requests[before + 3]?.body.messages)).toContain('postgres://payroll@db/payroll');

    await panel.getByTestId('secret-file-close').click();
    await expect.poll(() => panel.getByTestId('secret-file').count()).toBe(0);
    model.script({ kind: 'stream', events: readEnv() }, { kind: 'stream', events: anthropicTurn({ text: ['Refused again.'] }) });
    await ask('read the .env file again');
    await expect.poll(() => model.requests.length).toBe(before + 6);
    expect(JSON.stringify(model.requests[before + 5]?.body.messages)).toContain('unless you open it yourself');
    await expect.poll(() => page.getByTestId('agent-status').count()).toBe(0);
  });

  it('review findings show as a list that jumps to the code', async () => {
    model.script(
      {
        kind: 'stream',
        events: anthropicTurn({
          tools: [
            {
              name: 'report_findings',
              input: {
                findings: [
                  { file: 'sql/employees.sql', startLine: 4, endLine: 4, severity: 'warning', rule: 'sql/salary-check', explanation: 'salary has no CHECK (salary >= 0).', suggestedFix: 'Add CHECK (salary >= 0).' },
                  { file: 'sql/employees.sql', startLine: 3, endLine: 3, severity: 'note', rule: 'sql/not-null', explanation: 'name may be NULL.' },
                ],
              },
            },
          ],
        }),
      },
      { kind: 'stream', events: anthropicTurn({ text: ['Two findings, listed beside the chat.'] }) },
    );
    await ask('review the employees_table definition for best practices');
    const findings = page.getByTestId('finding');
    await expect.poll(() => findings.count()).toBe(2);
    expect(await findings.first().innerText()).toMatch(/warning[\s\S]*sql\/employees\.sql:4[\s\S]*sql\/salary-check/i);
    await findings.first().click();
    const code = page.getByTestId('code-view');
    await code.locator('.monaco-editor .view-line').first().waitFor();
    await expect.poll(() => text(code.locator('.monaco-editor'))).toContain('salary NUMBER(10, 2)');
    const download = page.waitForEvent('download');
    await page.getByTestId('findings-export').click();
    const saved = await (await download).path();
    const sarif = JSON.parse(await readFile(saved, 'utf8')) as { version: string; runs: { results: { ruleId: string }[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]?.results.map((result) => result.ruleId)).toEqual(['sql/salary-check', 'sql/not-null']);
    await screenshot(page, 'findings');
  });

  it('raised no page error, CSP violation or request beyond loopback', () => {
    expect(watched.problems).toEqual([]);
  });
});
