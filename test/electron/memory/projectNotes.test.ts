/** AGENTS.md and CLAUDE.md read under the workspace's confinement, bounded in size. */
import { mkdtemp, mkdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryLimits } from '../../../shared/memory';
import { readProjectNotes } from '../../../electron/memory/projectNotes';

const workspace = () => mkdtemp(path.join(os.tmpdir(), 'sophia-notes-'));

describe('readProjectNotes', () => {
  it('reads AGENTS.md and CLAUDE.md at the root, in that order', async () => {
    const root = await workspace();
    await writeFile(path.join(root, 'CLAUDE.md'), 'Claude notes\r\n');
    await writeFile(path.join(root, 'AGENTS.md'), '# Agents\nRun make test.\n');
    expect(await readProjectNotes(root)).toEqual({
      notes: [
        { file: 'AGENTS.md', text: '# Agents\nRun make test.\n', truncated: false },
        { file: 'CLAUDE.md', text: 'Claude notes\n', truncated: false },
      ],
      refused: [],
    });
    expect(await readProjectNotes('')).toEqual({ notes: [], refused: [] });
  });

  it('refuses a link out of the workspace and a link to a secret file, and reads nothing through them', async () => {
    const root = await workspace();
    const outside = await workspace();
    await writeFile(path.join(outside, 'notes.md'), 'OUTSIDE TEXT');
    await symlink(path.join(outside, 'notes.md'), path.join(root, 'AGENTS.md'));
    await writeFile(path.join(root, '.env'), 'TOKEN=abc');
    await symlink(path.join(root, '.env'), path.join(root, 'CLAUDE.md'));
    const notes = await readProjectNotes(root);
    expect(notes.notes).toEqual([]);
    expect(notes.refused).toEqual([
      { file: 'AGENTS.md', reason: expect.stringContaining('outside the workspace') },
      { file: 'CLAUDE.md', reason: expect.stringContaining('looks like a file that holds secrets') },
    ]);
    expect(JSON.stringify(notes)).not.toContain('OUTSIDE TEXT');
    expect(JSON.stringify(notes)).not.toContain('TOKEN=abc');
  });

  it('reads only the first bytes of a long file and says it was cut; a binary file or a folder is not read', async () => {
    const root = await workspace();
    await writeFile(path.join(root, 'AGENTS.md'), `${'é'.repeat(memoryLimits.notesBytes)}END`);
    await mkdir(path.join(root, 'CLAUDE.md'));
    const notes = await readProjectNotes(root);
    expect(notes.notes[0]).toMatchObject({ file: 'AGENTS.md', truncated: true });
    expect(Buffer.byteLength(notes.notes[0]!.text)).toBeLessThanOrEqual(memoryLimits.notesBytes);
    expect(notes.notes[0]!.text).not.toContain('END');
    expect(notes.notes[0]!.text).not.toContain('\uFFFD');
    expect(notes.refused).toEqual([{ file: 'CLAUDE.md', reason: 'CLAUDE.md is not UTF-8 text, so it was not read.' }]);
    await writeFile(path.join(root, 'AGENTS.md'), Buffer.from([0x23, 0x00, 0x01]));
    expect((await readProjectNotes(root)).refused[0]).toEqual({ file: 'AGENTS.md', reason: 'AGENTS.md is not UTF-8 text, so it was not read.' });
  });
});
