/**
 * The request channels of the first-run checklist, the folder picker and the Ollama model
 * list. They only read: nothing here changes a setting (Save does, through settings.set).
 */
import { appSettings } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { Handlers } from '../../shared/handlers';
import { listFolders } from '../core/folderListing';
import type { KeychainStatus } from '../keychain/keychain';
import type { SecretReader } from '../keychain/secretReader';
import { listOllamaModels } from '../models/ollamaModels';
import type { SettingsStore } from './settingsStore';
import { setupStatus } from './setupStatus';

export interface SetupHandlerOptions {
  readonly settings: SettingsStore;
  readonly secrets: SecretReader;
  readonly keychain: () => KeychainStatus;
  /** True while there is no conversation yet. */
  readonly noConversations: () => boolean;
  /** The desktop app's folder dialog; absent in the browser host. */
  readonly pickFolder?: (defaultPath: string | undefined) => Promise<string | undefined>;
}

export function setupHandlers(options: SetupHandlerOptions): Pick<Handlers, 'setup.status' | 'host.listFolders' | 'host.pickFolder' | 'ollama.models'> {
  const { settings } = options;
  return {
    'setup.status': () =>
      setupStatus({
        settings: settings.get(),
        secrets: options.secrets,
        keychain: options.keychain(),
        firstRun: settings.neverSaved() && options.noConversations(),
      }),
    'host.listFolders': (input) => listFolders(input.path),
    'host.pickFolder': async (input) => {
      if (!options.pickFolder) throw new SophiaError('unavailable', 'The folder dialog is in the desktop app; in the browser, pick from the listed folders.');
      return { path: (await options.pickFolder(input.defaultPath)) ?? null };
    },
    'ollama.models': async (input) => {
      const host = input.host ?? settings.get().ollamaHost;
      const models = await listOllamaModels(host);
      // A name the settings could not store is not offered.
      return { host, models: models.filter((model) => appSettings.shape.ollamaModel.safeParse(model.name).success).slice(0, 500) };
    },
  };
}
