/** The request channels of the settings: read them, and save a change (then the status bar is told). */
import path from 'node:path';
import { SophiaError } from '../../shared/errors';
import type { Handlers } from '../../shared/handlers';
import type { SettingsStore } from './settingsStore';

export function settingsHandlers(settings: SettingsStore, options: { readonly changed: () => void }): Pick<Handlers, 'settings.get' | 'settings.set'> {
  return {
    'settings.get': () => settings.get(),
    'settings.set': (input) => {
      if (input.workspace && !path.isAbsolute(input.workspace)) {
        throw new SophiaError('bad_request', 'The workspace must be an absolute folder path.');
      }
      const next = settings.update(input);
      options.changed();
      return next;
    },
  };
}
