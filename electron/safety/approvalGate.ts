/**
 * The approval gate: the `ToolGate` every tool call passes before its executor. It fails
 * closed: an emergency stop, an inspector or policy failure, no approver, a timeout or an
 * abort all mean "denied". Each decision says who decided and why, and goes to the audit
 * log with the assessed risk.
 *
 * Order: the stop first (so a call that arrives late on a stream that was in flight is
 * refused and audited as such), then the inspectors (over the arguments and over where their
 * paths really land, links followed), the policy's never-allowed list and the role, then plan
 * mode (any call above read-only is refused while it is on, and again when an approval comes
 * back), then the PreToolUse hooks, then the threshold, auto-approval, the person's pin and
 * session grants, and only then a human. A pin and auto-approval are read after every inspector
 * and spare the card only up to medium risk.
 *
 * The hooks come after every refusal of the gate's own (a refused call is not shown to them)
 * and before anything that would spare the card: a hook's deny refuses, its "ask" takes away
 * the threshold, auto-approval, the pin and session grants so the person is asked, and its
 * "allow" is no opinion. A call the person modified on the card passes the hooks again.
 */
import { codeLimits } from '../../shared/code';
import type { RiskLevel } from '../../shared/contract';
import { missingCase } from '../../shared/errors';
import { atLeast, riskRank, sessionApprovalAllowed } from '../../shared/risk';
import { clientShown, type GateDecision, type ToolCallRequest, type ToolGate } from '../agent/tools';
import type { AuditSink } from '../audit/auditLog';
import { createLogger } from '../log';
import type { ApprovalEnding, ApprovalQuestion, Approver } from './approvals';
import { assess, collectStrings, defaultInspectors, pathCandidates, sandboxGrants, type Assessment, type Inspector } from './inspectors';
import type { Policy, Role } from './policy';

const log = createLogger('approvalGate');

export interface ApprovalGateOptions {
  readonly policy: () => Policy;
  readonly stop: { readonly locked: boolean };
  readonly audit: AuditSink;
  /** The human. None means every call that needs one is denied. */
  readonly approver?: Approver | undefined;
  readonly inspectors?: readonly Inspector[];
  /** Overrides the policy's timeout (tests). */
  readonly timeoutMs?: number;
  /** Applied to previews and arguments before they reach the approval card. */
  readonly redact?: (text: string) => string;
  /**
   * Where a workspace path of a call really lands, links followed (`realRelative`): its real
   * workspace-relative path, null when it leads out. Without it the inspectors read the text only.
   */
  readonly resolvePath?: (raw: string) => Promise<string | null | undefined>;
  /**
   * Plan mode, switched in the chat: while it is on, every call above read-only is refused,
   * whoever asks and whatever was approved. A switch that cannot be read counts as on.
   */
  readonly planMode?: () => boolean;
  /** The PreToolUse hooks (electron/hooks/). A check that throws denies. */
  readonly preToolUse?: PreToolUseCheck;
}

/** What the PreToolUse hooks said of one call: deny refuses, ask demands a person, none leaves it to the gate. */
export interface PreToolUseVerdict {
  readonly decision: 'deny' | 'ask' | 'none';
  readonly reasons: readonly string[];
}

export type PreToolUseCheck = (request: ToolCallRequest, signal: AbortSignal) => Promise<PreToolUseVerdict>;

/** Why the role refuses the call, or undefined when it may go ahead (with approval if needed). */
export function roleRefusal(role: Role, assessment: Assessment): string | undefined {
  switch (role) {
    case 'viewer':
      return assessment.risk === 'read-only' ? undefined : `the viewer role runs read-only tools only; this call is ${assessment.risk} risk`;
    case 'developer':
      return assessment.production ? 'production infrastructure needs the admin role; the active role is developer' : undefined;
    case 'admin':
      return undefined;
    default:
      return missingCase(role);
  }
}

const maxPreview = 100_000;

/** An approval card as the audit entry of its decision records it. */
interface AuditedCard {
  readonly answer: ApprovalEnding['decision'];
  readonly waitedMs: number;
  /** The card showed the change as a diff (a code proposal). */
  readonly diff: boolean;
}

export class ApprovalGate implements ToolGate {
  /** conversation -> tools approved for the rest of the session (low risk only). */
  readonly #sessionGrants = new Map<string, Set<string>>();

  constructor(private readonly options: ApprovalGateOptions) {}

  /** The stop revokes every session grant: after a resume, each call is asked again. */
  revokeSessionGrants(): void {
    this.#sessionGrants.clear();
  }

  async decide(request: ToolCallRequest, signal: AbortSignal): Promise<GateDecision> {
    const { tool } = request;
    const base = { conversationId: request.conversationId, callId: request.callId, tool: tool.name };
    // Once a card was put to the person: what they answered, how long it waited, whether it showed a diff (metrics read it).
    const asked: { card?: AuditedCard } = {};
    const conclude = (decision: GateDecision, summary: string, kind: 'approval' | 'refusal'): GateDecision => {
      if (this.#audit(kind, decision, summary, request, asked.card) || !decision.allowed) return decision;
      // Fail closed: a call that cannot be audited does not run.
      return { allowed: false, risk: decision.risk, decidedBy: 'error', reasons: ['The audit log could not record this call, so it was refused.'] };
    };

    if (this.options.stop.locked || signal.aborted) {
      const stopped = this.options.stop.locked;
      return conclude(
        { allowed: false, risk: tool.risk, decidedBy: 'stop', reasons: [stopped ? 'Sophia was stopped: no tool runs until you resume.' : 'The call was cancelled.'] },
        `${tool.name} refused ${stopped ? 'after stop' : 'after cancel'}`,
        'refusal',
      );
    }

    let policy: Policy;
    let assessment: Assessment;
    try {
      policy = this.options.policy();
      assessment = await this.#assess(request.tool, request.input, policy);
    } catch (error) {
      log.error('risk assessment failed', { ...base, error });
      return conclude(
        { allowed: false, risk: 'critical', decidedBy: 'error', reasons: ['The risk of this call could not be assessed, so it was refused.'] },
        `${tool.name} refused: assessment failed`,
        'refusal',
      );
    }
    const { risk } = assessment;
    const reasons = [...assessment.reasons];

    if (assessment.neverAllowed) {
      return conclude({ allowed: false, risk, decidedBy: 'policy', reasons: ['Never allowed by the policy.', ...reasons] }, `${tool.name} refused: never allowed`, 'refusal');
    }
    const refusal = roleRefusal(policy.role, assessment);
    if (refusal) {
      return conclude({ allowed: false, risk, decidedBy: 'role', reasons: [`Refused: ${refusal}.`, ...reasons] }, `${tool.name} refused by the ${policy.role} role`, 'refusal');
    }

    if (this.#planModeRefuses(risk)) {
      return conclude(
        { allowed: false, risk, decidedBy: 'plan-mode', reasons: [`Refused: plan mode is on, so only read-only calls run; this call is ${risk} risk. Present the plan instead, and the person switches plan mode off to let it run.`, ...reasons] },
        `${tool.name} refused in plan mode`,
        'refusal',
      );
    }

    const hooks = await this.#preToolUse(request, signal);
    if (this.options.stop.locked || signal.aborted) {
      return conclude({ allowed: false, risk, decidedBy: 'stop', reasons: ['Sophia was stopped while the hooks ran.', ...reasons] }, `${tool.name} refused after stop`, 'refusal');
    }
    if (hooks.decision === 'deny') {
      return conclude({ allowed: false, risk, decidedBy: 'hook', reasons: [...hooks.reasons.map((reason) => `Refused by a PreToolUse hook: ${reason}`), ...reasons] }, `${tool.name} refused by a hook`, 'refusal');
    }
    const hookAsks = hooks.decision === 'ask';
    if (hookAsks) reasons.unshift(...hooks.reasons.map((reason) => `A PreToolUse hook asks for your approval: ${reason}`));

    // High and critical always ask, whatever the threshold says: the threshold tunes low and medium.
    const needsHuman = hookAsks || assessment.protectedPath || atLeast(risk, 'high') || atLeast(risk, policy.approvalThreshold);
    const autoApproved = !hookAsks && policy.autoApprove.includes(tool.name) && !atLeast(risk, 'high') && !assessment.protectedPath;
    if (!needsHuman || autoApproved) {
      const why = needsHuman ? `${tool.name} is auto-approved in your settings up to medium risk` : `${risk} risk is below the approval threshold (${policy.approvalThreshold})`;
      return conclude({ allowed: true, risk, decidedBy: 'policy', reasons: [why, ...reasons] }, `${tool.name} allowed by policy`, 'approval');
    }
    // The person's pin, like auto-approval, is read after every inspector: it spares the card up to medium risk only.
    if (tool.pin && !hookAsks && !atLeast(risk, 'high') && !assessment.protectedPath) {
      const pinned = await this.#pinned(request, signal);
      if (this.options.stop.locked || signal.aborted) {
        return conclude({ allowed: false, risk, decidedBy: 'stop', reasons: ['Sophia was stopped before the call was decided.', ...reasons] }, `${tool.name} refused after stop`, 'refusal');
      }
      if (pinned !== undefined) return conclude({ allowed: true, risk, decidedBy: 'pin', reasons: [pinned, ...reasons] }, `${tool.name} allowed by your pin`, 'approval');
    }

    // A hook's "ask" is for this call: no session grant spares it, and none is given.
    const sessionable = !hookAsks && sessionApprovalAllowed(risk) && !assessment.protectedPath && policy.allowSessionApproval;
    if (sessionable && this.#sessionGrants.get(request.conversationId)?.has(tool.name)) {
      return conclude({ allowed: true, risk, decidedBy: 'session-grant', reasons: ['Approved for this session earlier.', ...reasons] }, `${tool.name} allowed by a session approval`, 'approval');
    }

    const approver = this.options.approver;
    if (!approver) {
      return conclude({ allowed: false, risk, decidedBy: 'no-approver', reasons: ['No one is there to approve it.', ...reasons] }, `${tool.name} refused: no approver`, 'refusal');
    }

    const { text: preview, edit } = await this.#preview(request);
    // The preview took time: a stop that landed meanwhile has already rejected every pending
    // approval, so this one must not be asked after it.
    if (this.options.stop.locked || signal.aborted) {
      return conclude({ allowed: false, risk, decidedBy: 'stop', reasons: ['Sophia was stopped before the approval was asked.', ...reasons] }, `${tool.name} refused after stop`, 'refusal');
    }
    let ending: ApprovalEnding;
    const grants = sandboxGrants(request.input);
    const askedAt = Date.now();
    try {
      ending = await approver.ask(
        {
          conversationId: request.conversationId,
          operation: this.#operation(request),
          tool: tool.name,
          risk,
          reasons: reasons.map((reason) => reason.slice(0, 200)),
          preview,
          args: this.#redact(JSON.stringify(request.input, null, 2) ?? '{}').slice(0, maxPreview),
          sessionApproval: sessionable,
          callId: request.callId,
          ...(request.client === undefined ? {} : { client: this.#redact(clientShown(request.client)).slice(0, 200) }),
          ...(edit === undefined ? {} : { edit }),
          // Named on the card, each one: the hosts a run may reach and the secrets it gets (names, never values).
          ...(grants === undefined
            ? {}
            : { grants: { hosts: grants.hosts.slice(0, 8).map((host) => this.#redact(host).slice(0, 200)), secrets: grants.secrets.slice(0, 8).map((name) => name.slice(0, 64)) } }),
        },
        { timeoutMs: this.options.timeoutMs ?? policy.approvalTimeoutSeconds * 1000, signal },
      );
    } catch (error) {
      log.error('approver failed', { ...base, error });
      return conclude({ allowed: false, risk, decidedBy: 'error', reasons: ['Asking for approval failed.', ...reasons] }, `${tool.name} refused: the approval failed`, 'refusal');
    }
    asked.card = { answer: ending.decision, waitedMs: Math.max(0, Date.now() - askedAt), diff: edit !== undefined };

    // An answer that lands after the stop does not count.
    if (this.options.stop.locked) {
      return conclude({ allowed: false, risk, decidedBy: 'stop', reasons: ['Sophia was stopped while the approval was pending.', ...reasons] }, `${tool.name} refused after stop`, 'refusal');
    }
    // Plan mode switched on while the card was open: the answer does not count either.
    const answeredRisk = ending.decision === 'modify' ? assess({ tool: tool.name, declaredRisk: tool.risk, input: ending.input }, policy, this.options.inspectors ?? defaultInspectors).risk : risk;
    if ((ending.decision === 'approve' || ending.decision === 'approve-for-session' || ending.decision === 'modify') && this.#planModeRefuses(answeredRisk)) {
      return conclude({ allowed: false, risk: answeredRisk, decidedBy: 'plan-mode', reasons: ['Refused: plan mode was switched on while the approval was pending.', ...reasons] }, `${tool.name} refused in plan mode`, 'refusal');
    }
    switch (ending.decision) {
      case 'approve':
        return conclude({ allowed: true, risk, decidedBy: 'user', reasons: ['Approved by you.', ...reasons] }, `${tool.name} approved by the user`, 'approval');
      case 'approve-for-session':
        if (!sessionable) {
          return conclude({ allowed: false, risk, decidedBy: 'policy', reasons: ['"Approve for this session" is for low risk only.', ...reasons] }, `${tool.name} refused: session approval not allowed`, 'refusal');
        }
        this.#grant(request.conversationId, tool.name);
        return conclude({ allowed: true, risk, decidedBy: 'user', reasons: ['Approved by you for this session.', ...reasons] }, `${tool.name} approved by the user for this session`, 'approval');
      case 'modify': {
        // What runs is the modified call (after Add Tests, the change with its tests): the whole
        // inspector chain reads it again, links followed. The approval covers what the card
        // showed; a change that turns out riskier, or writes a protected path the card did not
        // name, is refused rather than run under the smaller card.
        let again: Assessment;
        try {
          again = await this.#assess(tool, ending.input, policy);
        } catch (error) {
          log.error('risk assessment of a modified call failed', { ...base, error });
          return conclude({ allowed: false, risk: 'critical', decidedBy: 'error', reasons: ['The risk of the modified call could not be assessed, so it was refused.'] }, `${tool.name} refused: assessment failed`, 'refusal');
        }
        const raised = riskRank(again.risk) > riskRank(risk) || (again.protectedPath && !assessment.protectedPath);
        const refusedAgain = again.neverAllowed
          ? 'the modified call is never allowed by the policy'
          : (roleRefusal(policy.role, again) ??
            (raised ? `as changed, the call is ${again.risk} risk${again.protectedPath ? ' and writes a protected path' : ''}, more than the ${risk}-risk card you answered covered; nothing was run, so ask for it again to see it on its own card` : undefined));
        if (refusedAgain) {
          return conclude({ allowed: false, risk: again.risk, decidedBy: 'policy', reasons: [`Refused: ${refusedAgain}.`, ...again.reasons] }, `${tool.name} refused after modification`, 'refusal');
        }
        // What runs is the modified call: the hooks see it too (their "ask" is what the person just answered).
        const hooksAgain = await this.#preToolUse({ ...request, input: ending.input }, signal);
        if (this.options.stop.locked || signal.aborted) {
          return conclude({ allowed: false, risk: again.risk, decidedBy: 'stop', reasons: ['Sophia was stopped while the hooks ran.', ...again.reasons] }, `${tool.name} refused after stop`, 'refusal');
        }
        if (hooksAgain.decision === 'deny') {
          return conclude(
            { allowed: false, risk: again.risk, decidedBy: 'hook', reasons: [...hooksAgain.reasons.map((reason) => `Refused by a PreToolUse hook: ${reason}`), ...again.reasons] },
            `${tool.name} refused by a hook after modification`,
            'refusal',
          );
        }
        return conclude(
          { allowed: true, risk: again.risk, decidedBy: 'user', reasons: ['Approved by you with changes.', ...again.reasons], modifiedInput: ending.input },
          `${tool.name} approved by the user with changes`,
          'approval',
        );
      }
      case 'cancel':
        return conclude({ allowed: false, risk, decidedBy: 'user', reasons: [ending.reason ? `Cancelled by you: ${ending.reason}` : 'Cancelled by you.', ...reasons] }, `${tool.name} cancelled by the user`, 'approval');
      case 'timeout':
        return conclude({ allowed: false, risk, decidedBy: 'timeout', reasons: ['No answer in time.', ...reasons] }, `${tool.name} refused: the approval timed out`, 'refusal');
      case 'stopped':
        return conclude({ allowed: false, risk, decidedBy: 'stop', reasons: ['Stopped while waiting for approval.', ...reasons] }, `${tool.name} refused after stop`, 'refusal');
      default:
        return missingCase(ending);
    }
  }

  /** The inspectors over the call, after its paths are followed on disk to where they really land. */
  async #assess(tool: ToolCallRequest['tool'], input: unknown, policy: Policy): Promise<Assessment> {
    const call = { tool: tool.name, declaredRisk: tool.risk, input };
    const resolve = this.options.resolvePath;
    if (!resolve) return assess(call, policy, this.options.inspectors ?? defaultInspectors);
    const resolvedPaths = new Map<string, string | null>();
    await Promise.all(
      pathCandidates(collectStrings(input)).paths.map(async (raw) => {
        const real = await resolve(raw);
        if (real !== undefined) resolvedPaths.set(raw, real);
      }),
    );
    return assess({ ...call, resolvedPaths }, policy, this.options.inspectors ?? defaultInspectors);
  }

  /** The PreToolUse hooks' verdict; none configured is no opinion, a check that throws denies. */
  async #preToolUse(request: ToolCallRequest, signal: AbortSignal): Promise<PreToolUseVerdict> {
    const check = this.options.preToolUse;
    if (!check) return { decision: 'none', reasons: [] };
    try {
      return await check(request, signal);
    } catch (error) {
      log.error('PreToolUse hooks failed', { tool: request.tool.name, error });
      return { decision: 'deny', reasons: ['the hooks could not be run'] };
    }
  }

  /** The pin's reason when the person's pin holds for this tool now; a failing pin check is no pin. */
  async #pinned(request: ToolCallRequest, signal: AbortSignal): Promise<string | undefined> {
    try {
      return await request.tool.pin?.(signal);
    } catch (error) {
      log.warn('pin check failed; the call is asked', { tool: request.tool.name, error });
      return undefined;
    }
  }

  #planModeRefuses(risk: RiskLevel): boolean {
    if (!this.options.planMode || risk === 'read-only') return false;
    try {
      return this.options.planMode() !== false;
    } catch (error) {
      log.error('plan mode could not be read; refusing as if it were on', { error });
      return true;
    }
  }

  #grant(conversationId: string, tool: string): void {
    const grants = this.#sessionGrants.get(conversationId) ?? new Set<string>();
    grants.add(tool);
    this.#sessionGrants.set(conversationId, grants);
  }

  #redact(text: string): string {
    return this.options.redact ? this.options.redact(text) : text;
  }

  #operation(request: ToolCallRequest): string {
    let text = request.tool.name;
    if (request.tool.describe) {
      try {
        text = request.tool.describe(request.input);
      } catch (error) {
        log.warn('describe failed', { tool: request.tool.name, error });
      }
    }
    return this.#redact(text).slice(0, 200);
  }

  async #preview(request: ToolCallRequest): Promise<{ text: string; edit?: ApprovalQuestion['edit'] }> {
    const fallback = JSON.stringify(request.input, null, 2) ?? '';
    if (!request.tool.preview) return { text: this.#redact(fallback).slice(0, maxPreview) };
    const call = { conversationId: request.conversationId, callId: request.callId, ...(request.client === undefined ? {} : { client: request.client }) };
    try {
      const preview = await request.tool.preview(request.input, call);
      if (typeof preview === 'string') return { text: this.#redact(preview).slice(0, maxPreview) };
      return {
        text: this.#redact(preview.text).slice(0, maxPreview),
        edit: preview.edit.slice(0, codeLimits.filesPerProposal).map((file) => ({ ...file, path: this.#redact(file.path).slice(0, codeLimits.path) })),
      };
    } catch (error) {
      log.warn('preview failed', { tool: request.tool.name, error });
      return { text: this.#redact(`(The preview could not be made.)\n${fallback}`).slice(0, maxPreview) };
    }
  }

  #audit(kind: 'approval' | 'refusal', decision: GateDecision, summary: string, request: ToolCallRequest, card?: AuditedCard): boolean {
    try {
      this.options.audit.record({
        kind,
        conversationId: request.conversationId,
        risk: decision.risk,
        actor: decision.decidedBy,
        summary,
        data: {
          // First, with the short fields after it: an entry clipped for a large edit still starts with them (metrics read them there).
          ...(card === undefined ? {} : { card }),
          tool: request.tool.name,
          callId: request.callId,
          allowed: decision.allowed,
          reasons: decision.reasons,
          input: request.input,
          ...(decision.modifiedInput === undefined ? {} : { modifiedInput: decision.modifiedInput }),
        },
      });
      return true;
    } catch (error) {
      log.error('audit of a gate decision failed', { tool: request.tool.name, error });
      return false;
    }
  }
}
