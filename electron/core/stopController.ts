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

export class StopController {
  readonly #stoppers = new Map<string, Stopper>();
  #locked = false;

  constructor(private readonly events: EventHub) {}

  get locked(): boolean {
    return this.#locked;
  }

  register(name: string, stopper: Stopper): () => void {
    this.#stoppers.set(name, stopper);
    return () => this.#stoppers.delete(name);
  }

  /** Throws a typed error when the stop is engaged; call before starting any work. */
  assertRunning(): void {
    if (this.#locked) throw new SophiaError('stopped', 'Sophia is stopped. Press Resume to continue.');
  }

  async stopAll(): Promise<StopReport> {
    // Lock first, so nothing that arrives while the stoppers run can start.
    this.#locked = true;
    const outcomes = await Promise.allSettled([...this.#stoppers.entries()].map(async ([name, stop]) => {
      try {
        return await stop();
      } catch (error) {
        log.error('stopper failed', { name, error });
        throw error;
      }
    }));
    const stopped = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value : []));
    const report: StopReport = { at: Date.now(), stopped };
    log.info('emergency stop', { stopped: stopped.length });
    this.events.publish({ type: 'stop', report });
    return report;
  }

  resume(): void {
    this.#locked = false;
  }
}
