/**
 * The provider the settings select, with its key from the OS keychain. Each provider's SDK
 * loads with the first model call that uses it, not at start.
 */
import type { AppSettings, SecretName } from '../../shared/contract';
import { onDemand } from '../core/onDemand';
import type { ModelProvider } from './modelProvider';

const anthropicProvider = onDemand('@anthropic-ai/sdk', () => import('./anthropicProvider'));
const ollamaProvider = onDemand('ollama', () => import('./ollamaProvider'));

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
      const { createAnthropicProvider } = await anthropicProvider();
      return createAnthropicProvider({
        apiKey: await secrets.get('anthropic-api-key'),
        model: settings.anthropicModel,
        ...(endpoints.anthropicBaseURL ? { baseURL: endpoints.anthropicBaseURL } : {}),
      });
    }
    case 'ollama': {
      // Offline mode: no secret is read and no cloud client is made.
      const { createOllamaProvider } = await ollamaProvider();
      return createOllamaProvider({ host: settings.ollamaHost, model: settings.ollamaModel });
    }
  }
}
