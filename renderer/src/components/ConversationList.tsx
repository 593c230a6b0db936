import type { ConversationSummary } from '../../../shared/contract';

export function ConversationList(props: {
  conversations: readonly ConversationSummary[];
  activeId: string | undefined;
  onOpen: (id: string) => void;
  onNew: () => void;
}) {
  const { conversations, activeId, onOpen, onNew } = props;
  return (
    <nav className="sidebar" aria-label="Conversations" data-testid="conversation-list">
      <button type="button" className="new-chat" onClick={onNew}>
        + New chat
      </button>
      <ul>
        {conversations.map((conversation) => (
          <li key={conversation.id}>
            <button
              type="button"
              className={`conversation${conversation.id === activeId ? ' conversation-active' : ''}`}
              onClick={() => onOpen(conversation.id)}
              title={conversation.title}
            >
              <span className="conversation-title">{conversation.title || 'Untitled'}</span>
              <span className="conversation-meta">{new Date(conversation.updatedAt).toLocaleString()}</span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
