import { useState, type FormEvent } from 'react';
import { limits, type ConversationSummary } from '../../../shared/contract';

/** Each conversation opens on click, and can be renamed in place or deleted after a confirmation. */
export function ConversationList(props: {
  conversations: readonly ConversationSummary[];
  activeId: string | undefined;
  onOpen: (id: string) => void;
  onNew: () => void;
  /** Each resolves to an error message, or undefined. */
  onRename: (id: string, title: string) => Promise<string | undefined>;
  onDelete: (id: string) => Promise<string | undefined>;
}) {
  const { conversations, activeId, onOpen, onNew, onRename, onDelete } = props;
  const [editing, setEditing] = useState<{ id: string; title: string } | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();
  const [problem, setProblem] = useState<{ id: string; message: string } | undefined>();
  const [busy, setBusy] = useState(false);

  const saveRename = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!editing || busy) return;
    const title = editing.title.trim();
    if (!title) return;
    setBusy(true);
    const error = await onRename(editing.id, title);
    setBusy(false);
    if (error) setProblem({ id: editing.id, message: error });
    else {
      setProblem(undefined);
      setEditing(undefined);
    }
  };

  const confirmDelete = async (id: string): Promise<void> => {
    setBusy(true);
    const error = await onDelete(id);
    setBusy(false);
    setConfirming(undefined);
    setProblem(error ? { id, message: error } : undefined);
  };

  return (
    <nav className="sidebar" aria-label="Conversations" data-testid="conversation-list">
      <button type="button" className="new-chat" onClick={onNew}>
        + New chat
      </button>
      <ul>
        {conversations.map((conversation) => {
          const title = conversation.title || 'Untitled';
          return (
            <li key={conversation.id} className="conversation-item" data-testid="conversation-item">
              {editing?.id === conversation.id ? (
                <form className="conversation-rename" onSubmit={(event) => void saveRename(event)}>
                  <input
                    aria-label="New title"
                    data-testid="conversation-title-input"
                    value={editing.title}
                    maxLength={limits.label}
                    autoFocus
                    onChange={(event) => setEditing({ id: conversation.id, title: event.target.value })}
                    onKeyDown={(event) => {
                      if (event.key === 'Escape') setEditing(undefined);
                    }}
                  />
                  <button type="submit" disabled={busy || editing.title.trim() === ''}>
                    Save
                  </button>
                  <button type="button" onClick={() => setEditing(undefined)}>
                    Cancel
                  </button>
                </form>
              ) : (
                <div className="conversation-row">
                  <button
                    type="button"
                    className={`conversation${conversation.id === activeId ? ' conversation-active' : ''}`}
                    onClick={() => onOpen(conversation.id)}
                    title={conversation.title}
                  >
                    <span className="conversation-title">{title}</span>
                    <span className="conversation-meta">{new Date(conversation.updatedAt).toLocaleString()}</span>
                  </button>
                  <span className="conversation-tools">
                    <button type="button" className="conversation-tool" aria-label={`Rename “${title}”`} title="Rename" onClick={() => setEditing({ id: conversation.id, title: conversation.title })}>
                      ✎
                    </button>
                    <button type="button" className="conversation-tool" aria-label={`Delete “${title}”`} title="Delete" onClick={() => setConfirming(conversation.id)}>
                      🗑
                    </button>
                  </span>
                </div>
              )}
              {confirming === conversation.id && (
                <div className="conversation-confirm" role="alertdialog" aria-label={`Delete “${title}”?`} data-testid="conversation-confirm">
                  <span>Delete “{title}”? Its messages and tool outputs are removed for good; the audit log keeps a record.</span>
                  <button type="button" className="danger" disabled={busy} onClick={() => void confirmDelete(conversation.id)}>
                    Delete
                  </button>
                  <button type="button" onClick={() => setConfirming(undefined)}>
                    Keep it
                  </button>
                </div>
              )}
              {problem?.id === conversation.id && (
                <div className="conversation-problem" role="alert">
                  {problem.message}
                </div>
              )}
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
