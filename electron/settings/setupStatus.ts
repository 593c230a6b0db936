/**
 * The first-run checklist's judgement of the model and key, the workspace and the keychain,
 * each done or saying what to do. (The sandbox item is the sandbox's own status.)
 */
import type { AppSettings, SetupItem, SetupStatus } from '../../shared/contract';
import type { KeychainStatus } from '../keychain/keychain';
import { isLoopbackUrl } from '../models/endpoints';
import { listOllamaModels } from '../models/ollamaModels';
import type { SecretReader } from '../keychain/secretReader';
import { checkedWorkspaceFolder } from './workspaceFolder';

export interface SetupInputs {
  readonly settings: AppSettings;
  readonly secrets: SecretReader;
  readonly keychain: KeychainStatus;
  /** Nothing saved and no conversation yet. */
  readonly firstRun: boolean;
}

const credentials = 'under Credentials & role';

async function modelItem(settings: AppSettings, secrets: SecretReader): Promise<SetupItem> {
  switch (settings.provider) {
    case 'anthropic':
      return (await secrets.get('anthropic-api-key'))
        ? { ok: true, message: `Anthropic, ${settings.anthropicModel}; the key is in the keychain.` }
        : { ok: false, message: `No Anthropic API key is stored. Add "anthropic-api-key" ${credentials}, or choose another provider in Settings → Model.` };
    case 'openai':
      if (isLoopbackUrl(settings.openaiBaseUrl)) return { ok: true, message: `${settings.openaiModel} on this machine (${settings.openaiBaseUrl}); no key needed.` };
      return (await secrets.get('openai-api-key'))
        ? { ok: true, message: `${settings.openaiModel} at ${settings.openaiBaseUrl}; the key is in the keychain.` }
        : { ok: false, message: `No key is stored for ${settings.openaiBaseUrl}. Add "openai-api-key" ${credentials}.` };
    case 'cortex':
      if (!settings.cortexAccount) return { ok: false, message: 'No Snowflake account is set for Cortex. Set it in Settings → Model.' };
      return (await secrets.get('snowflake-cortex-token'))
        ? { ok: true, message: `Snowflake Cortex (${settings.cortexAccount}), ${settings.cortexModel}.` }
        : { ok: false, message: `No Snowflake programmatic access token is stored. Add "snowflake-cortex-token" ${credentials}.` };
    case 'ollama': {
      try {
        const models = await listOllamaModels(settings.ollamaHost, 3000);
        if (models.some((model) => model.name === settings.ollamaModel)) return { ok: true, message: `Ollama at ${settings.ollamaHost}, ${settings.ollamaModel} (offline).` };
        return {
          ok: false,
          message: `Ollama at ${settings.ollamaHost} has no model ${settings.ollamaModel}. Pick one it has in Settings → Model, or run \`ollama pull ${settings.ollamaModel}\`.`,
        };
      } catch (error) {
        return { ok: false, message: error instanceof Error ? error.message : String(error) };
      }
    }
  }
}

function workspaceItem(settings: AppSettings): SetupItem {
  if (!settings.workspace) return { ok: false, message: 'No workspace folder is open. Pick the folder of the project Sophia should work on.' };
  try {
    checkedWorkspaceFolder(settings.workspace);
    return { ok: true, message: settings.workspace };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

export async function setupStatus(inputs: SetupInputs): Promise<SetupStatus> {
  return {
    firstRun: inputs.firstRun,
    model: await modelItem(inputs.settings, inputs.secrets),
    workspace: workspaceItem(inputs.settings),
    keychain: inputs.keychain.available
      ? { ok: true, message: inputs.keychain.message }
      : { ok: false, message: `${inputs.keychain.message} Without it no key can be stored and the audit log is not signed.` },
  };
}
