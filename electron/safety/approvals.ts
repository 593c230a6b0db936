/**
 * Pending approvals: each waits for the human's answer from an approval card, and ends on
 * that answer, a timeout, an abort or the emergency stop, whichever comes first. Only the
 * answer approves; every other ending is a denial.
 */
import { randomUUID } from 'node:crypto';
import type { ApprovalDecisionInput, ApprovalRequest, RequestInput, StoppedItem } from '../../shared/contract';
import { missingCase, SophiaError } from '../../shared/errors';
import type { EventHub } from '../core/eventHub';
import { createLogger } from '../log';

const log = createLogger('approvals');

export type ApprovalAnswer =
  | { readonly decision: 'approve' }
  | { readonly decision: 'approve-for-session' }
  | { readonly decision: 'modify'; readonly input: unknown }
  | { readonly decision: 'cancel'; readonly reason?: string };



export type ApprovalEnding = ApprovalAnswer | { readonly decision: 'timeout' } | { readonly decision: 'stopped' };

export type ApprovalQuestion = Omit<ApprovalRequest, 'type' | 'approvalId' | 'expiresAt'>;

/** Asks a human. Anything but an answer (a rejection, no callback at all) is a denial. */
export interface Approver {
  ask(question: ApprovalQuestion, options: { timeoutMs: number; signal: AbortSignal }): Promise<ApprovalEnding>;
}

interface Pending {
  readonly request: ApprovalRequest;
  readonly finish: (ending: ApprovalEnding) => void;
}

export class ApprovalBroker implements Approver {
  readonly #pending = new Map<string, Pending>();

  constructor(
    private readonly events: EventHub,
    private readonly now: () => number = Date.now,
  ) {}

  ask(question: ApprovalQuestion, options: { timeoutMs: number; signal: AbortSignal }): Promise<ApprovalEnding> {
    const approvalId = randomUUID();
    const request: ApprovalRequest = { type: 'approval.request', approvalId, expiresAt: this.now() + options.timeoutMs, ...question };
    return new Promise<ApprovalEnding>((resolve) => {
      let settled = false;
      const finish = (ending: ApprovalEnding): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
        this.#pending.delete(approvalId);
        this.events.publish({ type: 'approval.resolved', approvalId, outcome: outcomeOf(ending) });
        resolve(ending);
      };
      const onAbort = (): void => finish({ decision: 'stopped' });
      const timer = setTimeout(() => finish({ decision: 'timeout' }), options.timeoutMs);
      if (options.signal.aborted) {
        // Published and resolved at once, so the card never lingers.
        this.#pending.set(approvalId, { request, finish });
        finish({ decision: 'stopped' });
        return;
      }
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(approvalId, { request, finish });
      this.events.publish(request);
    });
  }

  /**
   * The human's answer from an approval card. False when the approval is no longer pending
   * (answered, timed out, stopped). An edit's card only summarises it: the edit is approved
   * or modified in the diff panel (`answerCall`), so here it can only be cancelled.
   */
  answer(input: RequestInput<'approval.answer'>): boolean {
    const pending = this.#pending.get(input.approvalId);
    if (!pending) return false;
    if (pending.request.edit && input.decision !== 'cancel') {
      throw new SophiaError('refused', 'An edit is approved in the diff panel, where its diff is shown: open it from its card.');
    }
    return this.#resolve(pending, input);
  }

  /**
   * An answer from the diff panel to the approval of one call, the (conversation, call) its
   * proposal was made for. False when that call has no approval pending (never asked, answered,
   * timed out, stopped): nothing else can be answered in its name.
   */
  answerCall(call: { readonly conversationId: string; readonly callId: string }, answer: ApprovalDecisionInput): boolean {
    const pending = [...this.#pending.values()].find(
      (candidate) => candidate.request.conversationId === call.conversationId && candidate.request.callId === call.callId && candidate.request.edit !== undefined,
    );
    if (!pending) return false;
    return this.#resolve(pending, { ...answer, approvalId: pending.request.approvalId });
  }

  #resolve(pending: Pending, input: RequestInput<'approval.answer'>): boolean {
    switch (input.decision) {
      case 'approve':
        pending.finish({ decision: 'approve' });
        return true;
      case 'approve-for-session':
        if (!pending.request.sessionApproval) {
          throw new SophiaError('refused', `"Approve for this session" is offered for low risk only; this call is ${pending.request.risk}.`);
        }
        pending.finish({ decision: 'approve-for-session' });
        return true;
      case 'modify': {
        let parsed: unknown;
        try {
          parsed = JSON.parse(input.args);
        } catch {
          throw new SophiaError('bad_request', 'The modified arguments are not valid JSON.');
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new SophiaError('bad_request', 'The modified arguments must be a JSON object.');
        }
        pending.finish({ decision: 'modify', input: parsed });
        return true;
      }
      case 'cancel':
        pending.finish(input.reason === undefined ? { decision: 'cancel' } : { decision: 'cancel', reason: input.reason });
        return true;
      default:
        return missingCase(input);
    }
  }

  pending(): ApprovalRequest[] {
    return [...this.#pending.values()].map((pending) => pending.request);
  }

  /** The emergency stop: every pending approval ends as a denial. */
  rejectAll(): StoppedItem[] {
    const items = [...this.#pending.values()].map((pending): StoppedItem => ({
      kind: 'approval',
      id: pending.request.approvalId,
      label: pending.request.operation.slice(0, 200),
      outcome: 'stopped',
    }));
    for (const pending of [...this.#pending.values()]) pending.finish({ decision: 'stopped' });
    if (items.length > 0) log.info('pending approvals rejected by the stop', { count: items.length });
    return items;
  }
}

function outcomeOf(ending: ApprovalEnding): 'approved' | 'modified' | 'cancelled' | 'timeout' | 'stopped' {
  switch (ending.decision) {
    case 'approve':
    case 'approve-for-session':
      return 'approved';
    case 'modify':
      return 'modified';
    case 'cancel':
      return 'cancelled';
    case 'timeout':
      return 'timeout';
    case 'stopped':
      return 'stopped';
    default:
      return missingCase(ending);
  }
}
