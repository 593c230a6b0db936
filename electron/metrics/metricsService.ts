/**
 * The Metrics panel's channels: the audit log read a page at a time (the event loop gets a
 * turn between pages, so a large log does not hold up the app), counted by
 * `MetricsAccumulator`, and the same report as CSV.
 */
import { SophiaError } from '../../shared/errors';
import type { Handlers } from '../../shared/handlers';
import { passRate, unmodifiedShare, type MetricsFigures, type MetricsQuery, type MetricsReport } from '../../shared/metrics';
import type { AuditPageRow } from '../audit/auditLog';
import { createLogger } from '../log';
import { MetricsAccumulator } from './auditMetrics';

const log = createLogger('metricsService');

export interface AuditPages {
  page(afterSeq: number, limit: number): readonly AuditPageRow[];
}

export const metricsPageSize = 1000;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function computeMetrics(audit: AuditPages, query: MetricsQuery, pageSize = metricsPageSize): Promise<MetricsReport> {
  let accumulator: MetricsAccumulator;
  try {
    accumulator = new MetricsAccumulator(query);
  } catch (error) {
    if (error instanceof RangeError) throw new SophiaError('bad_request', error.message);
    throw error;
  }
  const started = performance.now();
  let after = 0;
  for (;;) {
    const rows = audit.page(after, pageSize);
    for (const row of rows) accumulator.add(row);
    if (rows.length < pageSize) break;
    after = rows.at(-1)!.seq;
    await nextTurn();
  }
  const report = accumulator.report();
  log.info('metrics computed', { entries: report.entriesRead, groupBy: query.groupBy, ms: Math.round(performance.now() - started) });
  return report;
}

export const csvColumns = [
  'group',
  'proposals_approved_unmodified',
  'proposals_modified',
  'proposals_rejected',
  'share_approved_unmodified',
  'test_runs_passed',
  'test_runs_failed',
  'test_pass_rate',
  'deployments_succeeded',
  'deployments_failed',
  'deployments_cancelled',
  'rollbacks',
  'troubleshooting_requests',
  'troubleshooting_fixed',
  'time_to_fix_mean_ms',
  'time_to_fix_median_ms',
  'approvals_answered',
  'approval_wait_mean_ms',
  'approval_wait_median_ms',
  'approval_wait_p95_ms',
  'approval_wait_max_ms',
  'approvals_unanswered',
  'model_calls',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost_usd',
  'unpriced_calls',
] as const;

/** One CSV cell: quoted when needed, and a text that a spreadsheet would run as a formula starts with a quote mark. */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e6) / 1e6);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function row(group: string, f: MetricsFigures): string {
  const cells: (string | number | null)[] = [
    group,
    f.proposals.approved,
    f.proposals.modified,
    f.proposals.rejected,
    unmodifiedShare(f.proposals),
    f.testRuns.passed,
    f.testRuns.failed,
    passRate(f.testRuns),
    f.deployments.succeeded,
    f.deployments.failed,
    f.deployments.cancelled,
    f.deployments.rolledBack,
    f.troubleshooting.requests,
    f.troubleshooting.fixed,
    f.troubleshooting.timeToFix.meanMs,
    f.troubleshooting.timeToFix.medianMs,
    f.approvalWait.count,
    f.approvalWait.meanMs,
    f.approvalWait.medianMs,
    f.approvalWait.p95Ms,
    f.approvalWait.maxMs,
    f.approvalWait.unanswered,
    f.usage.calls,
    f.usage.inputTokens,
    f.usage.outputTokens,
    f.usage.cacheReadTokens,
    f.usage.cacheWriteTokens,
    f.usage.costUsd,
    f.usage.unpricedCalls,
  ];
  return cells.map(csvCell).join(',');
}

/** The report as CSV: a header, one row per group, then the totals (group `TOTAL`). Days are in the report's time zone. */
export function metricsCsv(report: MetricsReport): string {
  const lines = [csvColumns.join(','), ...report.groups.map((group) => row(group.key, group.figures)), row('TOTAL', report.totals)];
  return `${lines.join('\r\n')}\r\n`;
}

export function metricsFileName(report: MetricsReport, now = new Date()): string {
  return `sophia-metrics-by-${report.groupBy}-${now.toISOString().slice(0, 10)}.csv`;
}

export function metricsHandlers(audit: AuditPages): Pick<Handlers, 'metrics.query' | 'metrics.csv'> {
  return {
    'metrics.query': (input) => computeMetrics(audit, input),
    'metrics.csv': async (input) => {
      const report = await computeMetrics(audit, input);
      return { fileName: metricsFileName(report), csv: metricsCsv(report), timeZone: report.timeZone, rows: report.groups.length };
    },
  };
}
