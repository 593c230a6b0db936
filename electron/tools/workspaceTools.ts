/**
 * Read-only tools over the open workspace: read a file, list a folder. A path is resolved
 * inside the workspace after following links, so neither `..` nor a symlink planted in the
 * workspace reads anything outside it. Writes go through diffs and the gate (code
 * management), never through these tools.
 */
import { lstat, open, readdir } from 'node:fs/promises';
import { z } from 'zod';
import type { ToolDefinition, ToolExecutor, ToolOutput, ToolRegistry } from '../agent/tools';
import { confinePath } from '../core/workspacePaths';

export const maxReadBytes = 256 * 1024;
const maxEntries = 500;

const relativePath = z.string().max(4096).describe('A path relative to the workspace root, e.g. "sql/employees.sql"');

export const readFileTool = {
  name: 'read_file',
  description: 'Read a text file of the workspace. Returns its content (at most 256 KiB).',
  input: z.object({ path: relativePath }).strict(),
  risk: 'read-only',
} as const satisfies ToolDefinition;

export const listFilesTool = {
  name: 'list_files',
  description: 'List the files and folders of a workspace folder (not recursive).',
  input: z.object({ path: relativePath.optional() }).strict(),
  risk: 'read-only',
} as const satisfies ToolDefinition;

const failure = (output: string): ToolOutput => ({ ok: false, output });

/** Secret files the person opened for the agent (code/secretFiles.ts); none by default. */
export type SecretAllowance = (relative: string) => boolean;

/**
 * The real path of `relative` inside `root`, or a failure saying why not: the confinement
 * rules of `core/workspacePaths.ts` (no escape by `..`, absolute path or link; no .git/,
 * no secret files such as .env unless the person opened that one; no NUL bytes or overlong names).
 */
export async function resolveInside(root: string, relative: string, allowSecret?: SecretAllowance): Promise<{ file: string } | { error: string }> {
  const confined = await confinePath(root, relative, 'read', allowSecret ? { allowSecret } : {});
  return confined.ok ? { file: confined.file } : { error: confined.error };
}

export function workspaceExecutors(
  workspace: () => string,
  allowSecret?: SecretAllowance,
): {
  readFile: ToolExecutor<typeof readFileTool.input>;
  listFiles: ToolExecutor<typeof listFilesTool.input>;
} {
  return {
    readFile: async ({ path: relative }) => {
      const resolved = await resolveInside(workspace(), relative, allowSecret);
      if ('error' in resolved) return failure(resolved.error);
      const info = await lstat(resolved.file);
      if (!info.isFile()) return failure(`${relative} is not a file.`);
      const handle = await open(resolved.file, 'r');
      try {
        const buffer = Buffer.alloc(Math.min(info.size, maxReadBytes));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        const content = buffer.subarray(0, bytesRead);
        if (content.includes(0)) return failure(`${relative} is a binary file.`);
        const truncated = info.size > maxReadBytes ? `\n[truncated: ${info.size} bytes, showing the first ${maxReadBytes}]` : '';
        return { ok: true, output: content.toString('utf8') + truncated };
      } finally {
        await handle.close();
      }
    },
    listFiles: async ({ path: relative }) => {
      const resolved = await resolveInside(workspace(), relative ?? '.');
      if ('error' in resolved) return failure(resolved.error);
      const entries = await readdir(resolved.file, { withFileTypes: true }).catch(() => undefined);
      if (!entries) return failure(`${relative ?? '.'} is not a folder.`);
      const names = entries
        .sort((a, b) => a.name.localeCompare(b.name))
        .slice(0, maxEntries)
        .map((entry) => (entry.isDirectory() ? `${entry.name}/` : entry.name));
      const more = entries.length > maxEntries ? `\n[${entries.length - maxEntries} more]` : '';
      return { ok: true, output: names.join('\n') + more };
    },
  };
}

export function registerWorkspaceTools(registry: ToolRegistry, workspace: () => string, allowSecret?: SecretAllowance): void {
  const executors = workspaceExecutors(workspace, allowSecret);
  registry.register(readFileTool, executors.readFile);
  registry.register(listFilesTool, executors.listFiles);
}
