import type { StopReport } from '../../../shared/contract';

/**
 * Shown the moment Stop is clicked ("Stopping…"), before the main process has reported,
 * so the button answers at once even while an answer streams; the report fills it in.
 */
export function StopBanner({ report, pending, onResume }: { report: StopReport | undefined; pending: boolean; onResume: () => void }) {
  if (pending) {
    return (
      <div className="stop-banner" role="alert" data-testid="stop-banner">
        <strong>Stopping everything…</strong> Model streams, approvals, containers and deployments are being ended.
      </div>
    );
  }
  const time = report ? new Date(report.at).toLocaleTimeString() : undefined;
  return (
    <div className="stop-banner" role="alert" data-testid="stop-banner">
      <strong>Everything is stopped{time ? ` (${time})` : ''}.</strong>{' '}
      {report && report.stopped.length > 0
        ? `Stopped: ${report.stopped.map((item) => `${item.kind} ${item.label}${item.outcome === 'stuck' ? ' (stuck)' : ''}`).join(', ')}.`
        : 'Nothing was running.'}{' '}
      The agent is locked until you resume.
      <button type="button" className="resume-button" onClick={onResume}>
        Resume
      </button>
    </div>
  );
}
