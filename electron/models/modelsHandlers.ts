/** The request channel of the model picker: the models the selected provider offers. */
import { appSettings, type AppSettings } from '../../shared/contract';
import type { Handlers } from '../../shared/handlers';
import type { SecretReader } from '../keychain/secretReader';
import { listModels, type ProviderEndpoints } from './providerFactory';

export function modelsHandlers(options: {
  readonly settings: () => AppSettings;
  readonly secrets: SecretReader;
  readonly endpoints?: ProviderEndpoints;
}): Pick<Handlers, 'models.list'> {
  return {
    'models.list': async () => {
      const models = await listModels(options.settings(), options.secrets, options.endpoints);
      // A name the settings could not store is not offered.
      return { models: models.filter((model) => appSettings.shape.anthropicModel.safeParse(model.id).success).map((model) => ({ id: model.id, displayName: model.displayName.slice(0, 200) })) };
    },
  };
}
