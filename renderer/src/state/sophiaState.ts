/** The renderer's view of the main process, folded from contract events. */
import type {
  AppStatus,
  ChatMessage,
  ConversationSummary,
  PlanStep,
  PullRequestView,
  RiskLevel,
  SandboxStatus,
  SophiaEvent,
  StopReport,
  Usage,
} from '../../../shared/contract';
import type { FindingsReport, ProposalView } from '../../../shared/code';
import { missingCase } from '../../../shared/errors';
import type { Intent } from '../../../shared/intents';
import { riskRank } from '../../../shared/risk';
import type { ConnectionState } from '../client/webSocketClient';
import { reduceDeployments, type Deployment } from './deployments';
import { reduceExecutions, type Execution } from './executionLog';

/** One entry of the chat, in the order it happened. */
export type ChatItem =
  | { readonly kind: 'message'; readonly id: string; readonly message: ChatMessage; readonly streaming: boolean }
  | { readonly kind: 'intent'; readonly id: string; readonly intent: Intent; readonly plan: readonly string[] }
  | {
      readonly kind: 'tool';
      readonly id: string;
      readonly tool: string;
      readonly args: unknown;
      readonly risk: RiskLevel;
      /** Only the head and tail of a long output (`fullChars` set): the main process keeps the whole text. */
      readonly result?: ToolResultView;
    }
  | { readonly kind: 'pull-request'; readonly id: string; readonly pullRequest: PullRequestView }
  /** The model's progress notes: a quiet line, collapsed. */
  | { readonly kind: 'thinking'; readonly id: string; readonly text: string }
  /** The model's plan: one checklist per conversation, updated in place. */
  | { readonly kind: 'plan'; readonly id: string; readonly steps: readonly PlanStep[] };

export interface ToolResultView {
  readonly ok: boolean;
  /** The whole output, or its head when `fullChars` is set. */
  readonly output: string;
  readonly tail?: string;
  readonly fullChars?: number;
}

export interface TokenDelta {
  readonly conversationId: string;
  readonly messageId: string;
  readonly delta: string;
}

export interface SophiaState {
  connection: ConnectionState;
  status: AppStatus | undefined;
  conversationId: string | undefined;
  items: readonly ChatItem[];
  usage: Usage | undefined;
  agentState: 'thinking' | 'running-tool' | 'idle';
  agentDetail: string | undefined;
  /** Text or a tool card arrived since the agent last said it was thinking: "Thinking…" goes. */
  answering: boolean;
  conversations: readonly ConversationSummary[];
  lastStop: StopReport | undefined;
  error: string | undefined;
  /** Proposed changes of this launch, oldest first; the diff view shows the newest. */
  proposals: readonly ProposalView[];
  /** Review findings, oldest first. */
  findings: readonly FindingsReport[];
  /** Commands run in task sandboxes, oldest first (bounded): the execution log. */
  executions: readonly Execution[];
  sandbox: SandboxStatus | undefined;
  /** Previews, updates and DDL runs, oldest first (bounded): the deployment monitor. */
  deployments: readonly Deployment[];
  /** Plan mode: the gate runs read-only calls only. */
  planMode: boolean;
}

export const initialState: SophiaState = {
  connection: 'connecting',
  status: undefined,
  conversationId: undefined,
  items: [],
  usage: undefined,
  agentState: 'idle',
  agentDetail: undefined,
  answering: false,
  conversations: [],
  lastStop: undefined,
  error: undefined,
  proposals: [],
  findings: [],
  executions: [],
  sandbox: undefined,
  deployments: [],
  planMode: false,
};

export type SophiaAction =
  | { type: 'event'; event: SophiaEvent }
  /** Token deltas gathered over one animation frame, applied in one render. */
  | { type: 'tokens'; deltas: readonly TokenDelta[] }
  | { type: 'connection'; state: ConnectionState }
  | { type: 'conversation'; conversationId: string }
  | { type: 'new-conversation' }
  | { type: 'conversations'; conversations: readonly ConversationSummary[] }
  /** A stored conversation: its kept events, folded from a clean slate. */
  | { type: 'open'; conversation: ConversationSummary; events: readonly SophiaEvent[] }
  | { type: 'error'; message: string | undefined }
  | { type: 'proposals'; proposals: readonly ProposalView[] };

export function reduce(state: SophiaState, action: SophiaAction): SophiaState {
  switch (action.type) {
    case 'connection':
      return { ...state, connection: action.state };
    case 'conversation':
      return { ...state, conversationId: action.conversationId };
    case 'new-conversation':
      return { ...state, conversationId: undefined, items: [], usage: undefined, agentState: 'idle', error: undefined };
    case 'conversations':
      return { ...state, conversations: action.conversations };
    case 'open': {
      const fresh: SophiaState = { ...state, conversationId: action.conversation.id, items: [], usage: action.conversation.usage, agentState: 'idle', error: undefined };
      return foldStored(fresh, action.events);
    }
    case 'error':
      return { ...state, error: action.message };
    case 'proposals':
      return action.proposals.reduce((next, proposal) => ({ ...next, proposals: upsertProposal(next.proposals, proposal) }), state);
    case 'tokens':
      return action.deltas.reduce(applyToken, state);
    case 'event':
      return reduceEvent(state, action.event);
    default:
      return missingCase(action);
  }
}

/** Events of other conversations do not touch the chat on screen. */
function belongs(state: SophiaState, conversationId: string): boolean {
  return state.conversationId === undefined || state.conversationId === conversationId;
}

function upsert(items: readonly ChatItem[], item: ChatItem): readonly ChatItem[] {
  // The item being updated is almost always among the last few: search from the end.
  for (let i = items.length - 1; i >= 0; i -= 1) {
    const existing = items[i];
    if (existing && existing.id === item.id && existing.kind === item.kind) {
      const next = items.slice();
      next[i] = item;
      return next;
    }
  }
  return [...items, item];
}

function applyToken(state: SophiaState, token: TokenDelta): SophiaState {
  if (!belongs(state, token.conversationId)) return state;
  const last = state.items[state.items.length - 1];
  const current = last && last.kind === 'message' && last.id === token.messageId ? last : state.items.find((item) => item.kind === 'message' && item.id === token.messageId);
  const text = (current && current.kind === 'message' ? current.message.text : '') + token.delta;
  const message: ChatMessage = { id: token.messageId, conversationId: token.conversationId, role: 'assistant', text, createdAt: Date.now() };
  return {
    ...state,
    conversationId: token.conversationId,
    answering: true,
    items: upsert(state.items, { kind: 'message', id: token.messageId, message, streaming: true }),
  };
}

function upsertProposal(list: readonly ProposalView[], proposal: ProposalView): readonly ProposalView[] {
  const index = list.findIndex((item) => item.proposalId === proposal.proposalId);
  if (index < 0) return [...list, proposal].slice(-50);
  const next = list.slice();
  next[index] = proposal;
  return next;
}

function upsertConversation(list: readonly ConversationSummary[], conversation: ConversationSummary): readonly ConversationSummary[] {
  return [conversation, ...list.filter((c) => c.id !== conversation.id)].sort((a, b) => b.updatedAt - a.updatedAt);
}

/**
 * A stored conversation's events folded in one pass: the same result as folding them one by
 * one with reduceEvent (a test holds the two together), without copying the item list for
 * each event, which made opening a conversation of thousands of items quadratic.
 */
function foldStored(fresh: SophiaState, events: readonly SophiaEvent[]): SophiaState {
  const conversationId = fresh.conversationId ?? '';
  const items: ChatItem[] = [];
  const index = new Map<string, number>();
  const put = (item: ChatItem): void => {
    const key = `${item.kind}:${item.id}`;
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, items.length);
      items.push(item);
    } else items[at] = item;
  };
  let state = fresh;
  for (const event of events) {
    switch (event.type) {
      case 'chat.message':
        if (event.message.conversationId === conversationId) put({ kind: 'message', id: event.message.id, message: event.message, streaming: false });
        break;
      case 'agent.intent':
        if (event.conversationId === conversationId) put({ kind: 'intent', id: `intent-${items.length}`, intent: event.intent, plan: event.plan });
        break;
      case 'tool.call':
        if (event.conversationId === conversationId) put({ kind: 'tool', id: event.callId, tool: event.tool, args: event.args, risk: event.risk });
        break;
      case 'tool.result': {
        const at = event.conversationId === conversationId ? index.get(`tool:${event.callId}`) : undefined;
        const call = at === undefined ? undefined : items[at];
        if (call && call.kind === 'tool') put({ ...call, result: resultOf(event) });
        break;
      }
      case 'agent.thinking':
        if (event.conversationId === conversationId) put({ kind: 'thinking', id: event.id, text: event.text });
        break;
      case 'agent.plan':
        if (event.conversationId === conversationId) put({ kind: 'plan', id: 'plan', steps: event.steps });
        break;
      default:
        // Not an item of the chat (usage, and anything a store may keep later): folded as it comes.
        state = reduceEvent({ ...state, items }, event);
        if (state.items !== items) {
          // An event that changed the items the general way: go on from its list.
          items.splice(0, items.length, ...state.items);
          index.clear();
          items.forEach((item, i) => index.set(`${item.kind}:${item.id}`, i));
        }
    }
  }
  return { ...state, items };
}

function resultOf(event: Extract<SophiaEvent, { type: 'tool.result' }>): ToolResultView {
  return { ok: event.ok, output: event.output, ...(event.fullChars === undefined ? {} : { tail: event.tail ?? '', fullChars: event.fullChars }) };
}

function reduceEvent(state: SophiaState, event: SophiaEvent): SophiaState {
  switch (event.type) {
    case 'chat.message': {
      const { message } = event;
      if (!belongs(state, message.conversationId)) return state;
      return { ...state, conversationId: message.conversationId, items: upsert(state.items, { kind: 'message', id: message.id, message, streaming: false }) };
    }
    case 'model.token':
      return applyToken(state, event);
    case 'agent.intent':
      if (!belongs(state, event.conversationId)) return state;
      return { ...state, conversationId: event.conversationId, items: [...state.items, { kind: 'intent', id: `intent-${state.items.length}`, intent: event.intent, plan: event.plan }] };
    case 'tool.call':
      if (!belongs(state, event.conversationId)) return state;
      return { ...state, answering: true, items: upsert(state.items, { kind: 'tool', id: event.callId, tool: event.tool, args: event.args, risk: event.risk }) };
    case 'tool.result': {
      if (!belongs(state, event.conversationId)) return state;
      const call = state.items.find((item) => item.kind === 'tool' && item.id === event.callId);
      if (!call || call.kind !== 'tool') return state;
      return { ...state, items: upsert(state.items, { ...call, result: resultOf(event) }) };
    }
    case 'agent.status':
      if (state.conversationId !== event.conversationId) return state;
      return { ...state, agentState: event.state, agentDetail: event.detail, answering: false };
    case 'agent.usage':
      if (!belongs(state, event.conversationId)) return state;
      return { ...state, usage: event.usage };
    case 'agent.thinking':
      if (!belongs(state, event.conversationId)) return state;
      return { ...state, conversationId: event.conversationId, items: upsert(state.items, { kind: 'thinking', id: event.id, text: event.text }) };
    case 'agent.plan':
      if (!belongs(state, event.conversationId)) return state;
      return { ...state, conversationId: event.conversationId, items: upsert(state.items, { kind: 'plan', id: 'plan', steps: event.steps }) };
    case 'agent.planMode':
      return { ...state, planMode: event.on };
    case 'conversation.updated':
      return { ...state, conversations: upsertConversation(state.conversations, event.conversation) };
    case 'conversation.deleted': {
      const conversations = state.conversations.filter((conversation) => conversation.id !== event.conversationId);
      if (state.conversationId !== event.conversationId) return { ...state, conversations };
      return { ...state, conversations, conversationId: undefined, items: [], usage: undefined, agentState: 'idle', error: undefined };
    }
    case 'stop':
      return { ...state, lastStop: event.report, status: state.status && { ...state.status, locked: true } };
    case 'status':
      return { ...state, status: event.status };
    case 'proposal':
      return { ...state, proposals: upsertProposal(state.proposals, event.proposal) };
    case 'findings':
      return { ...state, findings: [...state.findings, event.report].slice(-50) };
    case 'git.pullRequest':
      if (!belongs(state, event.conversationId)) return state;
      return { ...state, items: upsert(state.items, { kind: 'pull-request', id: `pr-${event.pullRequest.number}`, pullRequest: event.pullRequest }) };
    // The git panel asks for the checkpoint list when it sees one made.
    case 'checkpoint.created':
      return state;
    case 'container.started':
    case 'container.output':
    case 'container.ended':
      return { ...state, executions: reduceExecutions(state.executions, event) };
    case 'sandbox.status':
      return { ...state, sandbox: event.status };
    // The card shows the risk the gate assessed (an inspector may raise the declared one, e.g.
    // run_command with egress is high): the call's chip in the chat shows the same.
    case 'approval.request': {
      if (event.client !== undefined || !belongs(state, event.conversationId)) return state;
      const call = state.items.find((item) => item.kind === 'tool' && item.id === event.callId);
      if (!call || call.kind !== 'tool' || riskRank(event.risk) <= riskRank(call.risk)) return state;
      return { ...state, items: upsert(state.items, { ...call, risk: event.risk }) };
    }
    // Shown by the panels of the safety work; the chat itself does not change.
    case 'approval.resolved':
    case 'safety.status':
      return state;
    case 'deployment.event':
    case 'deployment.plan':
    case 'deployment.resource':
    case 'deployment.outputs':
      return { ...state, deployments: reduceDeployments(state.deployments, event) };
    default:
      return missingCase(event);
  }
}
