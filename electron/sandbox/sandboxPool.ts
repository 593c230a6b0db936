/**
 * A warm pool: containers created and started ahead of time, so a task gets one without
 * waiting for container creation. Taking one starts a refill in the background. Warm plus
 * being-created never exceeds `size`. While paused (the emergency stop) nothing is created,
 * and a creation that finishes during the pause is discarded.
 */
import { createLogger } from '../log';

const log = createLogger('sandboxPool');

export interface SandboxPoolOptions<T> {
  readonly size: number;
  readonly create: () => Promise<T>;
  readonly discard: (item: T) => Promise<void>;
  /** A warm item that died while waiting (for example Docker restarted) is skipped. */
  readonly isAlive: (item: T) => boolean;
  /** Called whenever the warm count changes. */
  readonly onChange?: () => void;
  /**
   * After a handout, wait this long before creating its replacement, so the task's first
   * command does not share the engine with a container start. Default 300 ms.
   */
  readonly refillDelayMs?: number;
}

const maxBackoffMs = 30_000;

export class SandboxPool<T> {
  readonly #options: SandboxPoolOptions<T>;
  readonly #warm: T[] = [];
  #creating = 0;
  #paused = true;
  #closed = false;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #refillTimer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(options: SandboxPoolOptions<T>) {
    this.#options = { ...options, size: Math.max(0, Math.floor(options.size)) };
  }

  get size(): number {
    return this.#options.size;
  }

  get warm(): number {
    return this.#warm.length;
  }

  get creating(): number {
    return this.#creating;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Starts (or restarts after a pause) filling the pool. */
  resume(): void {
    if (this.#closed) return;
    this.#paused = false;
    this.#fill();
  }

  pause(): void {
    this.#paused = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearTimeout(this.#refillTimer);
    this.#refillTimer = undefined;
  }

  /** A warm item, or undefined when none is ready (the caller creates one itself). */
  take(): T | undefined {
    let item: T | undefined;
    while ((item = this.#warm.shift()) !== undefined) {
      if (this.#options.isAlive(item)) break;
      this.#discard(item);
    }
    this.#changed();
    if (item === undefined) {
      this.#fill();
    } else if (this.#refillTimer === undefined && !this.#paused && !this.#closed) {
      this.#refillTimer = setTimeout(() => {
        this.#refillTimer = undefined;
        this.#fill();
      }, this.#options.refillDelayMs ?? 300);
      this.#refillTimer.unref();
    }
    return item;
  }

  /** Empties the pool, handing the warm items to the caller (who removes them). */
  drain(): T[] {
    const items = this.#warm.splice(0);
    this.#changed();
    return items;
  }

  /** Resolves when nothing is being created and the pool is full, or paused. Bounded by `timeoutMs`. */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#isSettled()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.pause();
    await Promise.allSettled(this.drain().map((item) => this.#options.discard(item)));
  }

  #isSettled(): boolean {
    return this.#creating === 0 && this.#refillTimer === undefined && (this.#paused || this.#closed || this.#warm.length >= this.size);
  }

  #changed(): void {
    this.#options.onChange?.();
    if (this.#isSettled()) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #discard(item: T): void {
    void this.#options.discard(item).catch((error: unknown) => log.warn('could not discard a warm sandbox', { error }));
  }

  #fill(): void {
    if (this.#paused || this.#closed || this.#retryTimer !== undefined || this.#refillTimer !== undefined) return;
    // One creation at a time: on a small machine, parallel creates slow each other and the tasks.
    if (this.#creating > 0 || this.#warm.length + this.#creating >= this.size) return;
    this.#creating++;
    void this.#options
      .create()
      .then(
        (item) => {
          this.#failures = 0;
          if (this.#paused || this.#closed || this.#warm.length >= this.size) this.#discard(item);
          else this.#warm.push(item);
        },
        (error: unknown) => {
          this.#failures++;
          const delay = Math.min(maxBackoffMs, 500 * 2 ** Math.min(this.#failures, 10));
          log.warn('could not create a warm sandbox; retrying later', { error, retryInMs: delay });
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.#fill();
          }, delay);
          this.#retryTimer.unref();
        },
      )
      .finally(() => {
        this.#creating--;
        this.#changed();
        this.#fill();
      });
  }
}
