/** The renderer's view of the main process, folded from contract events. */
import type { AppStatus, ChatMessage, SophiaEvent, StopReport } from '../../../shared/contract';
import { missingCase } from '../../../shared/errors';
import type { ConnectionState } from '../client/webSocketClient';

export interface SophiaState {
  connection: ConnectionState;
  status: AppStatus | undefined;
  conversationId: string | undefined;
  messages: ChatMessage[];
  lastStop: StopReport | undefined;
  error: string | undefined;
}

export const initialState: SophiaState = {
  connection: 'connecting',
  status: undefined,
  conversationId: undefined,
  messages: [],
  lastStop: undefined,
  error: undefined,
};

export type SophiaAction =
  | { type: 'event'; event: SophiaEvent }
  | { type: 'connection'; state: ConnectionState }
  | { type: 'conversation'; conversationId: string }
  | { type: 'error'; message: string | undefined };

export function reduce(state: SophiaState, action: SophiaAction): SophiaState {
  switch (action.type) {
    case 'connection':
      return { ...state, connection: action.state };
    case 'conversation':
      return { ...state, conversationId: action.conversationId };
    case 'error':
      return { ...state, error: action.message };
    case 'event':
      return reduceEvent(state, action.event);
    default:
      return missingCase(action);
  }
}

function reduceEvent(state: SophiaState, event: SophiaEvent): SophiaState {
  switch (event.type) {
    case 'chat.message': {
      const { message } = event;
      if (state.conversationId !== undefined && message.conversationId !== state.conversationId) return state;
      return { ...state, conversationId: message.conversationId, messages: [...state.messages, message] };
    }
    case 'stop':
      return {
        ...state,
        lastStop: event.report,
        status: state.status && { ...state.status, locked: true },
      };
    case 'status':
      return { ...state, status: event.status };
    // Shown by the panels that later issues add; the contract already carries them.
    case 'model.token':
    case 'tool.call':
    case 'tool.result':
    case 'approval.request':
    case 'container.output':
    case 'deployment.event':
      return state;
    default:
      return missingCase(event);
  }
}
