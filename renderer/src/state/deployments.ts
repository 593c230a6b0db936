/**
 * The deployment monitor's state, folded from the deployment events: one entry per preview,
 * update, refresh or DDL run, with its phase and status, the plan (counts, summary, cost),
 * each resource's step as the engine reports it, and the outputs. Bounded: the last 20.
 */
import type { CostEstimate, DeploymentCounts, DeploymentPhase, DeploymentStep, SophiaEvent } from '../../../shared/contract';

export type DeploymentEvent = Extract<SophiaEvent, { type: 'deployment.event' | 'deployment.plan' | 'deployment.resource' | 'deployment.outputs' }>;

export interface Deployment {
  readonly deploymentId: string;
  readonly phase: DeploymentPhase;
  readonly target: string;
  readonly status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  readonly message: string;
  readonly counts: DeploymentCounts | undefined;
  readonly summary: string | undefined;
  readonly cost: CostEstimate | null;
  readonly steps: readonly DeploymentStep[];
  readonly outputs: readonly { readonly name: string; readonly value: string; readonly secret: boolean }[];
  readonly diagnostics: readonly string[];
}

const maxDeployments = 20;

function blank(deploymentId: string): Deployment {
  return { deploymentId, phase: 'preview', target: '', status: 'running', message: '', counts: undefined, summary: undefined, cost: null, steps: [], outputs: [], diagnostics: [] };
}

function upsertStep(steps: readonly DeploymentStep[], step: DeploymentStep): readonly DeploymentStep[] {
  const index = steps.findIndex((item) => item.urn === step.urn);
  if (index < 0) return [...steps, step];
  const next = steps.slice();
  next[index] = step;
  return next;
}

/** Newest last. */
export function reduceDeployments(list: readonly Deployment[], event: DeploymentEvent): readonly Deployment[] {
  const id = event.type === 'deployment.plan' ? event.plan.deploymentId : event.deploymentId;
  const index = list.findIndex((item) => item.deploymentId === id);
  const current = index >= 0 ? list[index]! : blank(id);
  let next: Deployment;
  switch (event.type) {
    case 'deployment.event':
      next = { ...current, phase: event.phase, status: event.status, message: event.message, target: event.target ?? current.target };
      break;
    case 'deployment.plan':
      next = { ...current, phase: event.plan.phase, target: event.plan.target, counts: event.plan.counts, summary: event.plan.summary, cost: event.plan.cost, diagnostics: event.plan.diagnostics, steps: event.plan.steps.reduce(upsertStep, current.steps) };
      break;
    case 'deployment.resource':
      next = { ...current, steps: upsertStep(current.steps, event.step) };
      break;
    case 'deployment.outputs':
      next = { ...current, outputs: event.outputs };
      break;
  }
  if (index < 0) return [...list, next].slice(-maxDeployments);
  const copy = list.slice();
  copy[index] = next;
  return copy;
}
