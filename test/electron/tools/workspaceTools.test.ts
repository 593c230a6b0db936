import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxReadBytes, workspaceExecutors } from '../../../electron/tools/workspaceTools';
import { employeesSql, makeWorkspace } from '../../support/agentFixture';

let workspace: string;
let outside: string;
const context = { conversationId: 'c', callId: 't', signal: new AbortController().signal };

beforeAll(async () => {
  workspace = await makeWorkspace();
  outside = await mkdtemp(path.join(os.tmpdir(), 'sophia-outside-'));
  await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET');
  await symlink(path.join(outside, 'secret.txt'), path.join(workspace, 'innocent.txt'));
  await symlink(outside, path.join(workspace, 'linked-dir'));
  await writeFile(path.join(workspace, 'big.txt'), 'a'.repeat(maxReadBytes + 10));
  await writeFile(path.join(workspace, 'blob.bin'), Buffer.from([1, 0, 2]));
});

describe('workspace tools', () => {
  const tools = () => workspaceExecutors(() => workspace);

  it('reads and lists inside the workspace', async () => {
    expect(await tools().readFile({ path: 'sql/employees.sql' }, context)).toEqual({ ok: true, output: employeesSql });
    const listing = await tools().listFiles({}, context);
    expect(listing.ok).toBe(true);
    expect(listing.output.split('\n')).toEqual(expect.arrayContaining(['README.md', 'sql/']));
  });

  it('reads nothing outside it: not by .., not by absolute path, not through a symlink', async () => {
    for (const attempt of ['../' + path.basename(outside) + '/secret.txt', path.join(outside, 'secret.txt'), 'innocent.txt', 'linked-dir/secret.txt', '/etc/passwd']) {
      const result = await tools().readFile({ path: attempt }, context);
      expect(result.ok, attempt).toBe(false);
      expect(result.output).not.toContain('TOP SECRET');
    }
    expect((await tools().listFiles({ path: 'linked-dir' }, context)).ok).toBe(false);
  });

  it('truncates large files, refuses binaries, and says when no workspace is open', async () => {
    const big = await tools().readFile({ path: 'big.txt' }, context);
    expect(big.output).toContain('[truncated');
    expect((await tools().readFile({ path: 'blob.bin' }, context)).output).toMatch(/binary/);
    const none = await workspaceExecutors(() => '').readFile({ path: 'a' }, context);
    expect(none).toEqual({ ok: false, output: expect.stringContaining('No workspace is open') });
  });
});
