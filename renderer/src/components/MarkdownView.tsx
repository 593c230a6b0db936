import { memo, useEffect, useMemo, useRef, useState, type ComponentPropsWithoutRef } from 'react';
import type { Components } from 'react-markdown';
import { IncrementalBlocks } from '../markdown/incrementalBlocks';
import { createMarkdownRenderer } from '../markdown/renderMarkdown';

type CopyState = 'idle' | 'copied' | 'failed';

/**
 * A code block with a Copy button: the block's text as shown (highlighting is only markup)
 * goes to the clipboard through the Clipboard API, and the button says whether it worked.
 */
function CodeBlock(props: ComponentPropsWithoutRef<'pre'> & { node?: unknown }) {
  const { node: _node, children, ...rest } = props;
  const pre = useRef<HTMLPreElement>(null);
  const [state, setState] = useState<CopyState>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const copy = async (): Promise<void> => {
    const text = pre.current?.querySelector('code')?.textContent ?? pre.current?.textContent ?? '';
    try {
      await navigator.clipboard.writeText(text.replace(/\n$/, ''));
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <div className="code-block">
      <button type="button" className="code-copy" data-testid="code-copy" data-state={state} aria-label="Copy the code" onClick={() => void copy()}>
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
      </button>
      <pre ref={pre} {...rest}>
        {children}
      </pre>
    </div>
  );
}

const components: Components = { pre: CodeBlock };
/** Every message's blocks go through one renderer: a block mounted again is not parsed again. */
const markdown = createMarkdownRenderer(components);

/** One block; raw HTML in it is dropped, never run (react-markdown with `skipHtml`). */
const Block = memo(function Block({ raw, open }: { raw: string; open: boolean }) {
  // The open block changes every frame: no highlighting until it is finished.
  return markdown.render(raw, !open);
});

/**
 * The finished blocks: their array only changes when a block finishes, so on the frames in
 * between this whole subtree is skipped. Each block sits in a box the browser may skip
 * laying out while it is off screen (`content-visibility: auto`).
 */
const FinishedBlocks = memo(function FinishedBlocks({ blocks }: { blocks: readonly string[] }) {
  return (
    <>
      {blocks.map((raw, index) => (
        <div className="md-block" key={index}>
          <Block raw={raw} open={false} />
        </div>
      ))}
    </>
  );
});

/**
 * Markdown that renders each finished block once: as text streams in, only the open
 * block is parsed and drawn again.
 */
export function MarkdownView({ text, streaming }: { text: string; streaming: boolean }) {
  // One splitter per message; feeding it the same text twice (StrictMode) changes nothing.
  const [splitter] = useState(() => new IncrementalBlocks());
  const blocks = useMemo(() => splitter.update(text), [splitter, text]);
  return (
    <>
      <FinishedBlocks blocks={blocks.finished} />
      {blocks.open && (
        <div className="md-block md-open">
          <Block raw={blocks.open} open={streaming} />
        </div>
      )}
    </>
  );
}
