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

/**
 * Offline mode: the selected model runs on this machine, so nothing else may leave it
 * either (`safety/offlineGuard.ts`). The one place the mode is derived from the settings.
 */
export function isOfflineMode(settings: Pick<AppSettings, 'provider'>): boolean {
  switch (settings.provider) {
    case 'anthropic':
      return false;
    case 'ollama':
      return true;
  }
}

export async function createProvider(settings: AppSettings, secrets: SecretReader, endpoints: ProviderEndpoints = {}): Promise<ModelProvider> {
  switch (settings.provider) {
    case 'anthropic':
      return createAnthropicProvider({
        apiKey: await secrets.get('anthropic-api-key'),
        model: settings.anthropicModel,
        ...(endpoints.anthropicBaseURL ? { baseURL: endpoints.anthropicBaseURL } : {}),
      });
    case 'ollama':
      // Offline mode: no secret is read and no cloud client is made.
      return createOllamaProvider({ host: settings.ollamaHost, model: settings.ollamaModel });
  }
}
