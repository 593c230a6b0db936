/**
 * The one model-turn runner: every conversation Sophia holds with a model goes through it,
 * the agent's turns (agent.ts) and the Add Tests side turn (code/testWriter.ts) alike.
 *
 * One turn is a loop: offer the tools (their zod schemas as JSON Schema), stream the model's
 * answer, keep it, run the tool calls it made, hand the results back, until the model
 * answers without a call, a budget ends it, or it is stopped. The runner owns what every
 * caller needs the same: thinking blocks kept whole with their signatures and sent back
 * first, `pause_turn` / `refusal` / `max_tokens`, a call to a tool that was not offered in
 * that request refused and told to the model, malformed arguments, the step and token
 * budgets, usage priced by the one table, the clipping of tool results, and aborts. Tools
 * run only through the registry (its gate and audit); a caller may answer a tool of its own
 * (add_tests), which ends the turn with the caller's result.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Usage } from '../../shared/contract';
import type { Effort, ModelContent, ModelMessage, ModelProvider, ModelRequest, ModelToolSpec, ThinkingContent } from '../models/modelProvider';
import { callUsage, type TokenCounts } from '../models/pricing';
import { createLogger } from '../log';
import { argumentsProblem, type InvokeOutcome, type ToolDefinition, type ToolOutput, type ToolRegistry } from './tools';

const log = createLogger('modelTurn');

export interface StepBudget {
  /** Model calls in one turn. */
  readonly modelTurns: number;
  /** Tool calls in one turn. */
  readonly toolCalls: number;
  /** Input plus output tokens in one turn. */
  readonly tokens: number;
  /** The model's max_tokens per call. */
  readonly maxTokensPerCall: number;
}

export const defaultBudget: StepBudget = { modelTurns: 16, toolCalls: 40, tokens: 600_000, maxTokensPerCall: 8192 };

/** What one turn has used so far. */
export interface Spent {
  modelTurns: number;
  toolCalls: number;
  tokens: number;
}

/** A turn ended by one of its budgets; the message names which. */
export class BudgetExceeded extends Error {
  override readonly name = 'BudgetExceeded';
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 40)}\n[… ${text.length - max + 40} more characters]`;
}

/** A tool as the model is offered it: its name, description and input schema. */
export type OfferedTool = Pick<ToolDefinition, 'name' | 'description' | 'input'>;

const schemas = new WeakMap<z.ZodType, Record<string, unknown>>();

/** A tool's zod input schema as JSON Schema (the input side, without `$schema`), converted once per schema. */
export function inputSchemaOf(input: z.ZodType): Record<string, unknown> {
  let schema = schemas.get(input);
  if (!schema) {
    schema = z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    delete schema['$schema'];
    schemas.set(input, schema);
  }
  return schema;
}

/** A tool as the model is offered it. */
export function toolSpec(tool: OfferedTool): ModelToolSpec {
  return { name: tool.name, description: tool.description, inputSchema: inputSchemaOf(tool.input) };
}

/** A tool call as the model made it; `error` when its arguments were not valid JSON. */
export interface ModelToolCall {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
  readonly error?: string;
}

/** Told as one model call streams. */
export interface CallHooks {
  /** Each piece of answer text, as it arrives. */
  readonly onText?: (delta: string) => void;
  /** The visible notes of one thinking block, once it closes (and what there was when the call failed). */
  readonly onThought?: (note: string) => void;
  /** The whole answer text, once the call ended or failed (`error` then). */
  readonly onAnswer?: (text: string, error?: unknown) => void;
}

export interface CallResult {
  /** The assistant message's content: thinking blocks first and unchanged, then the text, then the calls. */
  readonly content: ModelContent[];
  readonly text: string;
  readonly toolCalls: ModelToolCall[];
  readonly stopReason: string;
}

/**
 * One streamed model call. `onUsage` is told what the call used as the provider counted it;
 * when it throws (a budget), the stream is closed and the call fails with that error.
 */
export async function modelCall(provider: ModelProvider, request: ModelRequest, hooks: CallHooks = {}, onUsage?: (usage: TokenCounts) => void): Promise<CallResult> {
  let text = '';
  let thought = '';
  let stopReason = 'end_turn';
  const thinking: ThinkingContent[] = [];
  const toolCalls: ModelToolCall[] = [];
  const flushThought = (): void => {
    const note = thought.trim();
    thought = '';
    if (note) hooks.onThought?.(note);
  };
  try {
    for await (const event of provider.stream(request)) {
      switch (event.type) {
        case 'text':
          text += event.delta;
          hooks.onText?.(event.delta);
          break;
        case 'tool_call':
          toolCalls.push(event);
          break;
        case 'thinking_block':
          thinking.push(event.block);
          flushThought();
          break;
        case 'thinking':
          thought += event.delta;
          break;
        case 'usage':
          onUsage?.(event);
          break;
        case 'done':
          stopReason = event.stopReason;
          break;
      }
    }
  } catch (error) {
    // Keep what was said before the failure: nothing the person saw is lost.
    flushThought();
    hooks.onAnswer?.(text, error);
    throw error;
  }
  flushThought();
  hooks.onAnswer?.(text);
  // Thinking blocks go back first and unchanged: the API refuses a tool-use turn without them.
  const content: ModelContent[] = [...thinking];
  if (text) content.push({ type: 'text', text });
  for (const call of toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: call.input ?? {} });
  return { content, text, toolCalls, stopReason };
}

/** A tool the caller answers itself (not in the registry); a valid call ends the turn with its result. */
export interface OwnTool<Result> extends OfferedTool {
  readonly finish: (input: unknown) => Result;
}

/** What a turn's next model call is offered. */
export interface Offer<Result> {
  /** Registry tools: they run only through `registry.invoke`, so the gate and the audit see every call. */
  readonly definitions: readonly ToolDefinition[];
  readonly own?: readonly OwnTool<Result>[];
}

/** Given to `request`: a model call on the side (a summary), counted against the same budget. */
export interface TurnContext {
  readonly spent: Spent;
  aside(request: Omit<ModelRequest, 'signal'>, hooks?: CallHooks): Promise<CallResult>;
}

export interface ModelTurnOptions<Result> {
  readonly provider: ModelProvider;
  readonly registry: ToolRegistry;
  readonly conversationId: string;
  readonly signal: AbortSignal;
  readonly budget: StepBudget;
  /** What the turn has used (a fresh count when absent). */
  readonly spent?: Spent;
  /** Offered afresh before every model call: an outside server may come or go, plan mode may switch. */
  readonly offer: () => Offer<Result>;
  /** The rest of the next request: the system prompt and the messages (the caller may summarise here). */
  readonly request: (tools: readonly ModelToolSpec[], turn: TurnContext) => Promise<{ system: string; messages: readonly ModelMessage[]; effort?: Effort }>;
  /** Keeps each message of the turn (the model's answers and the tool results). */
  readonly keep: (message: ModelMessage) => void;
  /** Hooks for each model call of the loop, made afresh per call. */
  readonly call?: () => CallHooks;
  /**
   * Every call's usage, priced (`aside` for a call made through `TurnContext.aside`). The
   * token budget is checked after it.
   */
  readonly onUsage?: (usage: Usage, counts: TokenCounts, aside: boolean) => void;
  /** What the model gets back of a tool's output (by default clipped to 50,000 characters). */
  readonly forModel?: (output: string, call: { readonly callId: string; readonly name: string }) => string;
  /** Call ids already used in the conversation: each call's id is unique within it. */
  readonly usedCallIds?: Set<string>;
  /** True when Sophia was stopped (the emergency stop): no call runs, and the turn ends. */
  readonly stopped?: () => boolean;
  /** A tool call, as it is about to be decided (`risk` is undefined for one not offered). */
  readonly onToolCall?: (call: ModelToolCall, callId: string, definition: OfferedTool & { readonly risk?: ToolDefinition['risk'] } | undefined) => void;
  /** A tool call that passed the turn's own checks and goes to the registry now. */
  readonly onToolStart?: (call: ModelToolCall, callId: string) => void;
  /**
   * A tool that threw (rather than failing with a result): what the model is told, or
   * undefined for the generic "failed inside Sophia" (the details go to the log).
   */
  readonly onToolError?: (call: ModelToolCall, error: unknown) => string | undefined;
  /** How each tool call ended, as the chat shows it. */
  readonly onToolResult?: (callId: string, ok: boolean, output: string) => void;
  /** The results of one model call's tool calls are kept and the turn goes on. */
  readonly onToolsDone?: () => void;
  /**
   * After a call ran, before the model hears of it (the PostToolUse hooks): what the model and
   * the chat get instead of the executor's result.
   */
  readonly afterTool?: (call: { readonly callId: string; readonly name: string; readonly input: unknown }, result: ToolOutput) => Promise<ToolOutput>;
}

export type TurnEnd<Result> =
  /** The model answered without a tool call. */
  | { readonly kind: 'answered'; readonly text: string }
  /** The model declined; its reply was not kept. */
  | { readonly kind: 'refusal' }
  /** The reply was cut off at max_tokens; its text was kept, its calls neither kept nor run. */
  | { readonly kind: 'max_tokens'; readonly droppedCalls: number }
  /** Stopped or cancelled between calls. */
  | { readonly kind: 'stopped' }
  /** A valid call of one of the caller's own tools. */
  | { readonly kind: 'finished'; readonly result: Result };

const defaultToolResultChars = 50_000;

/**
 * Runs one turn to its end. Throws `BudgetExceeded` at a budget, a `ModelError` when the
 * model fails or the signal aborts a call, and whatever `request` throws.
 */
export async function runModelTurn<Result = never>(options: ModelTurnOptions<Result>): Promise<TurnEnd<Result>> {
  const { provider, budget, signal } = options;
  const spent = options.spent ?? { modelTurns: 0, toolCalls: 0, tokens: 0 };
  const account = (aside: boolean) => (counts: TokenCounts): void => {
    options.onUsage?.(callUsage(provider.id, provider.model, counts), counts, aside);
    spent.tokens += counts.inputTokens + (counts.cacheReadTokens ?? 0) + (counts.cacheWriteTokens ?? 0) + counts.outputTokens;
    if (spent.tokens > budget.tokens) throw new BudgetExceeded(`${budget.tokens.toLocaleString('en')} tokens`);
  };
  const turn: TurnContext = {
    spent,
    aside: (request, hooks) => modelCall(provider, { ...request, signal, conversationId: options.conversationId }, hooks, account(true)),
  };
  const usedCallIds = options.usedCallIds ?? new Set<string>();
  for (;;) {
    if (spent.modelTurns >= budget.modelTurns) throw new BudgetExceeded(`${budget.modelTurns} model calls`);
    spent.modelTurns += 1;
    const offer = options.offer();
    const own = new Map((offer.own ?? []).map((tool) => [tool.name, tool]));
    const offered = new Map<string, ToolDefinition | OwnTool<Result>>([...offer.definitions.map((definition) => [definition.name, definition] as const), ...own]);
    const tools = [...offered.values()].map(toolSpec);
    const { system, messages, effort } = await options.request(tools, turn);
    const answer = await modelCall(
      provider,
      { system, messages, tools, ...(effort ? { effort } : {}), maxTokens: budget.maxTokensPerCall, signal, conversationId: options.conversationId },
      options.call?.() ?? {},
      account(false),
    );
    // The refused reply is not kept: the conversation continues from before it.
    if (answer.stopReason === 'refusal') return { kind: 'refusal' };
    if (answer.stopReason === 'max_tokens') {
      // A reply cut off mid-call is kept without its calls: none of them runs half-written.
      const kept = answer.content.filter((block) => block.type !== 'tool_use');
      if (kept.some((block) => block.type === 'text')) options.keep({ role: 'assistant', content: kept });
      return { kind: 'max_tokens', droppedCalls: answer.toolCalls.length };
    }
    options.keep({ role: 'assistant', content: answer.content });
    // The API paused a long turn: sending the turn back as it is lets the model resume it.
    if (answer.stopReason === 'pause_turn') continue;
    if (answer.toolCalls.length === 0) return { kind: 'answered', text: answer.text };
    const results: ModelContent[] = [];
    for (const call of answer.toolCalls) {
      const outcome = await toolCall(options, call, offered, own, spent, usedCallIds);
      if ('finished' in outcome) return { kind: 'finished', result: outcome.finished };
      results.push(outcome.result);
    }
    options.keep({ role: 'user', content: results });
    if (signal.aborted || options.stopped?.() === true) return { kind: 'stopped' };
    options.onToolsDone?.();
  }
}

async function toolCall<Result>(
  options: ModelTurnOptions<Result>,
  call: ModelToolCall,
  offered: ReadonlyMap<string, ToolDefinition | OwnTool<Result>>,
  own: ReadonlyMap<string, OwnTool<Result>>,
  spent: Spent,
  usedCallIds: Set<string>,
): Promise<{ result: ModelContent } | { finished: Result }> {
  const { registry, signal, conversationId } = options;
  // The model's id goes back to it with the result; the chat's card and the audit get an id no
  // other call of this conversation has (a provider may number calls afresh on every model call).
  const callId = /^[A-Za-z0-9_-]{1,64}$/.test(call.id) && !usedCallIds.has(call.id) ? call.id : `call_${randomUUID()}`;
  usedCallIds.add(callId);
  const definition = offered.get(call.name);
  options.onToolCall?.(call, callId, definition);
  const finish = (ok: boolean, output: string): { result: ModelContent } => {
    // What the model gets first (the caller may keep the whole output there), then the chat hears of it.
    const text = options.forModel ? options.forModel(output, { callId, name: call.name }) : clip(output, defaultToolResultChars);
    options.onToolResult?.(callId, ok, output);
    return { result: { type: 'tool_result', toolUseId: call.id, toolName: call.name, content: text, isError: !ok } };
  };
  if (signal.aborted || options.stopped?.() === true) return finish(false, 'Refused: Sophia was stopped, so this call did not run.');
  if (!definition) {
    // Only what was offered in this request may run: a name the model invents, or a tool
    // withheld from it (the role, plan mode, the side turn's own set), is refused before the registry sees it.
    log.warn('model called a tool it was not offered', { conversationId, tool: call.name.slice(0, 80) });
    return finish(false, `Refused: ${call.name.slice(0, 80)} was not offered to you in this request, so it did not run. Use only the tools you were given.`);
  }
  if (call.error) return finish(false, `Malformed tool call: ${call.error} Call ${call.name} again with valid JSON arguments.`);
  spent.toolCalls += 1;
  if (spent.toolCalls > options.budget.toolCalls) {
    finish(false, 'Refused: the step budget for tool calls is spent.');
    throw new BudgetExceeded(`${options.budget.toolCalls} tool calls`);
  }
  const ownTool = own.get(call.name);
  if (ownTool) {
    const parsed = ownTool.input.safeParse(call.input);
    if (!parsed.success) return finish(false, argumentsProblem(call.name, parsed.error));
    return { finished: ownTool.finish(parsed.data) };
  }
  options.onToolStart?.(call, callId);
  let outcome: InvokeOutcome;
  try {
    outcome = await registry.invoke(call.name, call.input, { conversationId, callId, signal });
  } catch (error) {
    const told = options.onToolError?.(call, error);
    if (told !== undefined) return finish(false, told);
    log.error('tool failed', { tool: call.name, error });
    return finish(false, `${call.name} failed inside Sophia; the details are in the log.`);
  }
  switch (outcome.kind) {
    case 'invalid-input':
      return finish(false, outcome.message);
    case 'denied':
      return finish(false, `Not approved (${outcome.decision.risk} risk, decided by ${outcome.decision.decidedBy}): ${outcome.decision.reasons.join('; ') || 'no reason given'}. Do not retry it unchanged; ask the person how to proceed.`);
    case 'executed': {
      if (!options.afterTool) return finish(outcome.result.ok, outcome.result.output);
      const input = outcome.decision.modifiedInput ?? call.input;
      let after: ToolOutput;
      try {
        after = await options.afterTool({ callId, name: call.name, input }, outcome.result);
      } catch (error) {
        log.error('after-tool step failed', { tool: call.name, error });
        after = { ok: false, output: `${outcome.result.output}\n\n(The PostToolUse hooks could not be run on this result, so it is marked failed.)` };
      }
      return finish(after.ok, after.output);
    }
  }
}
