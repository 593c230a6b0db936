/**
 * The agent loop: user message -> model -> tool calls -> gate -> execution -> results back
 * to the model, until the model answers or a budget ends it. Every step is a contract
 * event; the ones the chat keeps are stored with the conversation. The loop knows tools
 * only through the registry, and a tool runs only if the registry's gate allows it.
 */
import { randomUUID } from 'node:crypto';
import { limits, type EffortSetting, type NoticeKind, type PlanStep, type SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { toolOutputLimits, toolOutputPreview } from '../../shared/toolOutput';
import { changesState, recognizeIntent, type Intent } from '../../shared/intents';
import type { EventHub } from '../core/eventHub';
import type { Telemetry } from '../telemetry/telemetry';
import type { StopController } from '../core/stopController';
import { createLogger } from '../log';
import { ModelError, type ModelFailure, type ModelMessage, type ModelProvider, type ModelToolSpec } from '../models/modelProvider';
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
import { isKeptEvent, type ConversationStore } from './conversationStore';
import { systemPrompt } from './prompts';
import { BudgetExceeded, clip, defaultBudget, runModelTurn, type CallHooks, type StepBudget, type TurnContext } from './modelTurn';
import type { ToolDefinition, ToolRegistry } from './tools';

const log = createLogger('agent');

export { defaultBudget, type StepBudget } from './modelTurn';

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
  /** The UserPromptSubmit, PostToolUse and Stop hooks (electron/hooks/); none configured runs none. */
  readonly hooks?: TurnHooks;
  /** The system prompt's memory block for this request (project notes, learned memory); none when absent. */
  readonly memory?: (request: string) => Promise<string>;
  /** OpenTelemetry: each turn is an `invoke_agent` span (nothing when telemetry is off). */
  readonly telemetry?: Pick<Telemetry, 'turn'>;
}

/**
 * The hooks around a turn, as the agent uses them. Each resolves (never throws); a hook that
 * failed is already a block in what they return.
 */
export interface TurnHooks {
  /** Before the model sees the prompt: a block stops it, with the reason; context is added to it. */
  userPromptSubmit(conversationId: string, prompt: string, signal: AbortSignal): Promise<{ readonly block?: string; readonly context: readonly string[] }>;
  /** After a call ran: a block goes back to the model with the result, marked failed; context is added. */
  postToolUse(
    conversationId: string,
    call: { readonly callId: string; readonly tool: string; readonly input: unknown },
    result: { readonly ok: boolean; readonly output: string },
    signal: AbortSignal,
  ): Promise<{ readonly block?: string; readonly context: readonly string[] }>;
  /** The model answered: continueWith keeps it working with that reason; problem is shown. */
  stop(conversationId: string, stopHookActive: boolean, signal: AbortSignal): Promise<{ readonly continueWith?: string; readonly problem?: string }>;
}

/** A Stop hook may keep the agent working this many times per message, so two hooks cannot loop it forever. */
export const maxStopHookContinuations = 3;

/** The notice kind of a model failure: what the chat offers to fix it. */
function noticeOf(failure: ModelFailure): NoticeKind | undefined {
  switch (failure) {
    case 'no-key':
    case 'bad-key':
      return 'credentials';
    case 'model-missing':
    case 'bad-request':
      return 'model-settings';
    case 'unreachable':
    case 'rate-limited':
    case 'overloaded':
    case 'server-error':
      return 'model-unreachable';
    case 'aborted':
      return undefined;
  }
}

/** A tool that needs Docker failed because Docker is not there (the sandbox says so in its error's data). */
function needsDocker(error: unknown): boolean {
  return error instanceof SophiaError && error.code === 'unavailable' && (error.data as { service?: unknown } | undefined)?.service === 'docker';
}

/** A request that does not fit the model's window even with the older turns summarised. */
class ContextFull extends Error {}

export class Agent {
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
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

  /**
   * Asks the model again after a turn that failed (the model unreachable, a missing key),
   * from the stored messages: no new user message. Refused when the last turn has an answer.
   */
  retry(conversationId: string): { conversationId: string } {
    const { store, stop } = this.options;
    stop.assertRunning();
    if (!store.exists(conversationId)) throw new SophiaError('bad_request', 'That conversation does not exist.');
    if (this.#active.has(conversationId)) throw new SophiaError('refused', 'Sophia is still answering in this conversation. Wait for it, or press Cancel.');
    const messages = store.messages(conversationId);
    if (messages.at(-1)?.role !== 'user') throw new SophiaError('refused', 'There is nothing to retry: the last message has its answer. Send a new message instead.');
    const lastText = messages.findLast((message) => message.role === 'user' && message.content.some((block) => block.type === 'text'));
    const text = lastText?.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n') ?? '';
    const controller = new AbortController();
    const done = this.#run(conversationId, text, randomUUID(), controller.signal, true)
      .catch((error: unknown) => log.error('turn failed', { error }))
      .finally(() => this.#active.delete(conversationId));
    this.#active.set(conversationId, { controller, done });
    return { conversationId };
  }

  /** Whether a turn is running in the conversation. */
  busy(conversationId: string): boolean {
    return this.#active.has(conversationId);
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

  #notice(conversationId: string, text: string, notice?: NoticeKind): void {
    this.#emit(conversationId, {
      type: 'chat.message',
      message: { id: randomUUID(), conversationId, role: 'system', text: clip(text, limits.notice), createdAt: Date.now(), ...(notice ? { notice } : {}) },
    });
  }

  /** Memory is context, not a condition of the turn: when it cannot be read, the turn goes on without it. */
  async #memoryBlock(request: string): Promise<string | undefined> {
    try {
      return await this.options.memory?.(request);
    } catch (error) {
      log.error('the memory block could not be built; the turn goes on without it', { error });
      return undefined;
    }
  }

  #run(conversationId: string, text: string, userMessageId: string, signal: AbortSignal, retry = false): Promise<void> {
    const turn = () => this.#turn(conversationId, text, userMessageId, signal, retry);
    return this.options.telemetry ? this.options.telemetry.turn({ conversationId, userText: text }, turn) : turn();
  }

  async #turn(conversationId: string, text: string, userMessageId: string, signal: AbortSignal, retry = false): Promise<void> {
    const { store, registry, stop } = this.options;
    const intent = this.#intentOf(conversationId, text);
    const { hooks } = this.options;
    // A retry asks again from the stored messages: the user's message is already there (and passed its hooks).
    if (!retry) {
      let context: readonly string[] = [];
      if (hooks) {
        this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking', detail: 'Running your prompt hooks' });
        const verdict = await hooks.userPromptSubmit(conversationId, text, signal);
        if (verdict.block !== undefined) {
          // The model never sees a blocked prompt; the person sees why.
          this.#notice(conversationId, `Your message was not sent to the model: a UserPromptSubmit hook blocked it. ${verdict.block}`);
          store.flush();
          this.options.events.publish({ type: 'agent.status', conversationId, state: 'idle' });
          return;
        }
        context = verdict.context;
      }
      this.#emit(conversationId, {
        type: 'chat.message',
        message: { id: userMessageId, conversationId, role: 'user', text, createdAt: Date.now() },
      });
      // The intent is a label; the plan shown is the model's own (update_plan), not fixed text.
      this.#emit(conversationId, { type: 'agent.intent', conversationId, intent, plan: [] });
      const userMessage: ModelMessage = {
        role: 'user',
        content: [{ type: 'text', text }, ...context.map((added) => ({ type: 'text' as const, text: `Context added by a UserPromptSubmit hook:\n${added}` }))],
      };
      store.appendMessage(conversationId, userMessage);
    }

    let provider: ModelProvider;
    try {
      provider = await this.options.provider();
    } catch (error) {
      this.#notice(
        conversationId,
        error instanceof SophiaError ? error.message : 'The model could not be set up; the details are in the log.',
        error instanceof ModelError ? noticeOf(error.failure) : 'model-settings',
      );
      if (!(error instanceof SophiaError)) log.error('provider setup failed', { error });
      return;
    }

    // Tool-call ids shown in the chat are unique per conversation, whatever the provider sends.
    const usedCallIds = new Set(store.events(conversationId).flatMap((event) => (event.type === 'tool.call' ? [event.callId] : [])));
    const effortSetting = this.options.effort?.() ?? 'default';
    const effort = effortSetting === 'default' ? undefined : effortSetting;
    const offerable = this.options.offerable ?? (() => true);
    this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking' });
    // One budget for the whole message, Stop-hook continuations included.
    const spent = { modelTurns: 0, toolCalls: 0, tokens: 0 };
    // The memory block is built once a turn (notes read, entries ranked against the request): the
    // turn's requests keep one system prompt, so the provider's prompt cache holds across them.
    let memory: Promise<string | undefined> | undefined;
    let continuations = 0;
    try {
      for (;;) {
        const end = await runModelTurn({
          provider,
          spent,
          registry,
          conversationId,
          signal,
          budget: this.#budget,
          usedCallIds,
          stopped: () => stop.locked,
          onToolError: (call, error) => {
            if (!needsDocker(error)) return undefined;
            // The model hears why; the person gets a notice that can check Docker again.
            this.#notice(conversationId, `${call.name.slice(0, 80)} needs Docker: ${(error as SophiaError).message}`, 'docker');
            return `${call.name} could not run: ${(error as SophiaError).message}`;
          },
          offer: () => ({ definitions: registry.definitions().filter((definition) => offerable(definition)) }),
          request: async (tools, turn) => {
            memory ??= this.#memoryBlock(text);
            const system = systemPrompt(intent, this.options.workspace(), { planMode: this.options.planMode?.() === true, memory: await memory });
            const messages = await this.#contextFor(conversationId, provider, system, tools, turn);
            return { system, messages, ...(effort ? { effort } : {}) };
          },
          keep: (message) => store.appendMessage(conversationId, message),
          call: () => this.#callHooks(conversationId),
          onUsage: (usage, counts, aside) => {
            if (!aside) {
              // What this request used, as the provider counted it (cache reads and writes are
              // part of the prompt): the next request's count starts from it.
              const prompt = counts.inputTokens + (counts.cacheReadTokens ?? 0) + (counts.cacheWriteTokens ?? 0);
              this.#reported.set(conversationId, { inputTokens: prompt, seq: this.#lastSeq.get(conversationId) ?? 0 });
            }
            const summary = store.addUsage(conversationId, usage);
            this.#emit(conversationId, { type: 'agent.usage', conversationId, usage: summary.usage });
            this.options.events.publish({ type: 'conversation.updated', conversation: summary });
          },
          forModel: (output, call) => {
            // Over the budget the model gets the head and tail and a reference; the whole output is kept.
            const forModel = outputForModel(output, this.#context.toolOutputChars, call.callId);
            // Over the model's budget the model gets the head and tail and a reference; over the
            // chat's limit the chat gets the head and tail and the length. Either way the whole
            // output is kept, before the chat hears of it, so "open full output" finds it at once.
            if (forModel.clipped || output.length > toolOutputLimits.shownChars) store.saveToolOutput(conversationId, call.callId, call.name.slice(0, limits.label), output);
            return forModel.text;
          },
          onToolCall: (call, callId, definition) =>
            this.#emit(conversationId, {
              type: 'tool.call',
              conversationId,
              callId,
              tool: call.name.slice(0, limits.label),
              args: call.input ?? null,
              risk: definition?.risk ?? 'critical',
            }),
          onToolStart: (call) => this.options.events.publish({ type: 'agent.status', conversationId, state: 'running-tool', detail: call.name.slice(0, 100) }),
          onToolResult: (callId, ok, output) => this.#emit(conversationId, { type: 'tool.result', conversationId, callId, ok, ...toolOutputPreview(output) }),
          onToolsDone: () => {
            if (changesState(intent)) this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking' });
          },
          ...(hooks ? { afterTool: (call, result) => this.#afterTool(hooks, conversationId, call, result, signal) } : {}),
        });
        if (end.kind === 'answered' && hooks && !signal.aborted && !stop.locked) {
          const verdict = await hooks.stop(conversationId, continuations > 0, signal);
          if (verdict.problem !== undefined) this.#notice(conversationId, verdict.problem);
          if (verdict.continueWith !== undefined && !signal.aborted && !stop.locked) {
            if (continuations >= maxStopHookContinuations) {
              this.#notice(conversationId, `A Stop hook asked Sophia to keep going again; after ${maxStopHookContinuations} times for one message it is not followed. ${verdict.continueWith}`);
            } else {
              continuations += 1;
              this.#notice(conversationId, `A Stop hook kept Sophia working: ${verdict.continueWith}`);
              store.appendMessage(conversationId, { role: 'user', content: [{ type: 'text', text: `A Stop hook did not let you stop yet. Its reason:\n${verdict.continueWith}` }] });
              this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking' });
              continue;
            }
          }
        }
        if (end.kind === 'refusal') {
          this.#notice(conversationId, 'The model declined this request (it stopped with a refusal). Rephrase it, or ask for something else.');
        } else if (end.kind === 'max_tokens') {
          this.#notice(conversationId, `The model's reply was cut off at its output limit (${this.#budget.maxTokensPerCall.toLocaleString('en')} tokens)${end.droppedCalls ? ', so its tool calls did not run' : ''}. Send "continue" to let it go on.`);
        }
        break;
      }
    } catch (error) {
      if (error instanceof ContextFull) {
        this.#notice(conversationId, error.message);
      } else if (error instanceof BudgetExceeded) {
        this.#notice(conversationId, `Stopped this turn: it reached its step budget (${error.message}). Send "continue" to let it go on.`);
      } else if (error instanceof ModelError && error.failure === 'aborted') {
        this.#notice(conversationId, stop.locked ? 'Stopped by the emergency stop.' : 'Cancelled.');
      } else if (error instanceof ModelError) {
        this.#notice(conversationId, error.message, noticeOf(error.failure));
      } else {
        log.error('agent turn failed', { error });
        this.#notice(conversationId, 'Something went wrong inside Sophia; the details are in the log.');
      }
    } finally {
      // The turn's writes are in the store before anyone is told it ended.
      store.flush();
      this.options.events.publish({ type: 'agent.status', conversationId, state: 'idle' });
    }
  }

  /** The PostToolUse hooks over a result: a block marks it failed and tells the model why. */
  async #afterTool(
    hooks: TurnHooks,
    conversationId: string,
    call: { readonly callId: string; readonly name: string; readonly input: unknown },
    result: { readonly ok: boolean; readonly output: string },
    signal: AbortSignal,
  ): Promise<{ ok: boolean; output: string }> {
    const verdict = await hooks.postToolUse(conversationId, { callId: call.callId, tool: call.name, input: call.input }, result, signal);
    const added = verdict.context.map((text) => `\n\nContext added by a PostToolUse hook:\n${text}`).join('');
    if (verdict.block === undefined) return { ok: result.ok, output: result.output + added };
    return { ok: false, output: `${result.output}${added}\n\nA PostToolUse hook objected to this result: ${verdict.block}` };
  }

  /** One model call as the chat sees it: its tokens as they stream, its progress notes, the answer kept. */
  #callHooks(conversationId: string): CallHooks {
    const messageId = randomUUID();
    return {
      onText: (delta) => this.options.events.publish({ type: 'model.token', conversationId, messageId, delta }),
      // The model's progress notes: one quiet line per thinking block, kept with the conversation.
      onThought: (note) => this.#emit(conversationId, { type: 'agent.thinking', conversationId, id: randomUUID(), text: clip(note, limits.messageText) }),
      onAnswer: (text, error) => {
        const suffix = error instanceof ModelError && error.failure === 'aborted' ? '\n\n*(stopped)*' : '';
        if (!text && !suffix) return;
        this.#emit(conversationId, {
          type: 'chat.message',
          message: { id: messageId, conversationId, role: 'assistant', text: clip(text + suffix, limits.messageText), createdAt: Date.now() },
        });
      },
    };
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
  async #contextFor(conversationId: string, provider: ModelProvider, system: string, tools: readonly ModelToolSpec[], turn: TurnContext): Promise<ModelMessage[]> {
    const { store } = this.options;
    const limit = this.#context.contextTokens ?? contextTokensOf(provider.id, provider.model);
    const room = limit * this.#context.compactAt - this.#budget.maxTokensPerCall;
    let view = modelView(store.storedMessages(conversationId), store.latestCompaction(conversationId));
    let used = this.#estimate(conversationId, system, tools, view);
    if (used > room) {
      const cut = compactionCut(view, limit * this.#context.keepShare);
      if (cut !== undefined) {
        await this.#compact(conversationId, provider, view, cut, { used, limit }, turn);
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
    turn: TurnContext,
  ): Promise<void> {
    const older = view.filter((row) => row.seq <= cut).map((row) => row.message);
    // The transcript itself must fit the window, with room for the summary.
    const text = transcript(older, Math.floor(size.limit * 0.6) * 4);
    this.options.events.publish({ type: 'agent.status', conversationId, state: 'thinking', detail: 'Summarising the earlier turns' });
    const answer = await turn.aside({
      system: summarySystem,
      messages: [{ role: 'user', content: [{ type: 'text', text: `Summarise this conversation so far.\n\n${text}` }] }],
      tools: [],
      maxTokens: 2048,
    });
    const summary = answer.text.trim();
    if (!summary) throw new ModelError('server-error', 'The model returned an empty summary of the earlier turns, so nothing was replaced. Try again, or start a new conversation.');
    this.options.store.addCompaction(conversationId, cut, summary);
    this.#reported.delete(conversationId);
    this.#notice(
      conversationId,
      `The conversation had grown to about ${size.used.toLocaleString('en')} of the ${size.limit.toLocaleString('en')} tokens ${provider.model} can take. ${older.length} earlier messages were summarised, and the summary now stands in for them when the model is asked; the full history is kept here.\n\nSummary: ${summary.slice(0, 1200)}${summary.length > 1200 ? ' …' : ''}`,
    );
  }
}
