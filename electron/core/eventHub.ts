import type { SophiaEvent } from '../../shared/contract';
import { createLogger } from '../log';

const log = createLogger('eventHub');

export type EventListener = (event: SophiaEvent) => void;

/** Fan-out of main-process events to every connected renderer (IPC or WebSocket). */
export class EventHub {
  readonly #listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(event: SophiaEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // One broken transport must not keep the event from the others.
        log.error('event listener failed', { type: event.type, error });
      }
    }
  }
}
