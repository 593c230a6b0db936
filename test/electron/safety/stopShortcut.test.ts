import { describe, expect, it } from 'vitest';
import { registerStopShortcut, stopAccelerator, type GlobalShortcuts } from '../../../electron/safety/stopShortcut';

class RecordingShortcuts implements GlobalShortcuts {
  readonly callbacks = new Map<string, () => void>();
  constructor(private readonly available = true) {}
  register(accelerator: string, callback: () => void): boolean {
    if (!this.available) return false;
    this.callbacks.set(accelerator, callback);
    return true;
  }
  unregister(accelerator: string): void {
    this.callbacks.delete(accelerator);
  }
}

describe('the global stop shortcut', () => {
  it('stops everything when pressed, and is released on quit', async () => {
    const shortcuts = new RecordingShortcuts();
    let stops = 0;
    const release = registerStopShortcut(shortcuts, async () => {
      stops += 1;
    });
    expect(stopAccelerator.split('+')).toHaveLength(4);
    shortcuts.callbacks.get(stopAccelerator)?.();
    await Promise.resolve();
    expect(stops).toBe(1);
    release();
    expect(shortcuts.callbacks.size).toBe(0);
  });

  it('does not fail the app when another application holds the shortcut', () => {
    expect(() => registerStopShortcut(new RecordingShortcuts(false), async () => undefined)()).not.toThrow();
  });
});
