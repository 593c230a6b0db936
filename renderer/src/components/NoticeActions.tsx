/**
 * The buttons under a system notice that fix what it is about: a missing key opens
 * Credentials & role, a refused model setting opens Settings, an unreachable model server
 * can be asked again, Docker can be checked again. The notice's kind comes from the main
 * process (`chatMessage.notice`); the handlers from the App, through a context, so the chat's
 * list components need not carry them.
 */
import { createContext, useContext, useState } from 'react';
import type { ChatMessage, NoticeKind } from '../../../shared/contract';
import { missingCase } from '../../../shared/errors';

export interface NoticeHandlers {
  /** The notice that ends the chat: only it offers Retry (an older one's turn has moved on). */
  readonly latestNoticeId: string | undefined;
  openSettings(): void;
  openCredentials(): void;
  /** Asks the model again; resolves to an error message, or undefined. */
  retry(conversationId: string): Promise<string | undefined>;
  /** Checks Docker again (and prepares the sandbox image); resolves to what to tell the person. */
  checkDocker(): Promise<{ ok: boolean; message: string }>;
}

export const NoticeActionsContext = createContext<NoticeHandlers | undefined>(undefined);

type Action = 'retry' | 'settings' | 'credentials' | 'docker';

function actionsOf(kind: NoticeKind): readonly Action[] {
  switch (kind) {
    case 'credentials':
      return ['credentials', 'retry'];
    case 'model-settings':
      return ['settings', 'retry'];
    case 'model-unreachable':
      return ['retry', 'settings'];
    case 'docker':
      return ['docker'];
    default:
      return missingCase(kind);
  }
}

const labels: Readonly<Record<Action, string>> = {
  retry: 'Retry',
  settings: 'Open Settings',
  credentials: 'Open Credentials & role',
  docker: 'Check Docker again',
};

export function NoticeActions({ message }: { message: ChatMessage }) {
  const handlers = useContext(NoticeActionsContext);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();
  if (!handlers || !message.notice) return null;
  const actions = actionsOf(message.notice).filter((action) => action !== 'retry' || handlers.latestNoticeId === message.id);
  if (actions.length === 0) return null;

  const run = async (action: Action): Promise<void> => {
    switch (action) {
      case 'settings':
        handlers.openSettings();
        return;
      case 'credentials':
        handlers.openCredentials();
        return;
      case 'retry': {
        setBusy(true);
        const error = await handlers.retry(message.conversationId);
        setBusy(false);
        setResult(error ? { ok: false, text: error } : undefined);
        return;
      }
      case 'docker': {
        setBusy(true);
        const checked = await handlers.checkDocker();
        setBusy(false);
        setResult({ ok: checked.ok, text: checked.message });
        return;
      }
      default:
        missingCase(action);
    }
  };

  return (
    <div className="notice-actions" data-testid="notice-actions" data-kind={message.notice}>
      {actions.map((action) => (
        <button key={action} type="button" className="notice-action" disabled={busy} onClick={() => void run(action)}>
          {busy && (action === 'retry' || action === 'docker') ? `${labels[action]}…` : labels[action]}
        </button>
      ))}
      {result && (
        <span className={`notice-result${result.ok ? '' : ' notice-result-failed'}`} role="status" data-testid="notice-result">
          {result.text}
        </span>
      )}
    </div>
  );
}
