/**
 * Who asked for an approval or a proposal: the agent, in which conversation, or an outside
 * MCP client by the name it gave. The main process says which (`client` on the request);
 * the conversation's title is the renderer's own list.
 */
import type { ConversationSummary } from '../../../shared/contract';

export function requesterLabel(asked: { readonly conversationId: string; readonly client?: string | undefined }, conversations: readonly ConversationSummary[]): string {
  if (asked.client !== undefined) return `Asked by the MCP client “${asked.client || 'unknown'}”`;
  const title = conversations.find((conversation) => conversation.id === asked.conversationId)?.title;
  return title ? `Asked by the agent in “${title}”` : 'Asked by the agent';
}
