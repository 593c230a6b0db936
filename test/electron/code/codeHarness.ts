/**
 * The real core (real approval gate and broker, real audit log, real SQLite) with a
 * workspace, and a way to put one `propose_edit` call through the registry and answer it
 * from the "diff view" the way the renderer does: through the `proposal.answer` handler.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProposalAnswer, ProposalView } from '../../../shared/code';
import type { InvokeOutcome } from '../../../electron/agent/tools';
import type { CoreOptions } from '../../../electron/app/sophiaCore';
import type { CallContext } from '../../../shared/handlers';
import { harness, makeWorkspace, type AgentHarness } from '../../support/agentFixture';

export interface CodeHarness extends AgentHarness {
  readonly workspace: string;
  /** Calls propose_edit and resolves once its proposal waits in the diff view and its approval is asked. */
  propose(input: unknown, call?: { conversationId?: string; callId?: string }): Promise<{ proposal: ProposalView; outcome: Promise<InvokeOutcome> }>;
  answer(answer: ProposalAnswer): Promise<{ accepted: boolean }>;
  /** The latest state of a proposal, as the renderer last saw it. */
  latest(proposalId: string): ProposalView | undefined;
}

export const context: CallContext = { transport: 'test' };

let calls = 0;

export async function codeHarness(options: Partial<CoreOptions> = {}): Promise<CodeHarness> {
  const h = harness({ approvalTimeoutMs: 60_000, ...options });
  const workspace = await makeWorkspace();
  h.core.settings.update({ workspace });
  const latest = (proposalId: string): ProposalView | undefined =>
    h.events.filter((event) => event.type === 'proposal' && event.proposal.proposalId === proposalId).map((event) => (event.type === 'proposal' ? event.proposal : undefined)).pop();
  return Object.assign(h, {
    workspace,
    latest,
    propose: async (input: unknown, call: { conversationId?: string; callId?: string } = {}) => {
      const seen = h.events.length;
      calls += 1;
      const conversationId = call.conversationId ?? 'conv-code';
      const callId = call.callId ?? `call-${calls}`;
      const outcome = h.core.registry.invoke('propose_edit', input, { conversationId, callId, signal: new AbortController().signal });
      const mine = (event: (typeof h.events)[number]): boolean =>
        (event.type === 'proposal' && event.proposal.callId === callId && event.proposal.conversationId === conversationId) ||
        (event.type === 'approval.request' && event.callId === callId && event.conversationId === conversationId);
      for (let i = 0; i < 500; i += 1) {
        const events = h.events.slice(seen).filter(mine);
        const proposal = events.find((candidate) => candidate.type === 'proposal');
        if (proposal?.type === 'proposal' && events.some((candidate) => candidate.type === 'approval.request')) return { proposal: proposal.proposal, outcome };
        const ended = await Promise.race([outcome.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10))]);
        if (ended) throw new Error(`propose_edit ended without a proposal waiting for approval: ${JSON.stringify(await outcome)}`);
      }
      throw new Error('no proposal was shown');
    },
    answer: async (answer: ProposalAnswer) => h.core.handlers['proposal.answer'](answer, context),
  });
}

/** Every file under `dir` (links not followed) with a hash of its bytes: what "touched nothing" compares. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const key = path.relative(dir, full);
      if (entry.isDirectory()) {
        out[`${key}/`] = 'dir';
        await walk(full);
      } else if (entry.isSymbolicLink()) {
        out[key] = 'link';
      } else {
        out[key] = createHash('sha256').update(await readFile(full)).digest('hex');
      }
    }
  };
  await walk(dir);
  return out;
}
