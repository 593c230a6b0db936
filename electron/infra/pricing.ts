/**
 * The cost estimate of a plan, from a pricing table the user keeps in the workspace
 * (`.sophia/pricing.yaml`). A resource type is priced per month, either flat or by the
 * value of one property:
 *
 *   currency: USD
 *   monthly:
 *     sophia:mcp:Server: 12.5
 *     aws:ec2/instance:Instance:
 *       by: instanceType
 *       prices: { t3.micro: 7.59, t3.large: 60.74 }
 *
 * Only what the table prices is counted. A changed resource it does not price is named as
 * unpriced, and with nothing priced there is no number at all: never a made-up one.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import type { CostEstimate } from '../../shared/contract';
import { requireOnFirstUse } from '../core/lazyRequire';
import { createLogger } from '../log';

const log = createLogger('pricing');
// Required with the first pricing table read, not at start.
const yaml = requireOnFirstUse<typeof Yaml>('yaml');

export const pricingFile = '.sophia/pricing.yaml';
const maxPricingBytes = 256 * 1024;

const price = z.number().finite().nonnegative();
const typePrice = z.union([price, z.object({ by: z.string().min(1).max(200), prices: z.record(z.string().max(200), price) }).strict()]);
export const pricingTable = z
  .object({
    currency: z.string().trim().min(1).max(10).default('USD'),
    monthly: z.record(z.string().min(1).max(200), typePrice).default({}),
  })
  .strict();
export type PricingTable = z.infer<typeof pricingTable>;

/** The workspace's table; undefined when there is none, an error when it is there but unreadable. */
export async function loadPricing(workspace: string): Promise<{ table?: PricingTable; error?: string }> {
  if (!workspace) return {};
  let text: string;
  try {
    const file = path.join(workspace, pricingFile);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    log.warn('pricing table unreadable', { error });
    return { error: `${pricingFile} could not be read.` };
  }
  if (text.length > maxPricingBytes) return { error: `${pricingFile} is larger than ${maxPricingBytes} bytes.` };
  try {
    const parsed = pricingTable.safeParse(yaml().parse(text) ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { error: `${pricingFile}: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}` };
    }
    return { table: parsed.data };
  } catch (error) {
    return { error: `${pricingFile} is not valid YAML (${error instanceof Error ? error.message.split('\n')[0] : 'parse error'}).` };
  }
}

export interface PricedChange {
  readonly type: string;
  readonly op: string;
  /** The resource's inputs before and after, for prices by property. */
  readonly oldInputs?: Record<string, unknown>;
  readonly newInputs?: Record<string, unknown>;
}

/** Pulumi's own bookkeeping resources cost nothing and are not "unpriced". */
const free = (type: string): boolean => type === 'pulumi:pulumi:Stack' || type.startsWith('pulumi:providers:');

function monthly(table: PricingTable, type: string, inputs: Record<string, unknown> | undefined): number | undefined {
  const entry = table.monthly[type];
  if (entry === undefined) return undefined;
  if (typeof entry === 'number') return entry;
  const key = inputs?.[entry.by];
  return typeof key === 'string' || typeof key === 'number' ? entry.prices[String(key)] : undefined;
}

export function estimateCost(changes: readonly PricedChange[], loaded: { table?: PricingTable; error?: string }): CostEstimate {
  const { table } = loaded;
  if (!table) {
    return {
      currency: '',
      monthlyDelta: null,
      unpriced: [],
      text: loaded.error ? `No cost estimate: ${loaded.error}` : `No cost estimate: there is no pricing table (${pricingFile}).`,
    };
  }
  let delta = 0;
  let priced = 0;
  const unpriced = new Set<string>();
  for (const change of changes) {
    if (free(change.type) || change.op === 'same' || change.op === 'read' || change.op === 'refresh') continue;
    const before = change.op === 'create' ? 0 : monthly(table, change.type, change.oldInputs ?? change.newInputs);
    const after = change.op === 'delete' ? 0 : monthly(table, change.type, change.newInputs);
    if (before === undefined || after === undefined) {
      unpriced.add(change.type);
      continue;
    }
    priced += 1;
    delta += after - before;
  }
  const names = [...unpriced].slice(0, 100);
  const missing = names.length ? ` No price for ${names.join(', ')}: left out of the estimate.` : '';
  if (priced === 0) {
    return { currency: table.currency, monthlyDelta: null, unpriced: names, text: names.length ? `No cost estimate: nothing that changes has a price in ${pricingFile}.${missing}` : 'No cost change: nothing priced changes.' };
  }
  const rounded = Math.round(delta * 100) / 100;
  const sign = rounded > 0 ? '+' : rounded < 0 ? '-' : '±';
  return {
    currency: table.currency,
    monthlyDelta: rounded,
    unpriced: names,
    text: `Estimated monthly cost: ${sign}${Math.abs(rounded).toFixed(2)} ${table.currency} (${priced} priced change(s), from ${pricingFile}).${missing}`,
  };
}
