/**
 * `read_logs`: a log source the person set up in Settings (a file or folder outside the
 * workspace, a Docker container's logs, a saved command's output in the sandbox), read by
 * name with a time window, a grep-style filter and a tail. Read-only, and low risk: the
 * sources are the person's choice, and no tool adds or widens one. Audited like every call;
 * known secret values are cut from what it returns.
 */
import { z } from 'zod';
import type { ToolDefinition, ToolExecutor, ToolRegistry } from '../agent/tools';
import { logReadLimits } from '../logs/logQuery';
import type { LogSourceService } from '../logs/logSourceService';

const moment = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(40)
    .describe(`${what}: an ISO time (2026-12-02T15:04:05Z) or a duration back from now (30s, 15m, 2h, 1d, 1w).`);

export const readLogsInput = z
  .object({
    source: z.string().trim().min(1).max(64).describe('The name of a log source from Settings.'),
    since: moment('Only lines from this time on').optional(),
    until: moment('Only lines up to this time').optional(),
    grep: z
      .string()
      .min(1)
      .max(logReadLimits.grep)
      .optional()
      .describe('Only lines matching this regular expression (RE2 syntax: no backreferences or lookaround; "(?i)" for any case), e.g. "ERROR|429".'),
    fixed: z.boolean().optional().describe('Match grep as plain text, not as a regular expression.'),
    tail: z.number().int().min(1).max(logReadLimits.maxTail).optional().describe(`At most this many lines, the newest (default ${logReadLimits.defaultTail}).`),
  })
  .strict();

export function readLogsTool(service: LogSourceService) {
  return {
    name: 'read_logs',
    // Read when each request is made: it names the sources set up now.
    get description(): string {
      const sources = service.list();
      const listed = sources.length > 0 ? `Sources set up: ${sources.map((source) => `${source.name} (${source.kind})`).join(', ')}.` : 'No sources are set up yet (the person adds them in Settings → Log sources).';
      return `Read a log source the person set up in Settings: a log file or folder outside the workspace, a Docker container's logs, or a saved command's output (run in the sandbox). Filter by time window, a regular expression and a tail. Returns a header (source, window, filter, lines matched and returned) and the lines, oldest first. ${listed}`;
    },
    input: readLogsInput,
    // Reads only what the person chose to expose; the card (or a session approval) still applies at the default threshold.
    risk: 'low',
    describe: (input) => `read the logs of ${input.source}${input.grep ? ` matching ${input.grep}` : ''}`.slice(0, 200),
    preview: (input) => {
      const source = service.list().find((candidate) => candidate.name.toLowerCase() === input.source.toLowerCase());
      const where = source ? `${source.kind}: ${source.kind === 'file' ? source.path : source.kind === 'docker' ? source.container : `$ ${source.command} (in a sandbox container, workspace read-only, no network)`}` : 'not a source set up in Settings';
      const window = input.since || input.until ? `, from ${input.since ?? 'the start'} to ${input.until ?? 'now'}` : '';
      return `read_logs ${input.source} (${where})${window}${input.grep ? `, lines matching ${input.grep}` : ''}, at most ${input.tail ?? logReadLimits.defaultTail} lines`;
    },
  } as const satisfies ToolDefinition<typeof readLogsInput>;
}

export function readLogsExecutor(service: LogSourceService): ToolExecutor<typeof readLogsInput> {
  return (input, context) => service.read(input, context.signal);
}

export function registerLogTools(registry: ToolRegistry, service: LogSourceService): void {
  registry.register(readLogsTool(service), readLogsExecutor(service));
}
