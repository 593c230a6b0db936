/** The provider the settings select, with its key from the OS keychain. */
import type { AppSettings, SecretName } from '../../shared/contract';
import { createAnthropicProvider } from './anthropicProvider';
import type { ModelProvider } from './modelProvider';
import { createOllamaProvider } from './ollamaProvider';

export interface SecretReader {
  get(name: SecretName): Promise<string | undefined>;
}

export interface ProviderEndpoints {
  /** Tests point the Anthropic SDK at a loopback stand-in; unset, it talks to Anthropic. */
  readonly anthropicBaseURL?: string;
}

export async function createProvider(settings: AppSettings, secrets: SecretReader, endpoints: ProviderEndpoints = {}): Promise<ModelProvider> {
  switch (settings.provider) {
    case 'anthropic': {
      // The Settings field, else (left to the SDK) ANTHROPIC_BASE_URL, else Anthropic.
      const baseURL = endpoints.anthropicBaseURL || settings.anthropicBaseUrl;
      return createAnthropicProvider({
        apiKey: await secrets.get('anthropic-api-key'),
        model: settings.anthropicModel,
        ...(baseURL ? { baseURL } : {}),
      });
    }
    case 'ollama':
      // Offline mode: no secret is read and no cloud client is made.
      return createOllamaProvider({ host: settings.ollamaHost, model: settings.ollamaModel });
  }
}
