import { memo, useMemo, useState } from 'react';
import Markdown from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { IncrementalBlocks } from '../markdown/incrementalBlocks';

const finishedPlugins = { remark: [remarkGfm], rehype: [rehypeHighlight] };
// The open block changes every frame: no highlighting until it is finished.
const openPlugins = { remark: [remarkGfm], rehype: [] };

/** One block; raw HTML in it is shown as text, never run (react-markdown's default). */
const Block = memo(function Block({ raw, open }: { raw: string; open: boolean }) {
  const plugins = open ? openPlugins : finishedPlugins;
  return (
    <Markdown remarkPlugins={plugins.remark} rehypePlugins={plugins.rehype} skipHtml>
      {raw}
    </Markdown>
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
      {blocks.finished.map((raw, index) => (
        <Block key={index} raw={raw} open={false} />
      ))}
      {blocks.open && <Block key={blocks.finished.length} raw={blocks.open} open={streaming} />}
    </>
  );
}
