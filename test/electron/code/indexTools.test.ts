/**
 * search_code and repo_map through the real registry and gate (read-only: no approval
 * asked), on the core's own index service: built on first use, saved under the data
 * folder, and kept up to date by the workspace watcher.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvokeOutcome } from '../../../electron/agent/tools';
import { codeHarness, type CodeHarness } from './codeHarness';

let h: CodeHarness;
const call = (tool: string, input: unknown): Promise<InvokeOutcome> => h.core.registry.invoke(tool, input, { conversationId: 'conv-index', callId: 'c', signal: new AbortController().signal });
const output = (outcome: InvokeOutcome): string => (outcome.kind === 'executed' ? outcome.result.output : `not run: ${JSON.stringify(outcome)}`);

beforeAll(async () => {
  h = await codeHarness();
  await writeFile(path.join(h.workspace, 'sql', 'payroll.sql'), 'CREATE TABLE payroll (employee_id INTEGER, amount NUMBER);\n');
});

afterAll(async () => {
  await h.core.close();
});

describe('search_code and repo_map', () => {
  it('answer from the index without asking anyone, and the index is saved under the data folder', async () => {
    const found = await call('search_code', { query: 'payroll amount' });
    expect(found.kind === 'executed' && found.decision.decidedBy).toBe('policy');
    expect(output(found).split('\n')[0]).toMatch(/^sql\/payroll\.sql \([\d.]+\): payroll@1$/);
    expect(output(await call('repo_map', {}))).toContain('sql/employees.sql: employees@1');
    expect(h.events.some((event) => event.type === 'approval.request')).toBe(false);
    expect((await readdir(path.join(h.dataDir, 'code-index'))).filter((file) => file.endsWith('.json'))).toHaveLength(1);
  });

  it('sees a file written after it was built (the watcher re-reads it alone)', async () => {
    await writeFile(path.join(h.workspace, 'sql', 'bonus.sql'), 'CREATE TABLE quarterly_bonus (id INTEGER);\n');
    let text = '';
    for (let i = 0; i < 200 && !text.includes('sql/bonus.sql'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      text = output(await call('search_code', { query: 'quarterly_bonus' }));
    }
    expect(text.split('\n')[0]).toMatch(/^sql\/bonus\.sql/);
  });
});
