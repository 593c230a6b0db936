/**
 * The Metrics panel's figures, as the main process computes them from the audit log
 * (electron/metrics/). Every figure is a count of audit entries or is derived from their
 * times; nothing is kept anywhere else.
 */
import { z } from 'zod';

export const metricsGroupings = ['day', 'model', 'workspace'] as const;
export const metricsGrouping = z.enum(metricsGroupings);
export type MetricsGrouping = z.infer<typeof metricsGrouping>;

/** What a group or entry has no value for (a call made before the log recorded a workspace, …). */
export const unknownGroup = '(unknown)';

export const metricsQuery = z
  .object({
    /** Epoch ms, inclusive; entries before it are read for context (whose conversation, which model) but not counted. */
    from: z.number().int().nonnegative().optional(),
    /** Epoch ms, exclusive. */
    to: z.number().int().nonnegative().optional(),
    groupBy: metricsGrouping,
    /** IANA time zone the days are cut in (the person's); UTC when absent. */
    timeZone: z.string().min(1).max(64).regex(/^[A-Za-z0-9_+\-/]+$/, 'an IANA time zone such as Europe/Paris').optional(),
  })
  .strict();
export type MetricsQuery = z.infer<typeof metricsQuery>;

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative();

/** A set of durations: how many, and their mean, median, 95th percentile and maximum (null when none). */
export const durationStats = z.object({ count, meanMs: ms.nullable(), medianMs: ms.nullable(), p95Ms: ms.nullable(), maxMs: ms.nullable() });
export type DurationStats = z.infer<typeof durationStats>;

export const metricsFigures = z.object({
  /** Code proposals (approval cards that showed a diff) the person answered. */
  proposals: z.object({ approved: count, modified: count, rejected: count }),
  /** run_command calls that ran in the sandbox: exit 0 passed, anything else (failure, timeout, stop) failed. */
  testRuns: z.object({ passed: count, failed: count }),
  /** Approved deployments (Pulumi up, Snowflake DDL apply) by outcome, and rollbacks that succeeded. */
  deployments: z.object({ succeeded: count, failed: count, cancelled: count, rolledBack: count }),
  /** Troubleshooting requests, and the time from each to an approved fix that passed verification. */
  troubleshooting: z.object({ requests: count, fixed: count, timeToFix: durationStats }),
  /** How long approval cards waited for the person's answer (timeouts and stops left out, counted apart). */
  approvalWait: durationStats.extend({ unanswered: count }),
  /** Model calls, their tokens and their cost; calls of a model the price table does not know are counted as unpriced. */
  usage: z.object({ calls: count, inputTokens: count, outputTokens: count, cacheReadTokens: count, cacheWriteTokens: count, costUsd: z.number().nonnegative(), unpricedCalls: count }),
});
export type MetricsFigures = z.infer<typeof metricsFigures>;

export const metricsReport = z.object({
  groupBy: metricsGrouping,
  timeZone: z.string().max(64),
  from: z.number().int().nonnegative().nullable(),
  to: z.number().int().nonnegative().nullable(),
  /** Audit entries read, and the last one (the figures are as of that entry). */
  entriesRead: count,
  lastSeq: count,
  /** One row per day, model or workspace, in order (days ascending, others by name). */
  groups: z.array(z.object({ key: z.string().max(4096), figures: metricsFigures })).max(10_000),
  totals: metricsFigures,
});
export type MetricsReport = z.infer<typeof metricsReport>;

/** The share of answered code proposals approved as they were, or null when there were none. */
export function unmodifiedShare(proposals: MetricsFigures['proposals']): number | null {
  const answered = proposals.approved + proposals.modified + proposals.rejected;
  return answered === 0 ? null : proposals.approved / answered;
}

/** Passed runs over all runs, or null when there were none. */
export function passRate(runs: MetricsFigures['testRuns']): number | null {
  const all = runs.passed + runs.failed;
  return all === 0 ? null : runs.passed / all;
}
