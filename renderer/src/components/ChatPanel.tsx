import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { limits, type ChatMessage } from '../../../shared/contract';
import { MessageView } from './MessageView';

export function ChatPanel(props: {
  messages: ChatMessage[];
  error: string | undefined;
  disabled: boolean;
  onSend: (text: string) => Promise<boolean>;
}) {
  const { messages, error, disabled, onSend } = props;
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const listEnd = useRef<HTMLDivElement>(null);

  useEffect(() => {
    listEnd.current?.scrollIntoView({ block: 'end' });
  }, [messages.length]);

  const submit = async (event?: FormEvent): Promise<void> => {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || sending) return;
    setSending(true);
    // Keep the draft until the main process accepted it: nothing typed is lost.
    if (await onSend(text)) setDraft('');
    setSending(false);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void submit();
    }
  };

  return (
    <section className="chat" aria-label="Chat">
      <ol className="message-list" data-testid="message-list">
        {messages.length === 0 && <li className="message-empty">Ask Sophia to review, edit or deploy something.</li>}
        {messages.map((message) => (
          <MessageView key={message.id} message={message} />
        ))}
        <div ref={listEnd} />
      </ol>
      {error && (
        <div className="chat-error" role="alert">
          {error}
        </div>
      )}
      <form className="composer" onSubmit={(event) => void submit(event)}>
        <textarea
          className="composer-input"
          data-testid="composer-input"
          aria-label="Message"
          placeholder={disabled ? 'Stopped: resume to continue' : 'Message Sophia (Enter to send, Shift+Enter for a new line)'}
          value={draft}
          maxLength={limits.messageText}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
          rows={3}
        />
        <button type="submit" className="send-button" disabled={disabled || sending || draft.trim() === ''}>
          Send
        </button>
      </form>
    </section>
  );
}
