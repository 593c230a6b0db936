/**
 * The emergency stop as a global shortcut: it works while another application has focus,
 * which is when a runaway agent is most likely to be noticed. Three modifiers, so it steals
 * no shortcut another application relies on.
 */
import { createLogger } from '../log';

const log = createLogger('stopShortcut');

export const stopAccelerator = 'CommandOrControl+Alt+Shift+S';

/** The part of Electron's `globalShortcut` this needs (tests hand in a recorder). */
export interface GlobalShortcuts {
  register(accelerator: string, callback: () => void): boolean;
  unregister(accelerator: string): void;
}

export function registerStopShortcut(shortcuts: GlobalShortcuts, stopAll: () => Promise<unknown>): () => void {
  const registered = shortcuts.register(stopAccelerator, () => {
    log.info('emergency stop from the global shortcut');
    stopAll().catch((error: unknown) => log.error('emergency stop from the shortcut failed', { error }));
  });
  if (!registered) {
    // Another application holds it; the Stop button still works.
    log.warn('the global stop shortcut could not be registered', { accelerator: stopAccelerator });
    return () => undefined;
  }
  return () => shortcuts.unregister(stopAccelerator);
}
