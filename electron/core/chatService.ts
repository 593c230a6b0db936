import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { EventHub } from './eventHub';
import type { StopController } from './stopController';

/**
 * Conversations held in memory. The agent core replaces the reply below with the model's
 * and persists conversations in SQLite; until then the chat says plainly that no model is
 * connected rather than pretending to answer.
 */
export class ChatService {
  readonly #conversations = new Map<string, ChatMessage[]>();

  constructor(
    private readonly events: EventHub,
    private readonly stop: StopController,
  ) {}

  send(text: string, conversationId?: string): { conversationId: string; messageId: string } {
    this.stop.assertRunning();
    const conversation = conversationId ?? randomUUID();
    if (conversationId !== undefined && !this.#conversations.has(conversationId)) {
      throw new SophiaError('bad_request', 'That conversation does not exist.');
    }
    const message = this.#append(conversation, 'user', text);
    this.#append(
      conversation,
      'system',
      'No model is connected yet, so nothing will answer. Model providers (Anthropic, or Ollama offline) arrive with the agent core.',
    );
    return { conversationId: conversation, messageId: message.id };
  }

  history(conversationId: string): ChatMessage[] {
    const messages = this.#conversations.get(conversationId);
    if (!messages) throw new SophiaError('bad_request', 'That conversation does not exist.');
    return [...messages];
  }

  #append(conversationId: string, role: ChatMessage['role'], text: string): ChatMessage {
    const message: ChatMessage = { id: randomUUID(), conversationId, role, text, createdAt: Date.now() };
    const messages = this.#conversations.get(conversationId) ?? [];
    messages.push(message);
    this.#conversations.set(conversationId, messages);
    this.events.publish({ type: 'chat.message', message });
    return message;
  }
}
