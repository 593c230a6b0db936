/**
 * Tools as the agent knows them: a definition (name, description, zod input schema,
 * declared risk) kept apart from its executor, which is handed in. The agent loop never
 * calls an executor itself: `ToolRegistry.invoke` is the one path to an executor, and it
 * runs the gate first. The gate decides; the model only proposes.
 */
import type { z } from 'zod';
import { riskLevels, type RiskLevel } from '../../shared/contract';
import { createLogger } from '../log';
import { inSpan, sophiaSpans, type OpenSpan } from '../core/spans';

const log = createLogger('tools');

export interface ToolDefinition<Input extends z.ZodType = z.ZodType> {
  /** `[a-z][a-z0-9_]*`, at most 64 characters: what the model calls. */
  readonly name: string;
  readonly description: string;
  readonly input: Input;
  /** The tool's own risk. Inspectors may raise it for a given call, never lower it. */
  readonly risk: RiskLevel;
  /** A one-line description of a call for the approval card ("push main to origin"). */
  describe?(input: z.output<Input>): string;
  /**
   * The diff or plan the approval card shows (a file diff, a `pulumi preview`), made for one
   * call: a tool that keeps what it previewed (a proposal) files it under that call.
   */
  preview?(input: z.output<Input>, call: ToolCallRef): Promise<ToolPreview> | ToolPreview;
  /**
   * The person's standing approval of this tool (an outside MCP tool pinned in the workspace):
   * why it holds now, or undefined. Only an input to the gate, read after every inspector: it
   * spares the card for a call assessed at most medium risk, and never overrides a refusal.
   */
  pin?(signal: AbortSignal): Promise<string | undefined>;
  /** Told how each of its calls ended (refused, timed out, run): after the executor, or instead of it. */
  settled?(call: ToolCallRef, outcome: InvokeOutcome): void;
}

/** Which call: ids unique within a conversation, and who asked from outside (an MCP client), if anyone. */
export interface ToolCallRef {
  readonly conversationId: string;
  readonly callId: string;
  readonly client?: string;
}

/** The name an outside client gave, as a card shows it: without the `mcp:` the MCP server marks it with. */
export function clientShown(client: string): string {
  return client.replace(/^mcp:/, '').slice(0, 200);
}

/** One file of an edit, counted for the approval card's summary. */
export interface EditFileSummary {
  readonly path: string;
  readonly added: number;
  readonly removed: number;
  readonly isNew: boolean;
}

/**
 * A preview: its text, or its text and, for an edit, the per-file counts. An edit is shown and
 * answered in the diff panel only; its card summarises it and points there.
 */
export type ToolPreview = string | { readonly text: string; readonly edit: readonly EditFileSummary[] };

export interface ToolContext {
  readonly conversationId: string;
  readonly callId: string;
  /** Aborted by the emergency stop or the conversation's cancel. */
  readonly signal: AbortSignal;
  /** Streams partial output (container stdout, say) while the tool runs. */
  readonly onOutput?: (chunk: string) => void;
  /** Who asked from outside the app (an MCP client's name); absent for the agent's own calls. */
  readonly client?: string;
}

export interface ToolOutput {
  readonly ok: boolean;
  /** What goes back to the model, and to the chat. */
  readonly output: string;
}

export type ToolExecutor<Input extends z.ZodType = z.ZodType> = (
  input: z.output<Input>,
  context: ToolContext,
) => Promise<ToolOutput>;

/** One proposed call, after its arguments passed the tool's schema. */
export interface ToolCallRequest {
  readonly conversationId: string;
  readonly callId: string;
  readonly tool: ToolDefinition;
  readonly input: unknown;
  /** The outside client that asked (MCP), for the approval card and the audit log. */
  readonly client?: string;
}

export type DecidedBy = 'policy' | 'user' | 'pin' | 'session-grant' | 'role' | 'plan-mode' | 'stop' | 'timeout' | 'error' | 'no-approver' | 'hook';

export interface GateDecision {
  readonly allowed: boolean;
  /** The risk the gate assessed: at least the tool's declared risk. */
  readonly risk: RiskLevel;
  readonly decidedBy: DecidedBy;
  readonly reasons: readonly string[];
  /** When the user approved with changes: the input to run instead (re-validated). */
  readonly modifiedInput?: unknown;
}

export interface ToolGate {
  decide(request: ToolCallRequest, signal: AbortSignal): Promise<GateDecision>;
}

/** Optional seams around every call: the emergency stop's last word, and the audit log. */
export interface ToolRegistryHooks {
  /** Asked after the gate allowed and right before the executor runs; a reason refuses the call. */
  readonly refuseBeforeExecute?: (request: ToolCallRequest) => string | undefined;
  /** Applied to every executor's output before anyone sees it (known secrets are cut). */
  readonly redactOutput?: (output: string) => string;
  /** Told how every call ended. */
  readonly onOutcome?: (request: { readonly conversationId: string; readonly callId: string; readonly tool: string; readonly client?: string }, outcome: InvokeOutcome) => void;
}

export class ToolRegistryError extends Error {
  override readonly name = 'ToolRegistryError';
}

interface Registered {
  readonly definition: ToolDefinition;
  readonly execute: ToolExecutor;
}

export type InvokeOutcome =
  | { readonly kind: 'invalid-input'; readonly message: string }
  | { readonly kind: 'denied'; readonly decision: GateDecision }
  | { readonly kind: 'executed'; readonly decision: GateDecision; readonly result: ToolOutput };

const toolName = /^[a-z][a-z0-9_]{0,63}$/;

/** What the model is told when its arguments do not match the tool's schema (the first five issues). */
export function argumentsProblem(name: string, error: z.ZodError): string {
  const issues = error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
  return `Arguments for ${name} do not match its schema: ${issues.join('; ')}`;
}

export class ToolRegistry {
  readonly #tools = new Map<string, Registered>();

  constructor(
    private readonly gate: ToolGate,
    private readonly hooks: ToolRegistryHooks = {},
  ) {}

  register<Input extends z.ZodType>(definition: ToolDefinition<Input>, execute: ToolExecutor<Input>): void {
    if (!toolName.test(definition.name)) throw new ToolRegistryError(`Tool name "${definition.name}" is not [a-z][a-z0-9_]*.`);
    if (this.#tools.has(definition.name)) throw new ToolRegistryError(`Tool "${definition.name}" is registered twice.`);
    if (!(riskLevels as readonly unknown[]).includes(definition.risk)) {
      throw new ToolRegistryError(`Tool "${definition.name}" declares no valid risk; a tool without one is refused.`);
    }
    this.#tools.set(definition.name, { definition, execute: execute as ToolExecutor });
  }

  definitions(names?: readonly string[]): ToolDefinition[] {
    const all = [...this.#tools.values()].map((tool) => tool.definition);
    return names ? all.filter((definition) => names.includes(definition.name)) : all;
  }

  /** Removes a tool (an outside MCP server's, when the server goes away or its definition changes). */
  unregister(name: string): boolean {
    return this.#tools.delete(name);
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  /**
   * Validates the model's arguments, asks the gate, and runs the executor only on an
   * explicit allow. A gate that throws is a denial.
   */
  async invoke(name: string, args: unknown, context: ToolContext): Promise<InvokeOutcome> {
    const outcome = await inSpan(toolSpan(name, context), async (span) => toolSpanEnd(span, args, await this.#invoke(name, args, context)));
    const settled = this.#tools.get(name)?.definition.settled;
    if (settled) {
      try {
        settled({ conversationId: context.conversationId, callId: context.callId, ...(context.client === undefined ? {} : { client: context.client }) }, outcome);
      } catch (error) {
        log.error('a tool could not be told how its call ended', { tool: name.slice(0, 80), error });
      }
    }
    try {
      const call = { conversationId: context.conversationId, callId: context.callId, tool: name.slice(0, 80) };
      this.hooks.onOutcome?.(context.client === undefined ? call : { ...call, client: context.client.slice(0, 80) }, outcome);
    } catch (error) {
      // An observer's failure does not change what happened.
      log.error('tool outcome observer failed', { tool: name.slice(0, 80), error });
    }
    return outcome;
  }

  async #invoke(name: string, args: unknown, context: ToolContext): Promise<InvokeOutcome> {
    const tool = this.#tools.get(name);
    if (!tool) return { kind: 'invalid-input', message: `There is no tool named "${name.slice(0, 80)}".` };
    const parsed = tool.definition.input.safeParse(args);
    if (!parsed.success) return { kind: 'invalid-input', message: argumentsProblem(name, parsed.error) };
    const request: ToolCallRequest = {
      conversationId: context.conversationId,
      callId: context.callId,
      tool: tool.definition,
      input: parsed.data,
      ...(context.client === undefined ? {} : { client: context.client }),
    };
    let decision: GateDecision;
    try {
      decision = await inSpan(approvalSpan(request), async (span) => approvalSpanEnd(span, performance.now(), await this.gate.decide(request, context.signal)));
    } catch (error) {
      decision = {
        allowed: false,
        risk: tool.definition.risk,
        decidedBy: 'error',
        reasons: [`The approval gate failed: ${error instanceof Error ? error.message : String(error)}`],
      };
    }
    if (decision.allowed !== true || context.signal.aborted) {
      return { kind: 'denied', decision: context.signal.aborted && decision.allowed ? { ...decision, allowed: false, decidedBy: 'stop', reasons: ['Stopped.'] } : decision };
    }
    let input = parsed.data;
    if (decision.modifiedInput !== undefined) {
      const modified = tool.definition.input.safeParse(decision.modifiedInput);
      if (!modified.success) {
        return { kind: 'invalid-input', message: `The modified arguments for ${name} do not match its schema.` };
      }
      input = modified.data;
    }
    const refusal = this.hooks.refuseBeforeExecute?.(request);
    if (refusal !== undefined) {
      return { kind: 'denied', decision: { ...decision, allowed: false, decidedBy: 'stop', reasons: [refusal] } };
    }
    const raw = await tool.execute(input, context);
    const result = this.hooks.redactOutput ? { ...raw, output: this.hooks.redactOutput(raw.output) } : raw;
    return { kind: 'executed', decision, result };
  }
}

/** `execute_tool {tool}` (GenAI semantic conventions): the arguments only with content capture on. */
function toolSpan(name: string, context: ToolContext) {
  return {
    name: `execute_tool ${name.slice(0, 80)}`,
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': name.slice(0, 80),
      'gen_ai.tool.call.id': context.callId,
      'gen_ai.tool.type': 'function',
      'gen_ai.conversation.id': context.conversationId,
      ...(context.client === undefined ? {} : { 'sophia.client': context.client.slice(0, 80) }),
    },
  };
}

function toolSpanEnd(span: OpenSpan, args: unknown, outcome: InvokeOutcome): InvokeOutcome {
  span.content(() => ({ 'gen_ai.tool.call.arguments': JSON.stringify(args) ?? '' }));
  span.set({
    'sophia.tool.outcome': outcome.kind,
    ...(outcome.kind === 'executed' && outcome.result.ok ? {} : { 'error.type': outcome.kind === 'executed' ? 'tool_error' : outcome.kind === 'denied' ? 'denied' : 'invalid_input' }),
  });
  span.content(() => (outcome.kind === 'executed' ? { 'gen_ai.tool.call.result': outcome.result.output } : {}));
  return outcome;
}

/** The gate deciding one call: how long it took (a person answering, when asked) and what it decided. */
function approvalSpan(request: ToolCallRequest) {
  return { name: sophiaSpans.approval, attributes: { 'gen_ai.tool.name': request.tool.name, 'gen_ai.tool.call.id': request.callId, 'sophia.approval.declared_risk': request.tool.risk } };
}

function approvalSpanEnd(span: OpenSpan, started: number, decision: GateDecision): GateDecision {
  span.set({
    'sophia.approval.wait_ms': Math.round(performance.now() - started),
    'sophia.approval.decision': !decision.allowed ? 'denied' : decision.modifiedInput !== undefined ? 'modified' : 'approved',
    'sophia.approval.risk': decision.risk,
    'sophia.approval.decided_by': decision.decidedBy,
  });
  return decision;
}
