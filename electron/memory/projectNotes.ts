/**
 * Project notes: `AGENTS.md` (the convention most coding agents share) and `CLAUDE.md`, at the
 * workspace root. They are the repository's words, not the person's: the system prompt quotes
 * them as labelled data, the Memory panel shows them, and they grant nothing (the gate never
 * reads them). Read under the same confinement as the agent's read tools: a link out of the
 * workspace, into `.git/` or to a secret file is refused; only the first `notesBytes` are read.
 */
import { open } from 'node:fs/promises';
import { memoryLimits, type ProjectNotesView } from '../../shared/memory';
import { confinePath } from '../core/workspacePaths';
import { createLogger } from '../log';

const log = createLogger('projectNotes');

export const projectNoteFiles = ['AGENTS.md', 'CLAUDE.md'] as const;

export async function readProjectNotes(workspace: string): Promise<ProjectNotesView> {
  const result: { notes: ProjectNotesView['notes'][number][]; refused: ProjectNotesView['refused'][number][] } = { notes: [], refused: [] };
  if (!workspace) return result;
  for (const file of projectNoteFiles) {
    const confined = await confinePath(workspace, file, 'read');
    if (!confined.ok) {
      // Absent is the usual case and says nothing; anything else is worth showing.
      if (!/does not exist in the workspace/.test(confined.error)) result.refused.push({ file, reason: confined.error });
      continue;
    }
    try {
      const note = await readBounded(confined.file);
      if (note === 'not-text') {
        result.refused.push({ file, reason: `${file} is not UTF-8 text, so it was not read.` });
        continue;
      }
      if (note.text.trim()) result.notes.push({ file, ...note });
    } catch (error) {
      log.warn('project notes could not be read', { file, error });
      result.refused.push({ file, reason: `${file} could not be read (${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'}).` });
    }
  }
  return result;
}

async function readBounded(file: string): Promise<{ text: string; truncated: boolean } | 'not-text'> {
  const handle = await open(file, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) return 'not-text';
    const buffer = Buffer.alloc(Math.min(info.size, memoryLimits.notesBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const bytes = buffer.subarray(0, bytesRead);
    if (bytes.includes(0)) return 'not-text';
    const truncated = info.size > bytesRead;
    // A cut may split a character: the decoder drops the partial one at the end, no more.
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: !truncated }).decode(bytes);
    } catch {
      return 'not-text';
    }
    if (truncated) text = text.replace(/\uFFFD$/, '');
    return { text: text.replace(/\r\n?/g, '\n'), truncated };
  } finally {
    await handle.close();
  }
}
