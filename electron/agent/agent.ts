/**
 * The agent loop: user message -> model -> tool calls -> gate -> execution -> results back
 * to the model, until the model answers or a budget ends it. Every step is a contract
 * event; the ones the chat keeps are stored with the conversation. The loop knows tools
 * only through the registry, and a tool runs only if the registry's gate allows it.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { limits, type EffortSetting, type PlanStep, type SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { toolOutputPreview } from '../../shared/toolOutput';
import { changesState, recognizeIntent, type Intent } from '../../shared/intents';
import type { EventHub } from '../core/eventHub';
import type { StopController } from '../core/stopController';
import { createLogger } from '../log';
import { ModelError, type Effort, type ModelContent, type ModelMessage, type ModelProvider, type ModelToolSpec } from '../models/modelProvider';
import {
  compactionCut,
  contextTokensOf,
  defaultContextBudget,
  estimateTokens,
  modelView,
  outputForModel,
  summarySystem,
  transcript,
  type ContextBudget,
} from './contextWindow';
import { callUsage, type TokenCounts } from '../models/pricing';
import { isKeptEvent, type ConversationStore } from './conversationStore';
import { systemPrompt } from './prompts';
import type { InvokeOutcome, ToolDefinition, ToolRegistry } from './tools';

const log = createLogger('agent');

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

export interface AgentOptions {
  readonly events: EventHub;
  readonly store: ConversationStore;
  readonly registry: ToolRegistry;
  readonly stop: StopController;
  /** The provider the settings select, resolved at the start of each turn. */
  readonly provider: () => Promise<ModelProvider>;
  readonly workspace: () => string;
  readonly budget?: Partial<StepBudget>;
  /** The context window and the tool-output budget (defaults from the model's name). */
  readonly context?: Partial<ContextBudget>;
  /**
   * Which registered tools the model is offered: every one the active role may use. The
   * intent never narrows this; the gate decides what runs. All of them when absent.
   */
  readonly offerable?: (definition: ToolDefinition) => boolean;
  /** Plan mode, for the system prompt (the gate enforces it). */
  readonly planMode?: () => boolean;
  /** The effort setting; 'default' sends none. */
  readonly effort?: () => EffortSetting;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 40)}\n[… ${text.length - max + 40} more characters]`;
}

class BudgetExceeded extends Error {}

/** A request that does not fit the model's window even with the older turns summarised. */
class ContextFull extends Error {}

export class Agent {
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  readonly #schemas = new WeakMap<ToolDefinition, Record<string, unknown>>();
  readonly #budget: StepBudget;
  readonly #context: ContextBudget;
  /** Per conversation: the input tokens the provider reported for the last request, and the last message seq it held. */
  readonly #reported = new Map<string, { inputTokens: number; seq: number }>();
  readonly #lastSeq = new Map<string, number>();

  constructor(private readonly options: AgentOptions) {
    this.#budget = { ...defaultBudget, ...options.budget };
    this.#context = { ...defaultContextBudget, ...options.context };
    options.stop.register('agent', async () => this.#abortAll());
  }

  /** Starts a turn and returns at once; events tell the rest. */
  send(text: string, conversationId?: string): { conversationId: string; messageId: string } {
    const { store, stop } = this.options;
    stop.assertRunning();
    if (conversationId !== undefined && !store.exists(conversationId)) {
      throw new SophiaError('bad_request', 'That conversation does not exist.');
    }
    if (conversationId !== undefined && this.#active.has(conversationId)) {
      throw new SophiaError('refused', 'Sophia is still answering in this conversation. Wait for it, or press Cancel.');
    }
    const id = conversationId ?? randomUUID();
    if (conversationId === undefined) {
      const summary = store.create(id, text.replace(/\s+/g, ' ').trim().slice(0, 80));
      this.options.events.publish({ type: 'conversation.updated', conversation: summary });
    }
    const messageId = randomUUID();
    const controller = new AbortController();
    const done = this.#run(id, text, messageId, controller.signal)
      .catch((error: unknown) => log.error('turn failed', { error }))
      .finally(() => this.#active.delete(id));
    this.#active.set(id, { controller, done });
    return { conversationId: id, messageId };
  }

  /** Resolves when the conversation's turn (if any) has ended. */
  async whenIdle(conversationId: string): Promise<void> {
    await this.#active.get(conversationId)?.done;
  }

  /** The model's plan (update_plan): shown as a checklist and kept with the conversation. */
  postPlan(conversationId: string, steps: readonly PlanStep[]): void {
    if (!this.options.store.exists(conversationId)) return;
    this.#emit(conversationId, { type: 'agent.plan', conversationId, steps: steps.map((step) => ({ text: step.text.slice(0, limits.label), status: step.status })) });
  }

  cancel(conversationId: string): boolean {
    const active = this.#active.get(conversationId);
    active?.controller.abort();
    return active !== undefined;
  }

  #abortAll() {
    return Promise.resolve(
      [...this.#active.keys()].map((conversationId) => {
        this.#active.get(conversationId)?.controller.abort();
        return { kind: 'model-stream' as const, id: conversationId.slice(0, 200), label: 'model reply', outcome: 'stopped' as const };
      }),
    );
  }

  /**
   * A message that names no intent of its own ("yes, apply it") carries on the one before
   * it in the conversation, so the follow-up gets the same prompt, tools and plan.
   */
  #intentOf(conversationId: string, text: string): Intent {
    const recognized = recognizeIntent(text);
    if (Object.keys(recognized.scores).length > 0) return recognized.intent;
    const events = this.options.store.events(conversationId);
    for (let i = events.length - 1; i >= 0; i -= 1) {
      const event = events[i];
      if (event?.type === 'agent.intent') return event.intent;
    }
    return recognized.intent;
  }

  #emit(conversationId: string, event: SophiaEvent): void {
    if (isKeptEvent(event)) this.options.store.appendEvent(conversationId, event);
    this.options.events.publish(event);
  }

  #notice(conversationId: string, text: string): void {
    this.#emit(conversationId, {
      type: 'chat.message',
      message: { id: randomUUID(), conversationId, role: 'system', text: clip(text, limits.notice), createdAt: Date.now() },
    });
  }

  #toolSpec(definition: ToolDefinition): ModelToolSpec {
    let schema = this.#schemas.get(definition);
    if (!schema) {
      schema = z.toJSONSchema(definition.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      delete schema['$schema'];
      this.#schemas.set(definition, schema);
    }
    return { name: definition.name, description: definition.description, inputSchema: schema };
  }

  async #run(conversationId: string, text: string, userMessageId: string, signal: AbortSignal): Promise<void> {
    const { store, registry, stop } = this.options;
    this.#emit(conversationId, {
      type: 'chat.message',
      message: { id: userMessageId, conversationId, role: 'user', text, createdAt: Date.now() },
    });
    const intent = this.#intentOf(conversationId, text);
    // The intent is a label; the plan shown is the model's own (update_plan), not fixed text.
    this.#emit(conversationId, { type: 'agent.intent', conversationId, intent, plan: [] });
    const userMessage: ModelMessage = { role: 'user', content: [{ type: 'text', text }] };
    store.appendMessage(conversationId, userMessage);

    let provider: ModelProvider;
    try {
      provider = await this.options.provider();
    } catch (error) {
      this.#notice(conversationId, error instanceof SophiaError ? error.message : 'The model could not be set up; the details are in the log.');
      if (!(error instanceof SophiaError)) log.error('provider setup failed', { error });
      return;
    }

    const spent = { modelTurns: 0, toolCalls: 0, tokens: 0 };
    // Tool-call ids shown in the chat are unique per conversation, whatever the provider sends.
    const usedCallIds = new Set(store.events(conversationId).flatMap((event) => (event.type === 'tool.call' ? [event.callId] : [])));
    const effortSetting = this.options.effort?.() ?? 'default';
    const effort = effortSetting === 'default' ? undefined : effortSetting;
    this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking' });
    try {
      for (;;) {
        if (spent.modelTurns >= this.#budget.modelTurns) throw new BudgetExceeded(`${this.#budget.modelTurns} model calls`);
        spent.modelTurns += 1;
        // Offered afresh on every call: an outside server may come or go, plan mode may switch.
        const offerable = this.options.offerable ?? (() => true);
        const definitions = registry.definitions().filter((definition) => offerable(definition));
        const offered = new Set(definitions.map((definition) => definition.name));
        const tools = definitions.map((definition) => this.#toolSpec(definition));
        const system = systemPrompt(intent, this.options.workspace(), { planMode: this.options.planMode?.() === true });
        const messages = await this.#contextFor(conversationId, provider, system, tools, signal, spent);
        const assistant = await this.#modelTurn(conversationId, provider, { system, messages, tools, ...(effort ? { effort } : {}) }, signal, spent);
        if (assistant.stopReason === 'refusal') {
          // The refused reply is not kept: the conversation continues from before it.
          this.#notice(conversationId, 'The model declined this request (it stopped with a refusal). Rephrase it, or ask for something else.');
          break;
        }
        if (assistant.stopReason === 'max_tokens') {
          // A reply cut off mid-call is kept without its calls: none of them runs half-written.
          const kept = assistant.content.filter((block) => block.type !== 'tool_use');
          if (kept.some((block) => block.type === 'text')) store.appendMessage(conversationId, { role: 'assistant', content: kept });
          this.#notice(conversationId, `The model's reply was cut off at its output limit (${this.#budget.maxTokensPerCall.toLocaleString('en')} tokens)${assistant.toolCalls.length ? ', so its tool calls did not run' : ''}. Send "continue" to let it go on.`);
          break;
        }
        store.appendMessage(conversationId, { role: 'assistant', content: assistant.content });
        if (assistant.stopReason === 'pause_turn') {
          // The API paused a long turn: sending the turn back as it is lets the model resume it.
          continue;
        }
        if (assistant.toolCalls.length === 0) break;
        const results: ModelContent[] = [];
        for (const call of assistant.toolCalls) {
          results.push(await this.#toolCall(conversationId, call, signal, spent, offered, usedCallIds));
        }
        store.appendMessage(conversationId, { role: 'user', content: results });
        if (signal.aborted || stop.locked) break;
        if (changesState(intent)) this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking' });
      }
    } catch (error) {
      if (error instanceof ContextFull) {
        this.#notice(conversationId, error.message);
      } else if (error instanceof BudgetExceeded) {
        this.#notice(conversationId, `Stopped this turn: it reached its step budget (${error.message}). Send "continue" to let it go on.`);
      } else if (error instanceof ModelError && error.failure === 'aborted') {
        this.#notice(conversationId, stop.locked ? 'Stopped by the emergency stop.' : 'Cancelled.');
      } else if (error instanceof ModelError) {
        this.#notice(conversationId, error.message);
      } else {
        log.error('agent turn failed', { error });
        this.#notice(conversationId, 'Something went wrong inside Sophia; the details are in the log.');
      }
    } finally {
      this.options.events.publish({ type: 'agent.status', conversationId, state: 'idle' });
    }
  }

  async #modelTurn(
    conversationId: string,
    provider: ModelProvider,
    request: { system: string; messages: ModelMessage[]; tools: ModelToolSpec[]; effort?: Effort },
    signal: AbortSignal,
    spent: { tokens: number },
  ): Promise<{ content: ModelContent[]; toolCalls: { id: string; name: string; input: unknown; error?: string }[]; stopReason: string }> {
    const messageId = randomUUID();
    let text = '';
    let stopReason = 'end_turn';
    let thought = '';
    // The model's progress notes: one quiet line per thinking block, kept with the conversation.
    const flushThought = (): void => {
      const note = thought.trim();
      thought = '';
      if (note) this.#emit(conversationId, { type: 'agent.thinking', conversationId, id: randomUUID(), text: clip(note, limits.messageText) });
    };
    const toolCalls: { id: string; name: string; input: unknown; error?: string }[] = [];
    const thinking: ModelContent[] = [];
    const flushText = (suffix = ''): void => {
      if (!text && !suffix) return;
      this.#emit(conversationId, {
        type: 'chat.message',
        message: { id: messageId, conversationId, role: 'assistant', text: clip(text + suffix, limits.messageText), createdAt: Date.now() },
      });
    };
    try {
      for await (const event of provider.stream({ ...request, maxTokens: this.#budget.maxTokensPerCall, signal })) {
        switch (event.type) {
          case 'text':
            text += event.delta;
            this.options.events.publish({ type: 'model.token', conversationId, messageId, delta: event.delta });
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
          case 'usage': {
            // What this request used, as the provider counted it (cache reads and writes are
            // part of the prompt): the next request's count starts from it.
            const prompt = event.inputTokens + (event.cacheReadTokens ?? 0) + (event.cacheWriteTokens ?? 0);
            this.#reported.set(conversationId, { inputTokens: prompt, seq: this.#lastSeq.get(conversationId) ?? 0 });
            this.#recordUsage(conversationId, provider, event, spent);
            break;
          }
          case 'done':
            stopReason = event.stopReason;
            break;
        }
      }
    } catch (error) {
      // Keep what was said before the failure: nothing the user saw is lost.
      flushThought();
      flushText(error instanceof ModelError && error.failure === 'aborted' ? '\n\n*(stopped)*' : '');
      throw error;
    }
    flushThought();
    flushText();
    // Thinking blocks go back first and unchanged: the API refuses a tool-use turn without them.
    const content: ModelContent[] = [...thinking];
    if (text) content.push({ type: 'text', text });
    for (const call of toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: call.input ?? {} });
    return { content, toolCalls, stopReason };
  }

  /** A call's usage (the summarising call's too), priced by the one table. */
  #recordUsage(conversationId: string, provider: ModelProvider, usage: TokenCounts, spent: { tokens: number }): void {
    const summary = this.options.store.addUsage(conversationId, callUsage(provider.id, provider.model, usage));
    this.#emit(conversationId, { type: 'agent.usage', conversationId, usage: summary.usage });
    this.options.events.publish({ type: 'conversation.updated', conversation: summary });
    spent.tokens += usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0) + usage.outputTokens;
    if (spent.tokens > this.#budget.tokens) throw new BudgetExceeded(`${this.#budget.tokens.toLocaleString('en')} tokens`);
  }

  /**
   * What a request will use: the provider's count for the last request plus an estimate of
   * what was added since, or the estimate of the whole when there is no count (or it is lower).
   */
  #estimate(conversationId: string, system: string, tools: readonly ModelToolSpec[], view: readonly { seq: number; message: ModelMessage }[]): number {
    const whole = estimateTokens({ system, tools, messages: view.map((row) => row.message) });
    const reported = this.#reported.get(conversationId);
    if (!reported || !view.some((row) => row.seq <= reported.seq)) return whole;
    const added = estimateTokens({ messages: view.filter((row) => row.seq > reported.seq).map((row) => row.message) });
    return Math.max(whole, reported.inputTokens + added);
  }

  /**
   * The messages for the next request. Near the window's limit the older turns are
   * summarised by a model call and the summary stands in for them (the store keeps them
   * all, and the chat is told); a request that still does not fit is not sent.
   */
  async #contextFor(
    conversationId: string,
    provider: ModelProvider,
    system: string,
    tools: readonly ModelToolSpec[],
    signal: AbortSignal,
    spent: { tokens: number },
  ): Promise<ModelMessage[]> {
    const { store } = this.options;
    const limit = this.#context.contextTokens ?? contextTokensOf(provider.id, provider.model);
    const room = limit * this.#context.compactAt - this.#budget.maxTokensPerCall;
    let view = modelView(store.storedMessages(conversationId), store.latestCompaction(conversationId));
    let used = this.#estimate(conversationId, system, tools, view);
    if (used > room) {
      const cut = compactionCut(view, limit * this.#context.keepShare);
      if (cut !== undefined) {
        await this.#compact(conversationId, provider, view, cut, { used, limit }, signal, spent);
        view = modelView(store.storedMessages(conversationId), store.latestCompaction(conversationId));
        used = this.#estimate(conversationId, system, tools, view);
      }
      if (used > limit - this.#budget.maxTokensPerCall) {
        throw new ContextFull(
          `This request needs about ${used.toLocaleString('en')} tokens, more than ${provider.model}'s window of ${limit.toLocaleString('en')} leaves room for, even with the earlier turns summarised. Nothing was sent. Ask for a smaller step, or start a new conversation.`,
        );
      }
    }
    this.#lastSeq.set(conversationId, view.at(-1)?.seq ?? 0);
    log.debug('context', { conversationId, estimatedTokens: used, limit });
    return view.map((row) => row.message);
  }

  async #compact(
    conversationId: string,
    provider: ModelProvider,
    view: readonly { seq: number; message: ModelMessage }[],
    cut: number,
    size: { used: number; limit: number },
    signal: AbortSignal,
    spent: { tokens: number },
  ): Promise<void> {
    const older = view.filter((row) => row.seq <= cut).map((row) => row.message);
    // The transcript itself must fit the window, with room for the summary.
    const text = transcript(older, Math.floor(size.limit * 0.6) * 4);
    this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking', detail: 'Summarising the earlier turns' });
    let summary = '';
    for await (const event of provider.stream({
      system: summarySystem,
      messages: [{ role: 'user', content: [{ type: 'text', text: `Summarise this conversation so far.\n\n${text}` }] }],
      tools: [],
      maxTokens: 2048,
      signal,
    })) {
      if (event.type === 'text') summary += event.delta;
      else if (event.type === 'usage') this.#recordUsage(conversationId, provider, event, spent);
    }
    summary = summary.trim();
    if (!summary) throw new ModelError('server-error', 'The model returned an empty summary of the earlier turns, so nothing was replaced. Try again, or start a new conversation.');
    this.options.store.addCompaction(conversationId, cut, summary);
    this.#reported.delete(conversationId);
    this.#notice(
      conversationId,
      `The conversation had grown to about ${size.used.toLocaleString('en')} of the ${size.limit.toLocaleString('en')} tokens ${provider.model} can take. ${older.length} earlier messages were summarised, and the summary now stands in for them when the model is asked; the full history is kept here.\n\nSummary: ${summary.slice(0, 1200)}${summary.length > 1200 ? ' …' : ''}`,
    );
  }

  async #toolCall(
    conversationId: string,
    call: { id: string; name: string; input: unknown; error?: string },
    signal: AbortSignal,
    spent: { toolCalls: number },
    offered: ReadonlySet<string>,
    usedCallIds: Set<string>,
  ): Promise<ModelContent> {
    const { registry, stop } = this.options;
    // The model's id goes back to it with the result; the chat's card gets an id no other
    // call of this conversation has (a provider may number calls afresh on every model call).
    const callId = /^[A-Za-z0-9_-]{1,64}$/.test(call.id) && !usedCallIds.has(call.id) ? call.id : `call_${randomUUID()}`;
    usedCallIds.add(callId);
    const definition = offered.has(call.name) ? registry.definitions([call.name])[0] : undefined;
    this.#emit(conversationId, {
      type: 'tool.call',
      conversationId,
      callId,
      tool: call.name.slice(0, limits.label),
      args: call.input ?? null,
      risk: definition?.risk ?? 'critical',
    });
    const finish = (ok: boolean, output: string): ModelContent => {
      // Over the budget the model gets the head and tail and a reference; over the chat's
      // limit the chat gets the head and tail and the length. Either way the whole output is
      // kept, before the chat hears of it, so "open full output" finds it at once.
      const forModel = outputForModel(output, this.#context.toolOutputChars, callId);
      const shown = toolOutputPreview(output);
      if (forModel.clipped || shown.fullChars !== undefined) this.options.store.saveToolOutput(conversationId, callId, call.name.slice(0, limits.label), output);
      this.#emit(conversationId, { type: 'tool.result', conversationId, callId, ok, ...shown });
      return { type: 'tool_result', toolUseId: call.id, toolName: call.name, content: forModel.text, isError: !ok };
    };
    if (signal.aborted || stop.locked) return finish(false, 'Refused: Sophia was stopped, so this call did not run.');
    if (!offered.has(call.name)) {
      // Only what was offered in this request may run: a name the model invents, or a tool
      // withheld from it (the role, plan mode), is refused before the registry sees it.
      log.warn('model called a tool it was not offered', { conversationId, tool: call.name.slice(0, 80) });
      return finish(false, `Refused: ${call.name.slice(0, 80)} was not offered to you in this request, so it did not run. Use only the tools you were given.`);
    }
    if (call.error) return finish(false, `Malformed tool call: ${call.error} Call ${call.name} again with valid JSON arguments.`);
    spent.toolCalls += 1;
    if (spent.toolCalls > this.#budget.toolCalls) {
      finish(false, 'Refused: the step budget for tool calls is spent.');
      throw new BudgetExceeded(`${this.#budget.toolCalls} tool calls`);
    }
    this.options.events.publish({ type: 'agent.status', conversationId, state: 'running-tool', detail: call.name.slice(0, 100) });
    let outcome: InvokeOutcome;
    try {
      outcome = await registry.invoke(call.name, call.input, { conversationId, callId, signal });
    } catch (error) {
      log.error('tool failed', { tool: call.name, error });
      return finish(false, `${call.name} failed inside Sophia; the details are in the log.`);
    }
    switch (outcome.kind) {
      case 'invalid-input':
        return finish(false, outcome.message);
      case 'denied':
        return finish(false, `Not approved (${outcome.decision.risk} risk, decided by ${outcome.decision.decidedBy}): ${outcome.decision.reasons.join('; ') || 'no reason given'}. Do not retry it unchanged; ask the person how to proceed.`);
      case 'executed':
        return finish(outcome.result.ok, outcome.result.output);
    }
  }
}
