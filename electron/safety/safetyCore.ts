/**
 * The safety core, wired: the audit log (with its head key from the keychain), the secret
 * store and redactor, the layered policy, the approval broker and gate, and what the
 * emergency stop needs from them. `createSophiaCore` builds one and plugs it in.
 */
import path from 'node:path';
import { auditedRequests, type Channel, type SophiaEvent } from '../../shared/contract';
import { missingCase } from '../../shared/errors';
import type { EventHub } from '../core/eventHub';
import type { StopController } from '../core/stopController';
import type { InvokeOutcome, ToolRegistryHooks } from '../agent/tools';
import { loadAuditHeadKey } from '../audit/auditKey';
import { AuditLog, keychainAnchorStore } from '../audit/auditLog';
import { realRelative } from '../core/workspacePaths';
import type { CallContext, Handlers } from '../../shared/handlers';
import { OsKeychain, type Keychain } from '../keychain/keychain';
import type { SecretRedactor } from '../keychain/redactor';
import { SecretStore } from './secretStore';
import { RunSecretStore } from './runSecrets';
import { addLogRedactor, createLogger } from '../log';
import type { ModelProvider, ModelRequest } from '../models/modelProvider';
import { costUsd } from '../models/pricing';
import type { SecretReader } from '../keychain/secretReader';
import { ApprovalBroker } from './approvals';
import { ApprovalGate, type PreToolUseCheck } from './approvalGate';
import { defaultManagedPolicyFile, PolicyService } from './policyService';

const log = createLogger('safetyCore');

export interface SafetyOptions {
  readonly events: EventHub;
  readonly stop: StopController;
  readonly redactor: SecretRedactor;
  /** Holds `audit.db` and the user's `policy.yaml`. */
  readonly dataDir: string;
  readonly workspace: () => string;
  /** The OS keychain by default; tests hand in their own service name or a failing one. */
  readonly keychain?: Keychain | undefined;
  /** The administrator's policy file; by default the platform's system-wide path. */
  readonly managedPolicyFile?: string | undefined;
  /** Overrides the policy's approval timeout (tests). */
  readonly approvalTimeoutMs?: number | undefined;
}

type SafetyChannel =
  | 'approval.answer'
  | 'approval.pending'
  | 'safety.status'
  | 'safety.setRole'
  | 'agent.planMode'
  | 'secrets.list'
  | 'secrets.set'
  | 'secrets.remove'
  | 'audit.query'
  | 'audit.verify'
  | 'runSecrets.list'
  | 'runSecrets.set'
  | 'runSecrets.remove';

export interface SafetyCore {
  readonly audit: AuditLog;
  readonly gate: ApprovalGate;
  readonly approvals: ApprovalBroker;
  readonly policy: PolicyService;
  readonly secrets: SecretStore;
  /** Credentials for one approved sandboxed command (run_command's `secrets`). */
  readonly runSecrets: RunSecretStore;
  readonly keychain: Keychain;
  readonly redactor: SecretRedactor;
  /** For the model providers: reads credentials from the keychain, never throws. */
  readonly secretReader: SecretReader;
  readonly registryHooks: ToolRegistryHooks;
  readonly handlers: Pick<Handlers, SafetyChannel>;
  /** Plan mode: while on, the gate refuses every call above read-only. */
  readonly planMode: { readonly on: boolean };
  /** Redacts what goes to the model and audits each call (provider, model, tokens). */
  wrapProvider(provider: ModelProvider): ModelProvider;
  /** Audits the requests of the channels the contract declares audited (`auditedRequests`). */
  auditRequests(handlers: Handlers): Handlers;
  /** The PreToolUse hooks the gate runs (set once the hook service exists: it needs the sandbox). */
  usePreToolUse(check: PreToolUseCheck): void;
  close(): void;
}

export function createSafetyCore(options: SafetyOptions): SafetyCore {
  const { events, stop, redactor } = options;
  const keychain = options.keychain ?? new OsKeychain();
  const redact = (text: string): string => redactor.redact(text);
  const removeLogRedactor = addLogRedactor(redact);
  const auditFile = path.join(options.dataDir, 'audit.db');
  const headKey = loadAuditHeadKey(keychain, { create: true });
  // The anchor (count and head hash) sits beside the key, so a wiped log or an older copy is caught.
  const audit = AuditLog.open(auditFile, { headKey: headKey.key, keyProblem: headKey.problem, anchor: keychainAnchorStore(keychain, auditFile), redact });
  const secrets = new SecretStore(keychain, redactor, audit);
  secrets.loadIntoRedactor();
  const runSecrets = new RunSecretStore(keychain, redactor, audit);
  runSecrets.loadIntoRedactor();
  const policy = new PolicyService(
    { userFile: path.join(options.dataDir, 'policy.yaml'), managedFile: options.managedPolicyFile ?? defaultManagedPolicyFile(), workspace: options.workspace },
    audit,
  );
  const approvals = new ApprovalBroker(events);
  // The workspace open when an entry is written: metrics group by it.
  const workspaceNow = (): string | null => {
    try {
      return options.workspace() || null;
    } catch {
      return null;
    }
  };
  const planMode = { on: false };
  let preToolUse: PreToolUseCheck | undefined;
  const gate = new ApprovalGate({
    preToolUse: (request, signal) => (preToolUse ? preToolUse(request, signal) : Promise.resolve({ decision: 'none', reasons: [] })),
    planMode: () => planMode.on,
    policy: () => policy.policy(),
    stop,
    audit,
    approver: approvals,
    redact,
    // Protected paths are judged where a path really lands: a folder link to .github/workflows is .github/workflows.
    resolvePath: (raw) => realRelative(options.workspace(), raw),
    ...(options.approvalTimeoutMs === undefined ? {} : { timeoutMs: options.approvalTimeoutMs }),
  });

  const status = () => ({ ...policy.status(keychain.status()), audit: audit.signing });
  policy.onChange(() => events.publish({ type: 'safety.status', status: status() }));
  policy.current();

  const unregister = stop.register(
    'approvals',
    async () => {
      gate.revokeSessionGrants();
      return approvals.rejectAll();
    },
    { kind: 'approval', label: 'pending approvals' },
  );
  const unobserve = stop.observe((transition) => {
    if (transition.type === 'stopped') {
      const stuck = transition.report.stopped.filter((item) => item.outcome === 'stuck').length;
      const unreachable = transition.report.stopped.filter((item) => item.outcome === 'unreachable').length;
      audit.record({
        kind: 'stop',
        actor: 'user',
        summary: `Emergency stop: ${transition.report.stopped.length} item(s) stopped${stuck ? `, ${stuck} stuck` : ''}${unreachable ? `, ${unreachable} engine(s) unreachable` : ''}; the agent is locked`,
        data: transition.report,
      });
    } else {
      audit.record({ kind: 'resume', actor: 'user', summary: 'Resumed after the emergency stop' });
    }
  });

  const registryHooks: ToolRegistryHooks = {
    refuseBeforeExecute: (request) => {
      if (!stop.locked) return undefined;
      audit.record({
        kind: 'refusal',
        conversationId: request.conversationId,
        risk: request.tool.risk,
        actor: 'stop',
        summary: `${request.tool.name} refused after stop`,
        data: { tool: request.tool.name, callId: request.callId, input: request.input, moment: 'before execution' },
      });
      return 'Sophia was stopped: no tool runs until you resume.';
    },
    redactOutput: redact,
    onOutcome: (call, outcome) => auditOutcome(audit, call, outcome),
  };

  // A call the model proposes after the stop (a late chunk on a stream that was in flight) is
  // refused by whoever sees it first; the audit log records it here, whichever that was.
  const unsubscribe = events.subscribe((event) => {
    auditActivity(audit, event, workspaceNow);
    if (event.type !== 'tool.call' || !stop.locked) return;
    audit.record({
      kind: 'refusal',
      conversationId: event.conversationId,
      risk: event.risk,
      actor: 'stop',
      summary: `${event.tool} refused after stop (proposed after the stop)`,
      data: { tool: event.tool, callId: event.callId, input: event.args, moment: 'proposed' },
    });
  });

  const secretReader: SecretReader = {
    get: async (name) => {
      try {
        return secrets.get(name);
      } catch (error) {
        log.warn('credential unavailable', { name, error });
        return undefined;
      }
    },
  };

  const handlers: Pick<Handlers, SafetyChannel> = {
    'approval.answer': (input) => ({ accepted: approvals.answer(input) }),
    'approval.pending': () => ({ approvals: approvals.pending() }),
    'safety.status': () => status(),
    'safety.setRole': (input) => {
      policy.setRole(input.role);
      return status();
    },
    'agent.planMode': (input) => {
      if (input.on !== undefined && input.on !== planMode.on) {
        planMode.on = input.on;
        audit.record({ kind: 'policy', actor: 'user', summary: `Plan mode ${planMode.on ? 'on: only read-only calls run' : 'off'}` });
        events.publish({ type: 'agent.planMode', on: planMode.on });
      }
      return { on: planMode.on };
    },
    'secrets.list': () => secrets.list(),
    'secrets.set': (input) => {
      secrets.set(input.name, input.value);
      return { name: input.name, set: true as const };
    },
    'secrets.remove': (input) => {
      secrets.remove(input.name);
      return { name: input.name, set: false as const };
    },
    'audit.query': (input) => ({ entries: audit.query(input) }),
    'audit.verify': () => audit.verify(),
    'runSecrets.list': () => runSecrets.list(),
    'runSecrets.set': (input) => {
      runSecrets.set(input.name, input.value);
      return { name: input.name, set: true as const };
    },
    'runSecrets.remove': (input) => {
      runSecrets.remove(input.name);
      return { name: input.name, set: false as const };
    },
  };

  const wrapProvider = (provider: ModelProvider): ModelProvider => ({
    id: provider.id,
    model: provider.model,
    offline: provider.offline,
    stream: (request: ModelRequest) => auditedStream(provider, redactRequest(request, redactor), audit, stop, workspaceNow),
  });

  const auditRequests = (all: Handlers): Handlers => {
    const wrapped: Record<string, unknown> = { ...all };
    for (const channel of Object.keys(all) as Channel[]) {
      // Each channel declares in the contract whether its requests are audited.
      if (!auditedRequests[channel]) continue;
      const handler = all[channel] as (input: unknown, context: CallContext) => unknown;
      wrapped[channel] = (input: unknown, context: CallContext) => {
        // A secret's value is never part of the entry, redacted or not.
        const shown = channel === 'secrets.set' || channel === 'runSecrets.set' ? { name: (input as { name: string }).name } : channel === 'engines.check' || channel === 'engines.save' ? withoutMaterial(input) : input;
        audit.record({ kind: 'request', actor: context.transport, summary: `${channel} requested`, data: { channel, input: shown }, conversationId: conversationOf(input) });
        return handler(input, context);
      };
    }
    return wrapped as Handlers;
  };

  return {
    audit,
    gate,
    approvals,
    policy,
    secrets,
    runSecrets,
    keychain,
    redactor,
    secretReader,
    registryHooks,
    handlers,
    planMode,
    wrapProvider,
    auditRequests,
    usePreToolUse: (check) => {
      preToolUse = check;
    },
    close: () => {
      unregister();
      unobserve();
      unsubscribe();
      removeLogRedactor();
      audit.close();
    },
  };
}

/** Turns of the chat, containers starting and ending, and deployments changing phase: from the events their services publish. */
function auditActivity(audit: AuditLog, event: SophiaEvent, workspace: () => string | null): void {
  switch (event.type) {
    case 'agent.intent':
      // One per request of the person (a retry asks again, it is no new request): its intent and workspace.
      audit.record({ kind: 'request', conversationId: event.conversationId, actor: 'agent', summary: `Chat request taken as ${event.intent}`, data: { intent: event.intent, workspace: workspace() } });
      return;
    case 'container.started':
      audit.record({ kind: 'container', actor: 'sandbox', summary: `Command started in task ${event.taskId}: ${event.command.slice(0, 200)}`, data: { taskId: event.taskId, execId: event.execId, command: event.command } });
      return;
    case 'container.ended':
      audit.record({
        kind: 'container',
        actor: 'sandbox',
        summary: `Command ended in task ${event.taskId}: ${event.stopped ? 'stopped' : event.timedOut ? 'timed out' : `exit ${event.exitCode ?? '?'}`}`,
        data: { taskId: event.taskId, execId: event.execId, exitCode: event.exitCode, durationMs: event.durationMs, stopped: event.stopped, timedOut: event.timedOut },
      });
      return;
    case 'deployment.event':
      if (event.status === 'running' && event.phase !== 'rollback') return;
      audit.record({ kind: 'infrastructure', actor: 'agent', summary: `Deployment ${event.deploymentId}: ${event.phase} ${event.status}`, data: { deploymentId: event.deploymentId, phase: event.phase, status: event.status, message: event.message.slice(0, 2000), workspace: workspace() } });
      return;
    default:
      return;
  }
}

function conversationOf(input: unknown): string | null {
  const id = (input as { conversationId?: unknown } | null)?.conversationId;
  return typeof id === 'string' ? id : null;
}

function auditOutcome(audit: AuditLog, call: { conversationId: string; callId: string; tool: string }, outcome: InvokeOutcome): void {
  switch (outcome.kind) {
    case 'invalid-input':
      audit.record({ kind: 'tool.call', conversationId: call.conversationId, actor: 'agent', summary: `${call.tool} not run: invalid arguments`, data: { ...call, message: outcome.message } });
      return;
    case 'denied':
      // The gate already recorded its decision; this marks that the executor never ran.
      audit.record({ kind: 'tool.call', conversationId: call.conversationId, risk: outcome.decision.risk, actor: outcome.decision.decidedBy, summary: `${call.tool} not run: denied`, data: { ...call, reasons: outcome.decision.reasons } });
      return;
    case 'executed':
      audit.record({
        kind: 'tool.call',
        conversationId: call.conversationId,
        risk: outcome.decision.risk,
        actor: outcome.decision.decidedBy,
        summary: `${call.tool} ran: ${outcome.result.ok ? 'ok' : 'failed'}`,
        data: { ...call, ok: outcome.result.ok, outputChars: outcome.result.output.length },
      });
      return;
    default:
      missingCase(outcome);
  }
}

/** An engine request as the audit log keeps it: the profile, and only the names of the material fields given (keys and certificates stay out). */
function withoutMaterial(input: unknown): unknown {
  const { material, ...rest } = input as { material?: Record<string, unknown> };
  return material === undefined ? rest : { ...rest, material: Object.keys(material).filter((field) => material[field] !== undefined) };
}

function redactRequest(request: ModelRequest, redactor: SecretRedactor): ModelRequest {
  return {
    ...request,
    system: redactor.redact(request.system),
    messages: redactor.redactDeep(request.messages),
  };
}

/**
 * Audits the call when it ends. A tool call that arrives after the emergency stop (a late
 * chunk on a stream that was already in flight) is dropped here and audited as refused:
 * the agent never sees it, and the gate would refuse it anyway.
 */
async function* auditedStream(provider: ModelProvider, request: ModelRequest, audit: AuditLog, stop: { readonly locked: boolean }, workspace: () => string | null) {
  let inputTokens = 0;
  let outputTokens = 0;
  let cacheReadTokens = 0;
  let cacheWriteTokens = 0;
  let outcome = 'ended';
  try {
    for await (const event of provider.stream(request)) {
      if (event.type === 'tool_call' && stop.locked) {
        audit.record({
          kind: 'refusal',
          risk: null,
          actor: 'stop',
          summary: `${event.name.slice(0, 80)} refused after stop (arrived late on a stream in flight)`,
          data: { tool: event.name.slice(0, 80), callId: event.id.slice(0, 80), input: event.input, moment: 'stream' },
        });
        continue;
      }
      if (event.type === 'usage') {
        inputTokens += event.inputTokens;
        outputTokens += event.outputTokens;
        cacheReadTokens += event.cacheReadTokens ?? 0;
        cacheWriteTokens += event.cacheWriteTokens ?? 0;
      } else if (event.type === 'done') {
        outcome = event.stopReason;
      }
      yield event;
    }
  } catch (error) {
    outcome = request.signal.aborted ? 'aborted' : 'failed';
    throw error;
  } finally {
    // Priced as the conversation's usage is (models/pricing.ts); null when the table has no price for the model.
    const cost = costUsd(provider.id, provider.model, { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens }) ?? null;
    audit.record({
      kind: 'model.call',
      conversationId: request.conversationId ?? null,
      actor: 'model',
      summary: `${provider.id} ${provider.model}: ${inputTokens} in, ${outputTokens} out (${outcome})`,
      data: { provider: provider.id, model: provider.model, inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, costUsd: cost, outcome, messages: request.messages.length, tools: request.tools.length, workspace: workspace() },
    });
  }
}
