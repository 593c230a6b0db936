/** The request channels of the chat and the stored conversations. */
import type { SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { Handlers } from '../../shared/handlers';
import type { AuditLog } from '../audit/auditLog';
import type { Agent } from './agent';
import type { ConversationStore } from './conversationStore';

export interface AgentHandlerOptions {
  readonly redact: (text: string) => string;
  readonly audit: Pick<AuditLog, 'record'>;
  readonly publish: (event: SophiaEvent) => void;
}

export function agentHandlers(
  agent: Agent,
  store: ConversationStore,
  options: AgentHandlerOptions,
): Pick<Handlers, 'chat.send' | 'chat.cancel' | 'chat.retry' | 'conversation.list' | 'conversation.open' | 'conversation.toolOutput' | 'conversation.rename' | 'conversation.delete'> {
  return {
    // A credential pasted into the chat goes no further: not to the model, not to the store.
    'chat.send': (input) => agent.send(options.redact(input.text), input.conversationId),
    'chat.cancel': (input) => ({ cancelled: agent.cancel(input.conversationId) }),
    'chat.retry': (input) => agent.retry(input.conversationId),
    'conversation.list': () => ({ conversations: store.list() }),
    'conversation.open': (input) => ({ conversation: store.get(input.conversationId), events: store.events(input.conversationId) }),
    'conversation.toolOutput': (input) => {
      const page = store.toolOutputPage(input.conversationId, input.callId, input.offset);
      if (!page) throw new SophiaError('bad_request', 'That tool output is not kept in this conversation.');
      // Kept already redacted; a secret stored since is cut from it too.
      return { ...page, text: options.redact(page.text) };
    },
    'conversation.rename': (input) => {
      const conversation = store.rename(input.conversationId, options.redact(input.title));
      options.publish({ type: 'conversation.updated', conversation });
      return { conversation };
    },
    'conversation.delete': (input) => {
      if (agent.busy(input.conversationId)) throw new SophiaError('refused', 'Sophia is still answering in this conversation. Press Cancel first, then delete it.');
      const gone = store.delete(input.conversationId);
      options.audit.record({
        kind: 'conversation',
        actor: 'user',
        conversationId: input.conversationId,
        summary: `Conversation "${gone.title}" deleted: ${gone.events} chat events, ${gone.messages} model messages, ${gone.toolOutputs} kept tool outputs`,
        data: { conversationId: input.conversationId, ...gone },
      });
      options.publish({ type: 'conversation.deleted', conversationId: input.conversationId });
      return { deleted: true as const };
    },
  };
}
