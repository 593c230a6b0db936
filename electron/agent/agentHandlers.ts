/** The request channels of the chat and the stored conversations. */
import type { Handlers } from '../../shared/handlers';
import type { Agent } from './agent';
import type { ConversationStore } from './conversationStore';

export function agentHandlers(
  agent: Agent,
  store: ConversationStore,
  options: { readonly redact: (text: string) => string },
): Pick<Handlers, 'chat.send' | 'chat.cancel' | 'conversation.list' | 'conversation.open'> {
  return {
    // A credential pasted into the chat goes no further: not to the model, not to the store.
    'chat.send': (input) => agent.send(options.redact(input.text), input.conversationId),
    'chat.cancel': (input) => ({ cancelled: agent.cancel(input.conversationId) }),
    'conversation.list': () => ({ conversations: store.list() }),
    'conversation.open': (input) => ({ conversation: store.get(input.conversationId), events: store.events(input.conversationId) }),
  };
}
