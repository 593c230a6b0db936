/**
 * Outside-system clients (snowflake-sdk, the Pulumi Automation API, DuckDB, Octokit, the MCP
 * SDK, model SDKs, dockerode, tree-sitter grammars) are imported the first time a tool or
 * channel needs one, not at start: most sessions never touch most of them, and together they
 * cost seconds and hundreds of megabytes. Each service wraps its `await import()` in
 * `onDemand`, behind its own interface, so callers do not know whether it has loaded yet.
 *
 * A load that takes longer than `slowLoadMs` is announced to whoever listens (the core turns
 * it into the status the renderer shows), and announced again when it is done.
 */
import { createLogger } from '../log';

const log = createLogger('onDemand');

/** A first load slower than this is shown to the person. */
export const slowLoadMs = 300;

type Listener = (loading: readonly string[]) => void;

const listeners = new Set<Listener>();
/** Labels of loads under way that have been slow; what the status bar says is loading. */
const slow = new Set<string>();
/** Every label whose load has started, in order; for tests and the startup benchmark. */
const started: string[] = [];

/** Called with the labels of slow loads under way, each time that list changes. */
export function onSlowLoads(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Slow loads under way now. */
export function slowLoads(): readonly string[] {
  return [...slow];
}

/** Whether a load with this label has ever been started in this process. */
export function loadStarted(label: string): boolean {
  return started.includes(label);
}

function announce(): void {
  const now = [...slow];
  for (const listener of listeners) {
    try {
      listener(now);
    } catch (error) {
      log.warn('a load listener failed', { error });
    }
  }
}

/**
 * A loader that imports once, on its first call, and hands every caller the same module. A
 * failed import is not kept: the next call tries again (and reports its own error).
 */
export function onDemand<T>(label: string, load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= track(label, load).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function track<T>(label: string, load: () => Promise<T>): Promise<T> {
  started.push(label);
  const begun = performance.now();
  const timer = setTimeout(() => {
    slow.add(label);
    announce();
  }, slowLoadMs);
  timer.unref();
  try {
    const loaded = await load();
    log.info('loaded on first use', { what: label, ms: Math.round(performance.now() - begun) });
    return loaded;
  } catch (error) {
    log.error('could not load', { what: label, error });
    throw error;
  } finally {
    clearTimeout(timer);
    if (slow.delete(label)) announce();
  }
}
