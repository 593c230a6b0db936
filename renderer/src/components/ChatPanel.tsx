import { defaultRangeExtractor, useVirtualizer, type Range } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode, type RefObject } from 'react';
import { limits } from '../../../shared/contract';
import { intentLabels } from '../../../shared/intents';
import type { ChatItem } from '../state/sophiaState';
import { ChatItemView } from './ChatItems';
import { ToolOutputReaderContext, type ToolOutputReader } from './ToolOutputViewer';

/** Rows mounted beyond the visible ones on each side: enough for a fast wheel, few enough to stay cheap. */
const overscan = 8;
/** A first guess at a row's height (px) until it is measured. */
const estimatedRowHeight = 80;
const listPadding = 16;

/** The text "find in conversation" searches: what the row shows, from the state, mounted or not. */
export function searchableText(item: ChatItem): string {
  switch (item.kind) {
    case 'message':
      return item.message.text;
    case 'intent':
      return `${intentLabels[item.intent]} ${item.plan.join(' ')}`;
    case 'tool':
      return `${item.tool} ${JSON.stringify(item.args) ?? ''} ${item.result?.output ?? ''} ${item.result?.tail ?? ''}`;
    case 'pull-request':
      return `#${item.pullRequest.number} ${item.pullRequest.title}`;
    case 'thinking':
      return item.text;
    case 'plan':
      return item.steps.map((step) => step.text).join(' ');
  }
}

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
  /** Reads a long tool output of this conversation page by page ("open full output"). */
  readToolOutput?: ToolOutputReader;
  /** Shown at the head of the chat: the troubleshooting flow, in a troubleshooting conversation. */
  head?: ReactNode;
}) {
  const { items, error, disabled, agentState, agentDetail, answering = false, onSend, onCancel, planMode, onPlanMode, readToolOutput, head } = props;
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const pinned = useRef(true);


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
      {head}
      {/* Another conversation gets a transcript of its own: it opens at its end, with no sizes measured for the one before. */}
      <Transcript key={items[0] ? `${items[0].kind}:${items[0].id}` : ''} items={items} pinned={pinned} readToolOutput={readToolOutput} />
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

const estimateSize = (): number => estimatedRowHeight;

/** The conversation's rows: only those in view (and a few either side) are mounted. */
function Transcript({ items, pinned, readToolOutput }: { items: readonly ChatItem[]; pinned: RefObject<boolean>; readToolOutput: ToolOutputReader | undefined }) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<{ index: number; missing: boolean } | undefined>();
  const list = useRef<HTMLDivElement>(null);
  const getItemKey = useCallback((index: number) => {
    const item = items[index];
    return item ? `${item.kind}:${item.id}` : index;
  }, [items]);
  // The model's plan is one checklist updated in place as the work goes on: it stays mounted
  // wherever the view is, so its state is always in the page.
  const planIndex = useMemo(() => items.findIndex((item) => item.kind === 'plan'), [items]);
  const rangeExtractor = useCallback(
    (range: Range) => {
      const indexes = defaultRangeExtractor(range);
      if (planIndex < 0 || indexes.includes(planIndex)) return indexes;
      return [...indexes, planIndex].sort((a, b) => a - b);
    },
    [planIndex],
  );

  // Only the rows in view (and a few either side) are mounted; each is measured as it mounts
  // and whenever its size changes (@tanstack/react-virtual). A row above the view that grows
  // moves the scroll position with it, so what the person reads stays put.
  // The app is not built with React Compiler, which is what this rule guards (the virtualizer's functions change identity on purpose).
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => list.current,
    estimateSize,
    // Stable between renders: the virtualizer recomputes every row's position when it changes.
    getItemKey,
    rangeExtractor,
    // Opened at its end: the first rows drawn are the last ones, not the first screenful.
    initialOffset: Number.MAX_SAFE_INTEGER,
    overscan,
    paddingStart: listPadding,
    paddingEnd: listPadding,
  });
  const totalSize = virtualizer.getTotalSize();

  useLayoutEffect(() => {
    pinned.current = true;
  }, [pinned]);

  // Follow the answer as it streams (new rows, a growing last row), unless the person scrolled up to read.
  useLayoutEffect(() => {
    const element = list.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [items, totalSize, pinned]);

  const find = useCallback(
    (backwards: boolean) => {
      const needle = query.trim().toLowerCase();
      if (!needle || items.length === 0) return;
      const start = found?.index ?? (backwards ? items.length : -1);
      for (let step = 1; step <= items.length; step += 1) {
        const index = (start + (backwards ? -step : step) + items.length * 2) % items.length;
        const item = items[index];
        if (item && searchableText(item).toLowerCase().includes(needle)) {
          pinned.current = index === items.length - 1;
          setFound({ index, missing: false });
          virtualizer.scrollToIndex(index, { align: 'start' });
          return;
        }
      }
      setFound({ index: found?.index ?? -1, missing: true });
    },
    [query, items, found, virtualizer, pinned],
  );

  useEffect(() => setFound(undefined), [query]);

  return (
    <>
      <form
        className="chat-find"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          find(false);
        }}
      >
        <input
          type="search"
          data-testid="chat-find"
          aria-label="Find in conversation"
          placeholder="Find in conversation"
          value={query}
          maxLength={200}
          onChange={(event) => setQuery(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter' && event.shiftKey) {
              event.preventDefault();
              find(true);
            }
          }}
        />
        {found?.missing && <span className="chat-find-missing">not found</span>}
      </form>
      <div
        className="message-list"
        data-testid="message-list"
        ref={list}
        onScroll={(event) => {
          const element = event.currentTarget;
          pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
        }}
      >
        {items.length === 0 && <p className="message-empty">Ask Sophia to review, edit or deploy something.</p>}
        <ToolOutputReaderContext value={readToolOutput}>
          <div className="message-rows" style={{ height: totalSize }}>
            <ol className="message-rows-window">
              {virtualizer.getVirtualItems().map((row) => {
                const item = items[row.index];
                if (!item) return null;
                return (
                  <li
                    key={row.key}
                    data-index={row.index}
                    ref={virtualizer.measureElement}
                    className={`chat-row${found && !found.missing && found.index === row.index ? ' chat-row-found' : ''}`}
                  style={{ transform: `translateY(${row.start}px)` }}
                    data-testid="chat-row"
                  >
                    <ChatItemView item={item} />
                  </li>
                );
              })}
            </ol>
          </div>
        </ToolOutputReaderContext>
      </div>
    </>
  );
}
