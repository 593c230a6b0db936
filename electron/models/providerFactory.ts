/**
 * The provider the settings select, with its key from the OS keychain. Each provider's SDK
 * loads with the first model call that uses it, not at start.
 */
import type { AppSettings } from '../../shared/contract';
import { onDemand } from '../core/onDemand';
import type { SecretReader } from '../keychain/secretReader';
import { cortexBaseUrl, isLoopbackUrl } from './endpoints';
import { ModelError, type ModelProvider } from './modelProvider';

const anthropicProvider = onDemand('@anthropic-ai/sdk', () => import('./anthropicProvider'));
const ollamaProvider = onDemand('ollama', () => import('./ollamaProvider'));
const openAiProvider = onDemand('openai', () => import('./openaiProvider'));

export interface ProviderEndpoints {
  /** Tests point the Anthropic SDK at a loopback stand-in; unset, it talks to Anthropic. */
  readonly anthropicBaseURL?: string;
  /** Tests point the Cortex preset at a loopback stand-in; unset, the account's own address. */
  readonly cortexBaseURL?: string;
}

/** The model the settings select, by name. */
export function selectedModel(settings: AppSettings): string {
  switch (settings.provider) {
    case 'anthropic':
      return settings.anthropicModel;
    case 'openai':
      return settings.openaiModel;
    case 'cortex':
      return settings.cortexModel;
    case 'ollama':
      return settings.ollamaModel;
  }
}

/**
 * Offline mode: the selected model runs on this machine (Ollama, or an
 * OpenAI-compatible server on loopback), so nothing else may leave it
 * either (`offlineGuard.ts`). The one place the mode is derived from the settings.
 */
export function isOfflineMode(settings: Pick<AppSettings, 'provider' | 'openaiBaseUrl'>): boolean {
  switch (settings.provider) {
    case 'anthropic':
    case 'cortex':
      return false;
    case 'ollama':
      return true;
    case 'openai':
      // vLLM, LM Studio, llama.cpp's server on this machine: offline; any other address is a cloud.
      return isLoopbackUrl(settings.openaiBaseUrl);
  }
}

/** The Anthropic API's address: the Settings field, else (left to the SDK) ANTHROPIC_BASE_URL, else Anthropic. */
function anthropicBaseUrl(settings: AppSettings, endpoints: ProviderEndpoints): string | undefined {
  return endpoints.anthropicBaseURL || settings.anthropicBaseUrl || undefined;
}

/** The models the selected provider's key can use (Anthropic's Models API); none listed for the others. */
export async function listModels(settings: AppSettings, secrets: SecretReader, endpoints: ProviderEndpoints = {}): Promise<readonly { id: string; displayName: string }[]> {
  if (settings.provider !== 'anthropic') return [];
  const { listAnthropicModels } = await anthropicProvider();
  const baseURL = anthropicBaseUrl(settings, endpoints);
  return listAnthropicModels({ apiKey: await secrets.get('anthropic-api-key'), ...(baseURL ? { baseURL } : {}) });
}

export async function createProvider(settings: AppSettings, secrets: SecretReader, endpoints: ProviderEndpoints = {}): Promise<ModelProvider> {
  switch (settings.provider) {
    case 'anthropic': {
      const { createAnthropicProvider } = await anthropicProvider();
      const baseURL = anthropicBaseUrl(settings, endpoints);
      return createAnthropicProvider({
        apiKey: await secrets.get('anthropic-api-key'),
        model: settings.anthropicModel,
        ...(baseURL ? { baseURL } : {}),
      });
    }
    case 'openai': {
      const { createOpenAiProvider } = await openAiProvider();
      return createOpenAiProvider({
        id: 'openai',
        // A server on this machine is offline mode: its key (if any) is still read, but nothing leaves the machine.
        apiKey: await secrets.get('openai-api-key'),
        baseURL: settings.openaiBaseUrl,
        model: settings.openaiModel,
      });
    }
    case 'cortex': {
      if (!settings.cortexAccount && !endpoints.cortexBaseURL) {
        throw new ModelError('no-key', 'Snowflake Cortex needs the account identifier (myorg-myaccount). Set it in Settings → Model.');
      }
      const { createOpenAiProvider } = await openAiProvider();
      return createOpenAiProvider({
        id: 'cortex',
        apiKey: await secrets.get('snowflake-cortex-token'),
        baseURL: endpoints.cortexBaseURL ?? cortexBaseUrl(settings.cortexAccount),
        model: settings.cortexModel,
      });
    }
    case 'ollama': {
      // Offline mode: no secret is read and no cloud client is made.
      const { createOllamaProvider } = await ollamaProvider();
      return createOllamaProvider({ host: settings.ollamaHost, model: settings.ollamaModel });
    }
  }
}
