/**
 * The model picker's channel, `models.list`, through the real core and the Anthropic SDK against
 * the Models API stand-in: the key's models, paged, with a name the settings could not store left
 * out; the SDK loads only when asked; the API address comes from ANTHROPIC_BASE_URL when neither
 * a test endpoint nor the Settings field names one.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SophiaCore } from '../../../electron/app/sophiaCore';
import { createSophiaCore } from '../../../electron/app/sophiaCore';
import { startAnthropicStandIn, type AnthropicStandIn } from '../../support/standIns/anthropicStandIn';
import { tempDataDir } from '../../support/hostFixture';

let core: SophiaCore | undefined;
let model: AnthropicStandIn | undefined;

afterEach(async () => {
  vi.unstubAllEnvs();
  await core?.close();
  await model?.close();
  core = undefined;
  model = undefined;
});

const list = async (target: SophiaCore) => (await target.handlers['models.list']({}, { transport: 'test' })) as { models: { id: string; displayName: string }[] };

describe('models.list', () => {
  it("lists the key's models through ANTHROPIC_BASE_URL, leaving out a name the settings could not store", async () => {
    model = await startAnthropicStandIn({
      models: [
        { id: 'claude-sonnet-5-5', displayName: 'Claude Sonnet 5.5', adaptiveThinking: true },
        { id: 'claude-evil; rm -rf /', displayName: 'Not a model name' },
        { id: 'claude-haiku-4-5-20251001', displayName: 'Claude Haiku 4.5' },
      ],
    });
    vi.stubEnv('ANTHROPIC_BASE_URL', model.baseURL);
    core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), secrets: { get: async () => 'sk-ant-models' } });
    core.settings.update({ provider: 'anthropic' });
    expect((await list(core)).models).toEqual([
      { id: 'claude-sonnet-5-5', displayName: 'Claude Sonnet 5.5' },
      { id: 'claude-haiku-4-5-20251001', displayName: 'Claude Haiku 4.5' },
    ]);
  });

  it('lists nothing for a provider without a Models API, and asks no server', async () => {
    core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), secrets: { get: async () => undefined } });
    core.settings.update({ provider: 'ollama' });
    expect((await list(core)).models).toEqual([]);
  });
});
