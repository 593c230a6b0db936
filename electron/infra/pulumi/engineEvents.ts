/**
 * Pulumi's engine events (the `--event-log` stream the Automation API hands to `onEvent`),
 * folded into what the deployment monitor shows: one step per resource with its operation,
 * status and duration, the change counts and the diagnostics.
 */
import type { EngineEvent, OpMap } from '@pulumi/pulumi/automation';
import type { DeploymentCounts, DeploymentStep } from '../../../shared/contract';

const maxDiagnostics = 50;
const maxSteps = 1000;

/** The last part of a URN: `urn:pulumi:dev::proj::aws:s3/bucket:Bucket::logs` is `logs`. */
export function resourceName(urn: string): string {
  const at = urn.lastIndexOf('::');
  return at >= 0 ? urn.slice(at + 2) : urn;
}

/** The engine's change counts, with replacements counted once as "replace". */
export function countsOf(changes: OpMap | Record<string, number | undefined> | undefined): DeploymentCounts {
  const get = (key: string): number => Math.max(0, Math.floor(Number((changes as Record<string, number | undefined> | undefined)?.[key] ?? 0)) || 0);
  return {
    create: get('create'),
    update: get('update'),
    delete: get('delete'),
    replace: get('replace'),
    same: get('same'),
  };
}

/** "+15 to create, ~3 to update, -1 to delete, +-2 to replace" (the CLI's own signs); "no changes" when nothing changes. */
export function summaryText(counts: DeploymentCounts, tense: 'plan' | 'done' = 'plan'): string {
  const words = tense === 'plan' ? { create: 'to create', update: 'to update', delete: 'to delete', replace: 'to replace' } : { create: 'created', update: 'updated', delete: 'deleted', replace: 'replaced' };
  const parts = [
    counts.create ? `+${counts.create} ${words.create}` : '',
    counts.update ? `~${counts.update} ${words.update}` : '',
    counts.delete ? `-${counts.delete} ${words.delete}` : '',
    counts.replace ? `+-${counts.replace} ${words.replace}` : '',
  ].filter(Boolean);
  const unchanged = counts.same ? `${counts.same} unchanged` : '';
  if (parts.length === 0) return unchanged ? `no changes (${unchanged})` : 'no changes';
  return [...parts, unchanged].filter(Boolean).join(', ');
}

/** Folds one operation's engine events; `onStep` is told each time a resource's step changes. */
export class EngineEventFolder {
  readonly #steps = new Map<string, DeploymentStep>();
  readonly #startedAt = new Map<string, number>();
  readonly #seen = new Set<number>();
  readonly diagnostics: string[] = [];
  counts: DeploymentCounts | undefined;
  cancelled = false;

  constructor(
    private readonly onStep: (step: DeploymentStep) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get steps(): DeploymentStep[] {
    return [...this.#steps.values()];
  }

  /**
   * Folds one event; false when it was seen already. The Automation API tails the event log
   * file by polling, and a final read racing a poll can hand the same line over twice.
   */
  fold(event: EngineEvent): boolean {
    if (typeof event.sequence === 'number') {
      if (this.#seen.has(event.sequence)) return false;
      this.#seen.add(event.sequence);
    }
    this.#apply(event);
    return true;
  }

  #apply(event: EngineEvent): void {
    if (event.resourcePreEvent) {
      const { metadata, planning } = event.resourcePreEvent;
      this.#startedAt.set(metadata.urn, this.now());
      this.#put({
        urn: metadata.urn.slice(0, 2000),
        type: metadata.type.slice(0, 200),
        name: resourceName(metadata.urn).slice(0, 200),
        op: String(metadata.op).slice(0, 40),
        status: planning ? 'planned' : 'running',
        diffs: (metadata.diffs ?? metadata.keys ?? []).slice(0, 100).map((key) => key.slice(0, 200)),
      });
    } else if (event.resOutputsEvent) {
      const { metadata, planning } = event.resOutputsEvent;
      const step = this.#steps.get(metadata.urn);
      if (step && !planning) this.#put({ ...step, status: 'done', durationMs: this.#elapsed(metadata.urn) });
    } else if (event.resOpFailedEvent) {
      const { metadata } = event.resOpFailedEvent;
      const step = this.#steps.get(metadata.urn);
      if (step) this.#put({ ...step, status: 'failed', durationMs: this.#elapsed(metadata.urn) });
    } else if (event.diagnosticEvent) {
      const { severity, message, urn } = event.diagnosticEvent;
      if (severity === 'error' || severity === 'warning') {
        const text = `${severity}: ${message.trim()}`.slice(0, 2000);
        if (this.diagnostics.length < maxDiagnostics) this.diagnostics.push(text);
        const step = urn ? this.#steps.get(urn) : undefined;
        if (step && severity === 'error') this.#put({ ...step, message: text });
      }
    } else if (event.summaryEvent) {
      this.counts = countsOf(event.summaryEvent.resourceChanges);
    } else if (event.cancelEvent) {
      this.cancelled = true;
    }
  }

  #elapsed(urn: string): number | undefined {
    const started = this.#startedAt.get(urn);
    return started === undefined ? undefined : Math.max(0, this.now() - started);
  }

  #put(step: DeploymentStep): void {
    if (!this.#steps.has(step.urn) && this.#steps.size >= maxSteps) return;
    this.#steps.set(step.urn, step);
    this.onStep(step);
  }
}
