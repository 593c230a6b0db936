/** The emergency stop: always visible, never disabled, one click. */
export function StopButton({ onStop, locked }: { onStop: () => void; locked: boolean }) {
  return (
    <button
      type="button"
      className="stop-button"
      data-testid="stop-button"
      onClick={onStop}
      title="Stop everything: model streams, approvals, containers, deployments"
    >
      <span className="stop-icon" aria-hidden="true" />
      {locked ? 'Stopped' : 'Stop'}
    </button>
  );
}
