import { memo } from 'react';
import type { ChatMessage } from '../../../shared/contract';
import { MarkdownView } from './MarkdownView';
import { NoticeActions } from './NoticeActions';

const roleLabels: Record<ChatMessage['role'], string> = { user: 'You', assistant: 'Sophia', system: 'Notice' };

/** A chat message; the same component while it streams and after, so nothing redraws twice. */
export const MessageView = memo(function MessageView({ message, streaming }: { message: ChatMessage; streaming: boolean }) {
  return (
    <div
      className={`message message-${message.role}${streaming ? ' message-streaming' : ''}${message.notice ? ` message-notice notice-${message.notice}` : ''}`}
      data-testid={`message-${message.role}`}
    >
      <div className="message-role">{roleLabels[message.role]}</div>
      <div className="message-body">
        <MarkdownView text={message.text} streaming={streaming} />
        {message.notice && <NoticeActions message={message} />}
      </div>
    </div>
  );
});
