/**
 * One Markdown block as React elements, through react-markdown (safe by construction: raw
 * HTML is dropped, URLs go through its `defaultUrlTransform`), made cheap enough for a long
 * transcript that mounts rows as it scrolls:
 * - remark-gfm's extensions are built once, not for every block (react-markdown makes a
 *   processor per call, and `gfm()` combining its extensions was most of that cost);
 * - a block that holds none of the characters GFM needs is parsed without GFM: the result is
 *   the same (a test holds the two together), and GFM's literal-autolink pass, which costs
 *   time quadratic in a paragraph's words, is skipped;
 * - a settled block's elements are kept in a bounded LRU keyed by its text, so a row mounted
 *   again (scrolled back into view, the conversation reopened) is not parsed again. React
 *   elements are immutable descriptions: the same one may be rendered in several places.
 */
import type { ReactElement } from 'react';
import Markdown, { type Components } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';

type PluginData = Record<string, unknown[] | undefined>;

// remark-gfm's attacher only adds its extensions to the processor's data: run it once, then
// hand every processor the same (never mutated) extension objects.
const gfmData: PluginData = {};
(remarkGfm as unknown as (this: { data(): PluginData }) => void).call({ data: () => gfmData });
function gfmOnce(this: { data(): PluginData }): void {
  const data = this.data();
  for (const [key, list] of Object.entries(gfmData)) data[key] = [...(data[key] ?? []), ...(list ?? [])];
}
const gfmPlugin = gfmOnce as unknown as typeof remarkGfm;

// rehype-highlight registers every common grammar each time it is attached: its transformer
// keeps no state between trees, so it is built once.
const highlight = (rehypeHighlight as (options?: Parameters<typeof rehypeHighlight>[0]) => ReturnType<typeof rehypeHighlight>)();
const highlightPlugin = (() => highlight) as unknown as typeof rehypeHighlight;

/**
 * Whether GFM could change how `raw` parses: tables need `|`, strikethrough `~`, task list
 * items and footnotes `[`, literal autolinks `www.`, `://` or (e-mail, `mailto:`, `xmpp:`) `@`.
 * Without any of them GFM's constructs cannot start, and the parse is CommonMark's.
 */
export function mayUseGfm(raw: string): boolean {
  return /[|~[@]|www\.|:\/\//i.test(raw);
}

const noPlugins: [] = [];
const gfmPlugins = [gfmPlugin];
const highlightPlugins = [highlightPlugin];

/** Bounds of the cache of settled blocks: by count and by the characters of their text. */
export const markdownCacheLimits = { entries: 4_000, chars: 4_000_000 } as const;

export interface MarkdownRenderer {
  /**
   * `raw` as React elements. A settled block (finished, or the last block of a message that
   * is not streaming) is highlighted and kept; the open block of a streaming message changes
   * every frame, so it is neither highlighted nor kept.
   */
  render(raw: string, settled: boolean): ReactElement;
  /** Blocks kept, for tests. */
  readonly size: number;
}

export function createMarkdownRenderer(components: Components): MarkdownRenderer {
  const cache = new Map<string, ReactElement>();
  let chars = 0;
  const parse = (raw: string, settled: boolean): ReactElement =>
    // A plain function with no hooks (react-markdown 10's synchronous `Markdown`): called here
    // so its output can be kept.
    Markdown({
      children: raw,
      remarkPlugins: mayUseGfm(raw) ? gfmPlugins : noPlugins,
      rehypePlugins: settled ? highlightPlugins : noPlugins,
      components,
      skipHtml: true,
    });
  return {
    render(raw, settled) {
      if (!settled) return parse(raw, false);
      const kept = cache.get(raw);
      if (kept) {
        // Most recently used last: the first entry is the one to drop.
        cache.delete(raw);
        cache.set(raw, kept);
        return kept;
      }
      const element = parse(raw, true);
      if (raw.length <= markdownCacheLimits.chars) {
        cache.set(raw, element);
        chars += raw.length;
        for (const [oldest] of cache) {
          if (cache.size <= markdownCacheLimits.entries && chars <= markdownCacheLimits.chars) break;
          cache.delete(oldest);
          chars -= oldest.length;
        }
      }
      return element;
    },
    get size() {
      return cache.size;
    },
  };
}
