/**
 * Troubleshooting as both processes see it: the diagnosis the model reports (`report_diagnosis`)
 * and the check of its evidence against what `read_logs` actually returned in the conversation.
 * The main process checks (it holds every output whole) and writes the verdict into the tool's
 * result; the chat reads the verdict from that result, never from the model's own words.
 * Pure: zod only.
 */
import { z } from 'zod';

export const troubleshootLimits = {
  cause: 4000,
  evidenceSources: 10,
  linesPerSource: 20,
  line: 1000,
  reason: 2000,
} as const;

export const diagnosisInput = z
  .object({
    cause: z.string().trim().min(1).max(troubleshootLimits.cause).describe('The cause of the failure, in plain words for the person.'),
    evidence: z
      .array(
        z
          .object({
            source: z.string().trim().min(1).max(200).describe('The log source the lines came from, as given to read_logs.'),
            lines: z
              .array(z.string().trim().min(1).max(troubleshootLimits.line))
              .min(1)
              .max(troubleshootLimits.linesPerSource)
              .describe('The log lines that matter, quoted exactly as read_logs returned them.'),
          })
          .strict(),
      )
      .min(1)
      .max(troubleshootLimits.evidenceSources),
    reproduction: z.string().min(1).max(64).optional().describe('The callId of the run_command that reproduced the failure, if one did.'),
  })
  .strict();
export type DiagnosisInput = z.infer<typeof diagnosisInput>;

/** What read_logs returned for one call: the source it named and its whole output. */
export interface LogRead {
  readonly source: string;
  readonly output: string;
}

export interface CheckedLine {
  readonly source: string;
  readonly line: string;
  readonly found: boolean;
}

const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The log lines of a read_logs output: what follows its header (which ends at a `---` line). */
function logLines(output: string): string[] {
  const lines = output.split(/\r?\n/);
  const end = lines.indexOf('---');
  return (end < 0 ? lines : lines.slice(end + 1)).map(squash);
}

/**
 * Each quoted line is found when, whitespace squashed, it is part of one log line of a
 * read_logs output for the same source (names compared regardless of case, as read_logs
 * finds them); the output's header does not count. A line spanning two lines, or made up, is
 * not found.
 */
export function checkEvidence(evidence: DiagnosisInput['evidence'], reads: readonly LogRead[]): CheckedLine[] {
  return evidence.flatMap((group) => {
    const lines = reads.filter((read) => read.source.toLowerCase() === group.source.toLowerCase()).flatMap((read) => logLines(read.output));
    return group.lines.map((line) => {
      const wanted = squash(line);
      return { source: group.source, line, found: wanted.length > 0 && lines.some((candidate) => candidate.includes(wanted)) };
    });
  });
}

/** The verdict's last line in the tool's result: one flag per quoted line, in order. */
const verdictPrefix = '[evidence checked: ';

export function diagnosisResult(checked: readonly CheckedLine[]): string {
  const missing = checked.filter((line) => !line.found);
  const head =
    missing.length === 0
      ? `Diagnosis shown to the person. All ${checked.length} quoted line(s) were found in what read_logs returned.`
      : `Diagnosis shown to the person. ${missing.length} of ${checked.length} quoted line(s) were NOT found in what read_logs returned in this conversation, and are marked so: ${missing
          .map((line) => `${line.source}: "${line.line.slice(0, 200)}"`)
          .join('; ')}. Quote lines exactly as read, or read the source again.`;
  return `${head}\n${verdictPrefix}${checked.map((line) => (line.found ? 'found' : 'missing')).join(',')}]`;
}

/** The flags from a report_diagnosis result, or undefined when it carries none (refused, still running). */
export function parseDiagnosisResult(output: string): boolean[] | undefined {
  const last = output.trimEnd().split('\n').at(-1) ?? '';
  if (!last.startsWith(verdictPrefix) || !last.endsWith(']')) return undefined;
  const body = last.slice(verdictPrefix.length, -1);
  if (body === '') return [];
  const flags = body.split(',');
  if (!flags.every((flag) => flag === 'found' || flag === 'missing')) return undefined;
  return flags.map((flag) => flag === 'found');
}

/** What the model is told when the person turns down a fix with "Try a different approach". */
export function differentApproachReason(reason: string): string {
  const why = reason.trim().slice(0, troubleshootLimits.reason);
  return `The person rejected your diagnosis and this fix (Try a different approach)${why ? `. Their reason: "${why}"` : ', without giving a reason'}. Do not apply it again: look for another cause, report the new diagnosis with report_diagnosis, and propose a different fix.`;
}
