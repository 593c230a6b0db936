import type { StopReport, StoppedItem } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { EventHub } from './eventHub';
import { createLogger } from '../log';

const log = createLogger('stopController');

/**
 * Anything that runs and must end on the emergency stop (a model stream, a container,
 * a deployment) registers a stopper here. `stopAll` runs every stopper at once, locks
 * the agent, and reports what it stopped.
 */
export type Stopper = () => Promise<StoppedItem[]>;

export interface StopperInfo {
  /** What the stopper ends, for the report when it hangs. */
  readonly kind?: StoppedItem['kind'];
  readonly label?: string;
  /**
   * How long this stopper may take before it is reported stuck, asked at each stop; undefined:
   * the controller's. The sandbox fleet bounds each remote engine itself and needs that long
   * plus a margin while a remote engine is configured.
   */
  readonly timeoutMs?: () => number | undefined;
}

export type StopTransition = { readonly type: 'stopped'; readonly report: StopReport } | { readonly type: 'resumed' };

/** A stopper that has not finished by then is reported as stuck, and the stop goes on without it. */
export const defaultStopperTimeoutMs = 2000;

export class StopController {
  readonly #stoppers = new Map<string, { stop: Stopper; info: StopperInfo }>();
  readonly #observers = new Set<(transition: StopTransition) => void>();
  readonly #stopperTimeoutMs: number;
  #locked = false;

  constructor(
    private readonly events: EventHub,
    options: { stopperTimeoutMs?: number } = {},
  ) {
    this.#stopperTimeoutMs = options.stopperTimeoutMs ?? defaultStopperTimeoutMs;
  }

  get locked(): boolean {
    return this.#locked;
  }

  register(name: string, stopper: Stopper, info: StopperInfo = {}): () => void {
    this.#stoppers.set(name, { stop: stopper, info });
    return () => this.#stoppers.delete(name);
  }

  /** Told of every stop (with its report) and every resume: the audit log listens here. */
  observe(observer: (transition: StopTransition) => void): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Throws a typed error when the stop is engaged; call before starting any work. */
  assertRunning(): void {
    if (this.#locked) throw new SophiaError('stopped', 'Sophia is stopped. Press Resume to continue.');
  }

  async stopAll(): Promise<StopReport> {
    // Lock first, so nothing that arrives while the stoppers run can start.
    this.#locked = true;
    const stoppers = [...this.#stoppers.entries()];
    const outcomes = await Promise.allSettled(stoppers.map(([name, { stop, info }]) => this.#runStopper(name, stop, info)));
    // A stopper that failed did not stop its work: the report says so rather than leaving it out.
    const stopped = outcomes.flatMap((outcome, index): StoppedItem[] => {
      if (outcome.status === 'fulfilled') return outcome.value;
      const [name, { info }] = stoppers[index]!;
      return [{ kind: info.kind ?? 'task', id: name.slice(0, 200), label: `${info.label ?? name} (failed to stop)`.slice(0, 200), outcome: 'stuck' }];
    });
    const report: StopReport = { at: Date.now(), stopped };
    log.info('emergency stop', { stopped: stopped.length });
    this.#tell({ type: 'stopped', report });
    this.events.publish({ type: 'stop', report });
    return report;
  }

  resume(): void {
    this.#locked = false;
    this.#tell({ type: 'resumed' });
  }

  /**
   * A stopper that hangs (a container whose process is stuck in the kernel) must not
   * freeze the stop: after the timeout it is reported as stuck and left to finish alone.
   */
  async #runStopper(name: string, stop: Stopper, info: StopperInfo): Promise<StoppedItem[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = info.timeoutMs?.() ?? this.#stopperTimeoutMs;
    const stuck = new Promise<StoppedItem[]>((resolve) => {
      timer = setTimeout(() => {
        log.error('stopper did not finish in time; reported as stuck', { name, timeoutMs });
        resolve([{ kind: info.kind ?? 'task', id: name.slice(0, 200), label: (info.label ?? name).slice(0, 200), outcome: 'stuck' }]);
      }, timeoutMs);
    });
    const run = (async () => {
      try {
        return await stop();
      } catch (error) {
        log.error('stopper failed', { name, error });
        throw error;
      }
    })();
    try {
      return await Promise.race([run, stuck]);
    } finally {
      clearTimeout(timer);
    }
  }

  #tell(transition: StopTransition): void {
    for (const observer of this.#observers) {
      try {
        observer(transition);
      } catch (error) {
        log.error('stop observer failed', { type: transition.type, error });
      }
    }
  }
}
