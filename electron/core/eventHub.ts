import type { SophiaEvent } from '../../shared/contract';
import { createLogger } from '../log';

const log = createLogger('eventHub');

export type EventListener = (event: SophiaEvent) => void;

/** Fan-out of main-process events to every connected renderer (IPC or WebSocket). */
export class EventHub {
  readonly #listeners = new Set<EventListener>();

  /** `redact` runs on every event before any listener sees it: known secrets never leave. */
  constructor(private readonly redact: (event: SophiaEvent) => SophiaEvent = (event) => event) {}

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(raw: SophiaEvent): void {
    let event: SophiaEvent;
    try {
      event = this.redact(raw);
    } catch (error) {
      // Fail closed: an event that cannot be redacted is not sent.
      log.error('event redaction failed; event dropped', { type: raw.type, error });
      return;
    }
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
