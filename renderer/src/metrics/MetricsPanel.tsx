/**
 * The Metrics panel: figures the main process computes from the audit log (`metrics.query`),
 * per day, model or workspace, as charts (Chart.js) and a table, and the same figures as CSV
 * (`metrics.csv`). Loaded with React.lazy from App.tsx: Chart.js is fetched only when the
 * panel is first opened.
 */
import { BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, Tooltip, type ChartData, type ChartOptions } from 'chart.js';
import { useCallback, useEffect, useState } from 'react';
import { Bar } from 'react-chartjs-2';
import { passRate, unmodifiedShare, type DurationStats, type MetricsFigures, type MetricsGrouping, type MetricsReport } from '../../../shared/metrics';
import type { SophiaClient } from '../client/sophiaClient';
import './metrics.css';

ChartJS.register(CategoryScale, LinearScale, BarElement, Tooltip, Legend);
ChartJS.defaults.color = '#c8cfdb';
ChartJS.defaults.borderColor = '#2a3140';

type Range = 'all' | '7' | '30';
const dayMs = 86_400_000;

const colors = { good: '#3fb950', changed: '#d29922', bad: '#e5484d', neutral: '#5aa2ff', muted: '#8d97a8' } as const;

const barOptions = (stacked: boolean, title: string): ChartOptions<'bar'> => ({
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } }, tooltip: { enabled: true }, title: { display: false, text: title } },
  scales: { x: { stacked, ticks: { autoSkip: true, maxRotation: 0 } }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
});

export function formatDuration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const percent = (share: number | null): string => (share === null ? '–' : `${Math.round(share * 1000) / 10} %`);
const whole = (n: number): string => n.toLocaleString('en');
const usd = (n: number): string => `$${n.toFixed(n > 0 && n < 0.01 ? 4 : 2)}`;

/** A group's name as shown: a workspace by its folder name (the full path in the title). */
function shortKey(key: string, groupBy: MetricsGrouping): string {
  if (groupBy !== 'workspace') return key;
  const parts = key.split(/[\\/]/).filter(Boolean);
  return parts.at(-1) ?? key;
}

function Figure(props: { id: string; label: string; value: number; shown?: string; hint?: string }) {
  return (
    <div className="metrics-figure" title={props.hint}>
      <span className="metrics-figure-value" data-testid={`metric-${props.id}`} data-value={props.value}>
        {props.shown ?? whole(props.value)}
      </span>
      <span className="metrics-figure-label">{props.label}</span>
    </div>
  );
}

function Stats({ id, stats }: { id: string; stats: DurationStats }) {
  return (
    <span data-testid={`metric-${id}`} data-count={stats.count} data-median={stats.medianMs ?? ''}>
      median {formatDuration(stats.medianMs)}, mean {formatDuration(stats.meanMs)}, p95 {formatDuration(stats.p95Ms)}, longest {formatDuration(stats.maxMs)}
    </span>
  );
}

function chart(labels: string[], sets: { label: string; color: string; values: number[] }[]): ChartData<'bar'> {
  return { labels, datasets: sets.map((set) => ({ label: set.label, data: set.values, backgroundColor: set.color, borderWidth: 0, maxBarThickness: 48 })) };
}

export default function MetricsPanel({ client, onClose }: { client: SophiaClient; onClose: () => void }) {
  const [groupBy, setGroupBy] = useState<MetricsGrouping>('day');
  const [range, setRange] = useState<Range>('all');
  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const [zone, setZone] = useState<'local' | 'utc'>('local');
  const [report, setReport] = useState<MetricsReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [exported, setExported] = useState<string | undefined>();

  const query = useCallback(
    () => ({ groupBy, ...(range === 'all' ? {} : { from: Date.now() - Number(range) * dayMs }), ...(zone === 'local' ? { timeZone: localZone } : {}) }),
    [groupBy, range, zone, localZone],
  );

  const load = useCallback(
    () =>
      client.request('metrics.query', query()).then((result) => {
        if (!result.ok) {
          setError(result.error.message);
          return;
        }
        setError(undefined);
        setReport(result.value);
      }),
    [client, query],
  );

  useEffect(() => {
    void load();
  }, [load]);

  const exportCsv = async (): Promise<void> => {
    const result = await client.request('metrics.csv', query());
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    const url = URL.createObjectURL(new Blob([result.value.csv], { type: 'text/csv' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = result.value.fileName;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setExported(`${result.value.fileName}: ${result.value.rows} row(s) and the totals`);
  };

  const t: MetricsFigures | undefined = report?.totals;
  const labels = report?.groups.map((group) => shortKey(group.key, report.groupBy)) ?? [];
  const of = (pick: (f: MetricsFigures) => number) => report?.groups.map((group) => pick(group.figures)) ?? [];
  const answered = t ? t.proposals.approved + t.proposals.modified + t.proposals.rejected : 0;

  return (
    <section className="metrics-panel" role="dialog" aria-label="Metrics" data-testid="metrics-panel">
      <div className="metrics-head">
        <strong>Metrics</strong>
        <span className="metrics-source">
          from the audit log{report ? `: ${whole(report.entriesRead)} entries, days in ${report.timeZone}` : ''}
        </span>
        <label>
          Group by{' '}
          <select value={groupBy} onChange={(event) => setGroupBy(event.target.value as MetricsGrouping)} data-testid="metrics-group">
            <option value="day">day</option>
            <option value="model">model</option>
            <option value="workspace">workspace</option>
          </select>
        </label>
        <label>
          Period{' '}
          <select value={range} onChange={(event) => setRange(event.target.value as Range)} data-testid="metrics-range">
            <option value="all">everything</option>
            <option value="7">last 7 days</option>
            <option value="30">last 30 days</option>
          </select>
        </label>
        <label>
          Days in{' '}
          <select value={zone} onChange={(event) => setZone(event.target.value as 'local' | 'utc')} data-testid="metrics-zone">
            <option value="local">your time zone ({localZone})</option>
            <option value="utc">UTC</option>
          </select>
        </label>
        <button type="button" onClick={() => void load()} data-testid="metrics-refresh">
          Refresh
        </button>
        <button type="button" onClick={() => void exportCsv()} data-testid="metrics-csv">
          Export CSV
        </button>
        <button type="button" className="metrics-close" onClick={onClose} aria-label="Close">
          ×
        </button>
      </div>
      {error && (
        <p className="metrics-error" role="alert">
          {error}
        </p>
      )}
      {exported && <p className="metrics-note">Saved {exported}.</p>}
      {t && report && (
        <div className="metrics-body">
          <p className="metrics-accuracy" data-testid="metrics-accuracy">
            <strong>{percent(unmodifiedShare(t.proposals))}</strong> of the code proposals you answered were approved as they were ({whole(t.proposals.approved)} of {whole(answered)}). That
            share is the honest measure of code-generation accuracy: a proposal you had to modify or reject was not right as generated.
          </p>
          <div className="metrics-figures">
            <Figure id="proposals-approved" label="approved as proposed" value={t.proposals.approved} />
            <Figure id="proposals-modified" label="modified, then approved" value={t.proposals.modified} />
            <Figure id="proposals-rejected" label="rejected" value={t.proposals.rejected} />
            <Figure id="tests-passed" label="sandbox runs passed" value={t.testRuns.passed} />
            <Figure id="tests-failed" label="sandbox runs failed" value={t.testRuns.failed} />
            <Figure id="test-pass-rate" label="pass rate" value={passRate(t.testRuns) ?? 0} shown={percent(passRate(t.testRuns))} />
            <Figure id="deployments-succeeded" label="deployments succeeded" value={t.deployments.succeeded} />
            <Figure id="deployments-failed" label="deployments failed" value={t.deployments.failed} />
            <Figure id="deployments-cancelled" label="deployments cancelled" value={t.deployments.cancelled} />
            <Figure id="deployments-rolled-back" label="rollbacks" value={t.deployments.rolledBack} />
            <Figure id="troubleshooting-requests" label="troubleshooting requests" value={t.troubleshooting.requests} />
            <Figure id="troubleshooting-fixed" label="fixed and verified" value={t.troubleshooting.fixed} />
            <Figure id="approvals-answered" label="approvals answered" value={t.approvalWait.count} />
            <Figure id="approvals-unanswered" label="timed out or stopped" value={t.approvalWait.unanswered} />
            <Figure id="model-calls" label="model calls" value={t.usage.calls} />
            <Figure id="input-tokens" label="input tokens" value={t.usage.inputTokens} hint={`plus ${whole(t.usage.cacheReadTokens)} cache reads, ${whole(t.usage.cacheWriteTokens)} cache writes`} />
            <Figure id="output-tokens" label="output tokens" value={t.usage.outputTokens} />
            <Figure
              id="cost"
              label={t.usage.unpricedCalls ? `cost (${t.usage.unpricedCalls} call(s) unpriced)` : 'cost'}
              value={t.usage.costUsd}
              shown={usd(t.usage.costUsd)}
            />
          </div>
          <p className="metrics-times">
            Time from a troubleshooting request to an approved fix that passed verification: <Stats id="time-to-fix" stats={t.troubleshooting.timeToFix} />.
            <br />
            Time approvals waited for your answer: <Stats id="approval-wait" stats={t.approvalWait} />.
          </p>
          <div className="metrics-charts">
            <figure>
              <figcaption>Code proposals</figcaption>
              <div className="metrics-chart">
                <Bar
                  options={barOptions(true, 'Code proposals')}
                  data={chart(labels, [
                    { label: 'approved as proposed', color: colors.good, values: of((f) => f.proposals.approved) },
                    { label: 'modified', color: colors.changed, values: of((f) => f.proposals.modified) },
                    { label: 'rejected', color: colors.bad, values: of((f) => f.proposals.rejected) },
                  ])}
                />
              </div>
            </figure>
            <figure>
              <figcaption>Sandbox runs (run_command)</figcaption>
              <div className="metrics-chart">
                <Bar
                  options={barOptions(true, 'Sandbox runs')}
                  data={chart(labels, [
                    { label: 'passed', color: colors.good, values: of((f) => f.testRuns.passed) },
                    { label: 'failed', color: colors.bad, values: of((f) => f.testRuns.failed) },
                  ])}
                />
              </div>
            </figure>
            <figure>
              <figcaption>Deployments</figcaption>
              <div className="metrics-chart">
                <Bar
                  options={barOptions(true, 'Deployments')}
                  data={chart(labels, [
                    { label: 'succeeded', color: colors.good, values: of((f) => f.deployments.succeeded) },
                    { label: 'failed', color: colors.bad, values: of((f) => f.deployments.failed) },
                    { label: 'cancelled', color: colors.muted, values: of((f) => f.deployments.cancelled) },
                    { label: 'rolled back', color: colors.changed, values: of((f) => f.deployments.rolledBack) },
                  ])}
                />
              </div>
            </figure>
            <figure>
              <figcaption>Tokens</figcaption>
              <div className="metrics-chart">
                <Bar
                  options={barOptions(true, 'Tokens')}
                  data={chart(labels, [
                    { label: 'input', color: colors.neutral, values: of((f) => f.usage.inputTokens) },
                    { label: 'output', color: colors.changed, values: of((f) => f.usage.outputTokens) },
                  ])}
                />
              </div>
            </figure>
            <figure>
              <figcaption>Median approval wait (s)</figcaption>
              <div className="metrics-chart">
                <Bar options={barOptions(false, 'Approval wait')} data={chart(labels, [{ label: 'median wait', color: colors.neutral, values: of((f) => (f.approvalWait.medianMs ?? 0) / 1000) }])} />
              </div>
            </figure>
          </div>
          <table className="metrics-table" data-testid="metrics-table">
            <thead>
              <tr>
                <th>{report.groupBy}</th>
                <th>approved</th>
                <th>modified</th>
                <th>rejected</th>
                <th>runs passed</th>
                <th>runs failed</th>
                <th>deployed</th>
                <th>deploy failed</th>
                <th>rollbacks</th>
                <th>troubleshooting (fixed)</th>
                <th>median wait</th>
                <th>tokens in / out</th>
                <th>cost</th>
              </tr>
            </thead>
            <tbody>
              {report.groups.map(({ key, figures: f }) => (
                <tr key={key} data-testid="metrics-row" data-key={key}>
                  <td title={key}>{shortKey(key, report.groupBy)}</td>
                  <td>{f.proposals.approved}</td>
                  <td>{f.proposals.modified}</td>
                  <td>{f.proposals.rejected}</td>
                  <td>{f.testRuns.passed}</td>
                  <td>{f.testRuns.failed}</td>
                  <td>{f.deployments.succeeded}</td>
                  <td>{f.deployments.failed}</td>
                  <td>{f.deployments.rolledBack}</td>
                  <td>
                    {f.troubleshooting.requests} ({f.troubleshooting.fixed})
                  </td>
                  <td>{formatDuration(f.approvalWait.medianMs)}</td>
                  <td>
                    {whole(f.usage.inputTokens)} / {whole(f.usage.outputTokens)}
                  </td>
                  <td>{usd(f.usage.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="metrics-note">
            Everything here is counted from the audit log, each figure from one kind of entry, so nothing is counted twice. Proposals are the approval cards that showed a diff; sandbox
            runs are the agent&apos;s run_command calls (exit 0 passed); deployments are those an approved plan started, and rollbacks those that succeeded; cost is priced when each call
            ended. The README says where each figure comes from.
          </p>
        </div>
      )}
    </section>
  );
}
