import { memo } from 'react';
import Markdown from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import type { ChatMessage } from '../../../shared/contract';

const roleLabels: Record<ChatMessage['role'], string> = { user: 'You', assistant: 'Sophia', system: 'Notice' };

/**
 * Markdown with highlighted code. Raw HTML in a message is shown as text, never run:
 * react-markdown does not render HTML unless asked to.
 */
export const MessageView = memo(function MessageView({ message }: { message: ChatMessage }) {
  return (
    <li className={`message message-${message.role}`} data-testid={`message-${message.role}`}>
      <div className="message-role">{roleLabels[message.role]}</div>
      <div className="message-body">
        <Markdown remarkPlugins={[remarkGfm]} rehypePlugins={[rehypeHighlight]} skipHtml>
          {message.text}
        </Markdown>
      </div>
    </li>
  );
});
