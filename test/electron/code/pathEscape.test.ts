/**
 * The path-escape suite: `../`, absolute paths, symlinks out, `.git/`, secret files, NUL
 * bytes and very long names, through every way the agent or the renderer names a file
 * (read_file, list_files, propose_edit, report_findings, workspace.readFile). Each gets a
 * clear refusal, and neither the workspace nor the folder outside it changes.
 */
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confinePath } from '../../../electron/core/workspacePaths';
import { workspaceExecutors } from '../../../electron/tools/workspaceTools';
import { codeHarness, context, snapshot, type CodeHarness } from './codeHarness';

let h: CodeHarness;
let outside: string;
let before: { workspace: Record<string, string>; outside: Record<string, string> };
const toolContext = { conversationId: 'c', callId: 't', signal: new AbortController().signal };

beforeAll(async () => {
  h = await codeHarness();
  outside = await mkdtemp(path.join(os.tmpdir(), 'sophia-outside-'));
  await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET');
  await symlink(path.join(outside, 'secret.txt'), path.join(h.workspace, 'innocent.txt'));
  await symlink(outside, path.join(h.workspace, 'linked-dir'));
  await mkdir(path.join(h.workspace, '.git', 'hooks'), { recursive: true });
  await writeFile(path.join(h.workspace, '.git', 'config'), '[core]\n');
  await writeFile(path.join(h.workspace, '.env'), 'API_KEY=sk-live-123\n');
  await writeFile(path.join(h.workspace, '.env.example'), 'API_KEY=\n');
  await mkdir(path.join(h.workspace, 'config'));
  await writeFile(path.join(h.workspace, 'config', '.env.production'), 'DB_PASSWORD=hunter2\n');
  await symlink(path.join(h.workspace, '.env'), path.join(h.workspace, 'notes.txt'));
  await symlink(path.join(h.workspace, '.git'), path.join(h.workspace, 'gitdir'));
  before = { workspace: await snapshot(h.workspace), outside: await snapshot(outside) };
});

afterAll(async () => {
  await h.core.close();
});

interface Attempt {
  readonly name: string;
  readonly path: () => string;
  /** The refusal says this, in plain words. */
  readonly says: RegExp;
}

const attempts: Attempt[] = [
  { name: '../ out of the workspace', path: () => `../${path.basename(outside)}/secret.txt`, says: /leads outside the workspace/ },
  { name: 'a ../ that climbs back out midway', path: () => 'sql/../../etc/passwd', says: /leads outside the workspace/ },
  { name: 'an absolute path outside', path: () => '/etc/passwd', says: /absolute path/ },
  { name: 'an absolute path to the outside folder', path: () => path.join(outside, 'secret.txt'), says: /absolute path/ },
  { name: 'a home-relative path', path: () => '~/.ssh/id_rsa', says: /absolute path/ },
  { name: 'a symlink to a file outside', path: () => 'innocent.txt', says: /outside the workspace \(through a symbolic link\)|symbolic link/ },
  { name: 'a file through a symlinked folder outside', path: () => 'linked-dir/secret.txt', says: /outside the workspace/ },
  { name: '.git/config', path: () => '.git/config', says: /inside \.git\// },
  { name: '.git/hooks, as a new file', path: () => '.git/hooks/pre-commit', says: /inside \.git\// },
  { name: '.GIT in another case', path: () => '.GIT/config', says: /inside \.git\// },
  { name: '.git through a link', path: () => 'gitdir/config', says: /inside \.git\// },
  { name: '.env', path: () => '.env', says: /holds secrets/ },
  { name: 'a nested .env.production', path: () => 'config/.env.production', says: /holds secrets/ },
  { name: 'a link to .env', path: () => 'notes.txt', says: /holds secrets|symbolic link/ },
  { name: 'a NUL byte', path: () => 'sql/employees.sql\0.png', says: /NUL byte/ },
  { name: 'a control character', path: () => 'sql/\nemployees.sql', says: /control characters/ },
  { name: 'a name over 255 bytes', path: () => `${'a'.repeat(300)}.sql`, says: /longer than 255 bytes/ },
  { name: 'a path over 1,024 characters', path: () => 'a/'.repeat(600), says: /at most 1024/ },
];

describe('path escapes get clear refusals and touch nothing', () => {
  it.each(attempts)('confinement: $name', async (attempt) => {
    for (const purpose of ['read', 'write'] as const) {
      const result = await confinePath(h.workspace, attempt.path(), purpose);
      expect(result.ok, `${purpose} ${attempt.name}`).toBe(false);
      if (!result.ok) expect(result.error).toMatch(attempt.says);
    }
  });

  it.each(attempts)('read_file and list_files: $name', async (attempt) => {
    const tools = workspaceExecutors(() => h.workspace);
    const read = await tools.readFile({ path: attempt.path() }, toolContext);
    expect(read.ok).toBe(false);
    expect(read.output).not.toMatch(/TOP SECRET|sk-live|hunter2|\[core\]/);
    const list = await tools.listFiles({ path: attempt.path() }, toolContext);
    expect(list.ok).toBe(false);
  });

  it.each(attempts)('propose_edit: $name', async (attempt) => {
    if (attempt.path().length > 1024) {
      // Longer than the tool's schema allows: refused before any approval is asked.
      const refused = await h.core.registry.invoke('propose_edit', { summary: 'escape', files: [{ path: attempt.path(), content: 'owned\n' }] }, toolContext);
      expect(refused).toEqual({ kind: 'invalid-input', message: expect.stringMatching(/files\.0\.path: Too big/) });
      return;
    }
    const { proposal, outcome } = await h.propose({ summary: 'escape', files: [{ path: attempt.path(), content: 'owned\n' }] });
    expect(proposal.status).toBe('failed');
    expect(proposal.message).toMatch(attempt.says);
    // Even approved by a careless human, nothing is written.
    await expect(h.answer({ proposalId: proposal.proposalId, action: 'approve' })).rejects.toThrow(/cannot be applied/);
    await h.answer({ proposalId: proposal.proposalId, action: 'cancel' });
    expect((await outcome).kind).toBe('denied');
  });

  it.each(attempts)('report_findings and workspace.readFile: $name', async (attempt) => {
    const reported = await h.core.code.findings.report('conv-code', [{ file: attempt.path(), startLine: 1, endLine: 1, severity: 'warning', rule: 'x', explanation: 'y' }]);
    expect(reported.ok).toBe(false);
    expect(reported.output).toMatch(attempt.says);
    await expect(async () => h.core.handlers['workspace.readFile']({ path: attempt.path() }, context)).rejects.toThrow(attempt.says);
  });

  it('a proposal mixing one escaping file with good ones applies to none', async () => {
    const { proposal, outcome } = await h.propose({
      summary: 'mixed',
      files: [
        { path: 'sql/employees.sql', content: 'changed\n' },
        { path: '../escape.txt', content: 'owned\n' },
      ],
    });
    expect(proposal.status).toBe('failed');
    await h.answer({ proposalId: proposal.proposalId, action: 'cancel' });
    await outcome;
  });

  it('the templates (.env.example) and ordinary files stay readable', async () => {
    const tools = workspaceExecutors(() => h.workspace);
    expect((await tools.readFile({ path: '.env.example' }, toolContext)).ok).toBe(true);
    expect((await tools.readFile({ path: './sql//employees.sql' }, toolContext)).ok).toBe(true);
  });

  it('left the workspace and the folder outside exactly as they were', async () => {
    expect(await snapshot(h.workspace)).toEqual(before.workspace);
    expect(await snapshot(outside)).toEqual(before.outside);
  });
});
