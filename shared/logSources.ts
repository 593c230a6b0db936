/**
 * Log sources: what the person allows the agent to read with `read_logs`, named in Settings.
 * A file or folder outside the workspace, a local Docker container's logs, or the output of
 * a saved command run in the sandbox. Only the person's own channels (`logSources.save`,
 * `logSources.remove`) change them; no tool does. Pure: zod only.
 */
import { z } from 'zod';
import { missingCase } from './errors';

export const logSourceLimits = {
  /** Sources kept in Settings. */
  sources: 50,
  path: 4096,
  container: 255,
  command: 8 * 1024,
} as const;

export const logSourceName = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'a name of letters, digits, dots, dashes and underscores (at most 64), starting with a letter or digit');

export const logSourceKinds = ['file', 'docker', 'command'] as const;
export type LogSourceKind = (typeof logSourceKinds)[number];

export const logSource = z.discriminatedUnion('kind', [
  z
    .object({
      name: logSourceName,
      kind: z.literal('file'),
      /** A log file or a folder of logs outside the workspace: absolute once `~` is expanded. */
      path: z.string().trim().min(1, 'the path of a log file or folder').max(logSourceLimits.path),
    })
    .strict(),
  z
    .object({
      name: logSourceName,
      kind: z.literal('docker'),
      /** A container's name or id on the local Docker engine. */
      container: z
        .string()
        .trim()
        .min(1, 'a container name or id')
        .max(logSourceLimits.container)
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a container name or id (letters, digits, _ . -)'),
    })
    .strict(),
  z
    .object({
      name: logSourceName,
      kind: z.literal('command'),
      /** Run with /bin/sh -c in a sandbox container: workspace read-only, no network. */
      command: z.string().trim().min(1, 'a command whose output is the log').max(logSourceLimits.command),
    })
    .strict(),
]);
export type LogSource = z.infer<typeof logSource>;

export const logSourceList = z.array(logSource).max(logSourceLimits.sources);

/** The field of a source a refusal names, so Settings shows the message beside it. */
export type LogSourceField = 'name' | 'path' | 'container' | 'command';

/** Where a source reads from, in a few words (Settings, the tool's header). */
export function logSourceTarget(source: LogSource): string {
  switch (source.kind) {
    case 'file':
      return source.path;
    case 'docker':
      return `container ${source.container}`;
    case 'command':
      return `$ ${source.command}`;
    default:
      return missingCase(source);
  }
}
