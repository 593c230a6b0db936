import type { StopReport } from '../../../shared/contract';
import { stopSummary } from '../../../shared/stopSummary';

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
      <span data-testid="stop-summary" title={report?.stopped.map((item) => `${item.label}: ${item.outcome}`).join('\n')}>
        {stopSummary(report?.stopped ?? [])}
      </span>{' '}
      The agent is locked until you resume.
      <button type="button" className="resume-button" onClick={onResume}>
        Resume
      </button>
    </div>
  );
}
