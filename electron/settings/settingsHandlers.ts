/** The request channels of the settings: read them, and save a change (then the status bar is told). */
import type { Handlers } from '../../shared/handlers';
import type { SettingsStore } from './settingsStore';
import { checkedWorkspaceFolder } from './workspaceFolder';

export function settingsHandlers(settings: SettingsStore, options: { readonly changed: () => void }): Pick<Handlers, 'settings.get' | 'settings.set'> {
  return {
    'settings.get': () => settings.get(),
    'settings.set': (input) => {
      // `~` expanded; a missing folder, a file or a folder Sophia may not read is refused, naming the field.
      const next = settings.update(input.workspace === undefined ? input : { ...input, workspace: checkedWorkspaceFolder(input.workspace) });
      options.changed();
      return next;
    },
  };
}
