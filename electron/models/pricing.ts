/**
 * The one price table for model calls. A model that is not in it has no price: its calls
 * are counted as unpriced and the chat says "price unknown", never $0.
 *
 * Source: Anthropic's pricing page (https://platform.claude.com/docs/en/about-claude/pricing)
 * and each model's page (platform.claude.com/docs/en/models/<model>/overview), read on
 * 2026-12-02. USD per million tokens. Cache writes are the 5-minute writes (the only kind
 * Sophia asks for); cache reads include Sonnet 5.5's cut to $0.10 of 2026-10-07.
 */
import type { Usage } from '../../shared/contract';
import type { ProviderId } from './modelProvider';

export const pricesSource = { url: 'https://platform.claude.com/docs/en/about-claude/pricing', checked: '2026-12-02' } as const;

export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cacheWrite: number;
  readonly cacheRead: number;
  /** A dearer band for requests whose prompt (input + cache reads + cache writes) is longer. */
  readonly longPrompt?: { readonly above: number; readonly price: Omit<ModelPrice, 'longPrompt'> };
}

const price = (input: number, output: number, cacheWrite: number, cacheRead: number): ModelPrice => ({ input, output, cacheWrite, cacheRead });

/** Model id (or the id its dated versions start with) -> price. The longest matching id wins. */
const anthropicPrices: ReadonlyArray<readonly [string, ModelPrice]> = [
  ['claude-fable-5-1', price(10, 50, 12.5, 0.25)],
  ['claude-mythos-5-1', price(10, 50, 12.5, 0.25)],
  ['claude-fable-5', price(10, 50, 12.5, 1)],
  ['claude-mythos-5', price(10, 50, 12.5, 1)],
  ['claude-opus-5-5', price(4, 20, 5, 0.2)],
  ['claude-opus-5', price(5, 25, 6.25, 0.5)],
  ['claude-opus-4-8', price(5, 25, 6.25, 0.5)],
  ['claude-opus-4-7', price(5, 25, 6.25, 0.5)],
  ['claude-opus-4-6', price(5, 25, 6.25, 0.5)],
  ['claude-opus-4-5', price(5, 25, 6.25, 0.5)],
  ['claude-opus-4-1', price(15, 75, 18.75, 1.5)],
  ['claude-opus-4', price(15, 75, 18.75, 1.5)],
  ['claude-sonnet-5-5', price(2, 10, 2.5, 0.1)],
  ['claude-sonnet-5', price(2, 10, 2.5, 0.2)],
  ['claude-sonnet-4-6', price(3, 15, 3.75, 0.3)],
  ['claude-sonnet-4-5', price(3, 15, 3.75, 0.3)],
  ['claude-sonnet-4', price(3, 15, 3.75, 0.3)],
  ['claude-haiku-5-5', { ...price(0.1, 0.5, 0.125, 0.01), longPrompt: { above: 100_000, price: price(0.5, 2.5, 0.625, 0.05) } }],
  ['claude-haiku-4-5', price(1, 5, 1.25, 0.1)],
];

/** The price of a model, or undefined when the table does not know it. Local models cost nothing. */
export function modelPrice(provider: ProviderId, model: string): ModelPrice | undefined {
  if (provider === 'ollama') return price(0, 0, 0, 0);
  // Cortex bills Snowflake credits and OpenAI-compatible servers their own rates: this table
  // holds Anthropic's per-token prices only, so a Claude model served by Cortex is not priced as one.
  if (provider !== 'anthropic') return undefined;
  let best: readonly [string, ModelPrice] | undefined;
  for (const entry of anthropicPrices) {
    const [id] = entry;
    if ((model === id || model.startsWith(`${id}-`)) && (!best || id.length > best[0].length)) best = entry;
  }
  return best?.[1];
}

export interface TokenCounts {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens?: number;
  readonly cacheWriteTokens?: number;
}

/** USD for one call, or undefined when the model has no price. */
export function costUsd(provider: ProviderId, model: string, tokens: TokenCounts): number | undefined {
  const found = modelPrice(provider, model);
  if (!found) return undefined;
  const cacheRead = tokens.cacheReadTokens ?? 0;
  const cacheWrite = tokens.cacheWriteTokens ?? 0;
  const prompt = tokens.inputTokens + cacheRead + cacheWrite;
  const rate = found.longPrompt && prompt > found.longPrompt.above ? found.longPrompt.price : found;
  return (tokens.inputTokens * rate.input + tokens.outputTokens * rate.output + cacheWrite * rate.cacheWrite + cacheRead * rate.cacheRead) / 1_000_000;
}

/** A call's usage as the conversation adds it up: priced, or counted as unpriced. */
export function callUsage(provider: ProviderId, model: string, tokens: TokenCounts): Usage {
  const cost = costUsd(provider, model, tokens);
  return {
    inputTokens: tokens.inputTokens,
    outputTokens: tokens.outputTokens,
    cacheReadTokens: tokens.cacheReadTokens ?? 0,
    cacheWriteTokens: tokens.cacheWriteTokens ?? 0,
    costUsd: cost ?? 0,
    unpricedCalls: cost === undefined ? 1 : 0,
  };
}
