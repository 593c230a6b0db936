import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { limits } from '../../../shared/contract';
import type { ChatItem } from '../state/sophiaState';
import { ChatItemView } from './ChatItems';

export function ChatPanel(props: {
  items: readonly ChatItem[];
  error: string | undefined;
  disabled: boolean;
  agentState: 'thinking' | 'running-tool' | 'idle';
  agentDetail: string | undefined;
  /** The answer (text or a tool card) is arriving: "Thinking…" is no longer true. */
  answering?: boolean;
  onSend: (text: string) => Promise<boolean>;
  onCancel: () => void;
  /** Plan mode: the gate runs only read-only calls while it is on. */
  planMode: boolean;
  onPlanMode: (on: boolean) => void;
}) {
  const { items, error, disabled, agentState, agentDetail, answering = false, onSend, onCancel, planMode, onPlanMode } = props;
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const list = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);

  // Follow the answer as it streams, unless the user scrolled up to read.
  useEffect(() => {
    const element = list.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [items]);

  const submit = async (event?: FormEvent): Promise<void> => {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || sending) return;
    setSending(true);
    pinned.current = true;
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

  const busy = agentState !== 'idle';

  return (
    <section className="chat" aria-label="Chat">
      <ol
        className="message-list"
        data-testid="message-list"
        ref={list}
        onScroll={(event) => {
          const element = event.currentTarget;
          pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
        }}
      >
        {items.length === 0 && <li className="message-empty">Ask Sophia to review, edit or deploy something.</li>}
        {items.map((item) => (
          <ChatItemView key={`${item.kind}:${item.id}`} item={item} />
        ))}
      </ol>
      <div className="chat-footer">
        {busy && (
          <div className="agent-status" data-testid="agent-status">
            {agentState === 'thinking' ? (
              !answering && (
                <>
                  <span className="spinner" aria-hidden="true" />
                  Thinking…
                </>
              )
            ) : (
              <>
                <span className="spinner" aria-hidden="true" />
                {`Running ${agentDetail ?? 'a tool'}…`}
              </>
            )}
            <button type="button" className="cancel-button" onClick={onCancel}>
              Cancel
            </button>
          </div>
        )}
        {error && (
          <div className="chat-error" role="alert">
            {error}
          </div>
        )}
      </div>
      <label className={`plan-mode${planMode ? ' plan-mode-on' : ''}`} title="While plan mode is on, only read-only tools run: Sophia reads and plans, and changes nothing.">
        <input type="checkbox" data-testid="plan-mode" checked={planMode} onChange={(event) => onPlanMode(event.target.checked)} /> Plan mode (read-only)
      </label>
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
        <button type="submit" className="send-button" disabled={disabled || sending || busy || draft.trim() === ''}>
          Send
        </button>
      </form>
    </section>
  );
}
