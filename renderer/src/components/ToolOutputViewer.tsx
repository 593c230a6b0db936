/**
 * A long tool output, read page by page from the main process (`conversation.toolOutput`):
 * the chat holds only its head and tail, and this viewer one page at a time.
 */
import { createContext, useEffect, useState } from 'react';
import { createPortal } from 'react-dom';
import type { RequestOutput } from '../../../shared/contract';

export type ToolOutputPage = RequestOutput<'conversation.toolOutput'>;

/** Reads one page of a kept tool output of the open conversation; an Error's message is shown. */
export type ToolOutputReader = (callId: string, offset: number) => Promise<ToolOutputPage>;

export const ToolOutputReaderContext = createContext<ToolOutputReader | undefined>(undefined);

export function ToolOutputViewer({ callId, tool, read, onClose }: { callId: string; tool: string; read: ToolOutputReader; onClose: () => void }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<ToolOutputPage | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let current = true;
    read(callId, offset).then(
      (next) => {
        if (!current) return;
        setPage(next);
        setError(undefined);
      },
      (failure: unknown) => {
        if (current) setError(failure instanceof Error ? failure.message : 'The output could not be read.');
      },
    );
    return () => {
      current = false;
    };
  }, [read, callId, offset]);

  const end = page ? page.offset + page.text.length : 0;
  const size = page?.text.length ?? 0;
  // On the page itself: inside the transcript's moved (transformed) window, `position: fixed` would be fixed to that window.
  return createPortal(
    <div className="tool-output-viewer-backdrop" onClick={onClose}>
      <div
        className="tool-output-viewer"
        role="dialog"
        aria-label={`Full output of ${tool}`}
        data-testid="tool-output-viewer"
        onClick={(event) => event.stopPropagation()}
        onKeyDown={(event) => {
          if (event.key === 'Escape') onClose();
        }}
      >
        <div className="tool-output-viewer-header">
          <span className="tool-name">{tool}</span>
          <span className="tool-output-viewer-range" data-testid="tool-output-range">
            {page ? `characters ${page.offset.toLocaleString('en')}–${end.toLocaleString('en')} of ${page.totalChars.toLocaleString('en')}` : 'loading…'}
          </span>
          <button type="button" data-testid="tool-output-previous" disabled={!page || page.offset === 0} onClick={() => setOffset(Math.max(0, (page?.offset ?? 0) - Math.max(size, 1)))}>
            Previous
          </button>
          <button type="button" data-testid="tool-output-next" disabled={!page || end >= page.totalChars} onClick={() => setOffset(end)}>
            Next
          </button>
          <button type="button" data-testid="tool-output-close" onClick={onClose} autoFocus>
            Close
          </button>
        </div>
        {error ? (
          <div className="chat-error" role="alert">
            {error}
          </div>
        ) : (
          <pre className="tool-output-viewer-text" data-testid="tool-output-full">
            {page?.text ?? ''}
          </pre>
        )}
      </div>
    </div>,
    document.body,
  );
}
