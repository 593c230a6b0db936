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
      return action.events.reduce(reduceEvent, fresh);
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
      return { ...state, items: upsert(state.items, { kind: 'tool', id: event.callId, tool: event.tool, args: event.args, risk: event.risk }) };
    case 'tool.result': {
      if (!belongs(state, event.conversationId)) return state;
      const call = state.items.find((item) => item.kind === 'tool' && item.id === event.callId);
      if (!call || call.kind !== 'tool') return state;
      const result: ToolResultView = { ok: event.ok, output: event.output, ...(event.fullChars === undefined ? {} : { tail: event.tail ?? '', fullChars: event.fullChars }) };
      return { ...state, items: upsert(state.items, { ...call, result }) };
    }
    case 'agent.status':
      if (state.conversationId !== event.conversationId) return state;
      return { ...state, agentState: event.state, agentDetail: event.detail };
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
    // Shown by the panels of the safety work; the chat itself does not change.
    case 'approval.request':
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
