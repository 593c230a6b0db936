/**
 * The deployment monitor: each preview, update, refresh or DDL run with its plan ("+3 to
 * create, ~1 to update"), the estimated cost, every resource's step as the engine reports
 * it (operation, status, duration) and the outputs at the end. Newest first.
 */
import type { DeploymentStep } from '../../../shared/contract';
import type { Deployment } from '../state/deployments';
import './deploymentMonitor.css';

const phaseNames: Record<Deployment['phase'], string> = {
  preview: 'Preview',
  update: 'Update',
  destroy: 'Destroy',
  rollback: 'Rollback preview',
  refresh: 'Refresh',
  ddl: 'Snowflake DDL',
};

const statusNames: Record<Deployment['status'], string> = {
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function sign(op: string): string {
  switch (op) {
    case 'create':
    case 'additive':
      return '+';
    case 'delete':
    case 'destructive':
      return '-';
    case 'replace':
      return '+-';
    case 'same':
      return ' ';
    default:
      return '~';
  }
}

function duration(step: DeploymentStep): string {
  if (step.durationMs === undefined) return '';
  return step.durationMs < 1000 ? `${Math.round(step.durationMs)} ms` : `${(step.durationMs / 1000).toFixed(1)} s`;
}

function StepRow({ step }: { step: DeploymentStep }) {
  return (
    <li className={`deployment-step step-${step.status} op-${step.op}`} data-testid="deployment-step">
      <span className="step-sign" aria-label={step.op}>
        {sign(step.op)}
      </span>
      <span className="step-type">{step.type}</span>
      <span className="step-name">{step.name}</span>
      <span className="step-op">{step.op}</span>
      <span className="step-status">{step.status}</span>
      <span className="step-duration">{duration(step)}</span>
      {step.diffs.length > 0 && <span className="step-diffs">changes: {step.diffs.join(', ')}</span>}
      {step.message && <span className="step-message">{step.message}</span>}
    </li>
  );
}

function DeploymentCard({ deployment }: { deployment: Deployment }) {
  const changing = deployment.steps.filter((step) => step.op !== 'same');
  const unchanged = deployment.steps.length - changing.length;
  return (
    <section className={`deployment deployment-${deployment.status}`} data-testid="deployment" aria-label={`${phaseNames[deployment.phase]} of ${deployment.target}`}>
      <header className="deployment-header">
        <span className="deployment-phase">{phaseNames[deployment.phase]}</span>
        <span className="deployment-target">{deployment.target}</span>
        <span className="deployment-status" data-testid="deployment-status">
          {statusNames[deployment.status]}
        </span>
      </header>
      {deployment.summary && (
        <p className="deployment-summary" data-testid="deployment-summary">
          {deployment.summary}
        </p>
      )}
      {deployment.message && deployment.message !== deployment.summary && <p className="deployment-message">{deployment.message}</p>}
      {deployment.cost && (
        <p className="deployment-cost" data-testid="deployment-cost">
          {deployment.cost.text}
        </p>
      )}
      {changing.length > 0 && (
        <ul className="deployment-steps" aria-label="Resources">
          {changing.map((step) => (
            <StepRow key={step.urn} step={step} />
          ))}
        </ul>
      )}
      {unchanged > 0 && <p className="deployment-unchanged">{unchanged} unchanged</p>}
      {deployment.diagnostics.length > 0 && (
        <ul className="deployment-diagnostics">
          {deployment.diagnostics.map((line, index) => (
            <li key={index}>{line}</li>
          ))}
        </ul>
      )}
      {deployment.outputs.length > 0 && (
        <dl className="deployment-outputs" data-testid="deployment-outputs">
          {deployment.outputs.map((output) => (
            <div key={output.name}>
              <dt>{output.name}</dt>
              <dd>{output.value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

export function DeploymentMonitor({ deployments }: { deployments: readonly Deployment[] }) {
  return (
    <div className="deployment-monitor" data-testid="deployment-monitor">
      {deployments.length === 0 ? (
        <p className="panel-placeholder">No previews or deployments yet. Ask Sophia to preview a stack or plan Snowflake DDL.</p>
      ) : (
        [...deployments].reverse().map((deployment) => <DeploymentCard key={deployment.deploymentId} deployment={deployment} />)
      )}
    </div>
  );
}
