import type { StopReport } from '../../../shared/contract';

export function StopBanner({ report, onResume }: { report: StopReport | undefined; onResume: () => void }) {
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
