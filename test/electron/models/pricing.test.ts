import { describe, expect, it } from 'vitest';
import { callUsage, costUsd, modelPrice, pricesSource } from '../../../electron/models/pricing';

describe('the price table', () => {
  it('prices Claude Sonnet 5.5 at $2 / $10 per million tokens, with cache reads at $0.10 and 5-minute writes at $2.50', () => {
    expect(modelPrice('anthropic', 'claude-sonnet-5-5')).toMatchObject({ input: 2, output: 10, cacheRead: 0.1, cacheWrite: 2.5 });
    expect(costUsd('anthropic', 'claude-sonnet-5-5', { inputTokens: 1_000_000, outputTokens: 1_000_000, cacheReadTokens: 1_000_000, cacheWriteTokens: 1_000_000 })).toBeCloseTo(2 + 10 + 0.1 + 2.5, 10);
    expect(pricesSource.url).toMatch(/^https:\/\/platform\.claude\.com\//);
  });

  it('matches the longest model id, so a dated version or a point release gets its own price', () => {
    expect(modelPrice('anthropic', 'claude-sonnet-5')?.cacheRead).toBe(0.2);
    expect(modelPrice('anthropic', 'claude-sonnet-5-5')?.cacheRead).toBe(0.1);
    expect(modelPrice('anthropic', 'claude-haiku-4-5-20251001')).toMatchObject({ input: 1, output: 5 });
    expect(modelPrice('anthropic', 'claude-opus-4-1-20250805')).toMatchObject({ input: 15, output: 75 });
    expect(modelPrice('anthropic', 'claude-opus-4-5')).toMatchObject({ input: 5, output: 25 });
  });

  it('charges Haiku 5.5 its dearer band when the prompt, cache included, passes 100,000 tokens', () => {
    expect(costUsd('anthropic', 'claude-haiku-5-5', { inputTokens: 50_000, outputTokens: 0 })).toBeCloseTo(0.005, 10);
    expect(costUsd('anthropic', 'claude-haiku-5-5', { inputTokens: 50_000, outputTokens: 0, cacheReadTokens: 60_000 })).toBeCloseTo((50_000 * 0.5 + 60_000 * 0.05) / 1e6, 10);
  });

  it('gives a model it does not know no price: the call is counted as unpriced, never as $0', () => {
    expect(costUsd('anthropic', 'claude-sonnet-9', { inputTokens: 10, outputTokens: 10 })).toBeUndefined();
    expect(costUsd('anthropic', 'sonnet', { inputTokens: 10, outputTokens: 10 })).toBeUndefined();
    expect(callUsage('anthropic', 'claude-sonnet-9', { inputTokens: 10, outputTokens: 10 })).toMatchObject({ costUsd: 0, unpricedCalls: 1 });
    expect(callUsage('anthropic', 'claude-sonnet-5-5', { inputTokens: 10, outputTokens: 10 })).toMatchObject({ unpricedCalls: 0 });
    expect(callUsage('ollama', 'qwen3:8b', { inputTokens: 10, outputTokens: 10 })).toMatchObject({ costUsd: 0, unpricedCalls: 0 });
  });

  it('does not price a Claude model served by Cortex (credits) or any OpenAI-compatible model by Anthropic\'s table', () => {
    expect(modelPrice('cortex', 'claude-sonnet-4-5')).toBeUndefined();
    expect(callUsage('cortex', 'claude-sonnet-4-5', { inputTokens: 10, outputTokens: 10 })).toMatchObject({ costUsd: 0, unpricedCalls: 1 });
    expect(modelPrice('openai', 'claude-sonnet-5-5')).toBeUndefined();
  });
});
