import fc from 'fast-check';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import Markdown from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { describe, expect, it } from 'vitest';
import { createMarkdownRenderer, markdownCacheLimits, mayUseGfm } from '../../../renderer/src/markdown/renderMarkdown';

/** What the chat drew before: react-markdown with remark-gfm on every block. */
function reference(raw: string, settled: boolean): string {
  return renderToStaticMarkup(
    createElement(Markdown, { remarkPlugins: [remarkGfm], rehypePlugins: settled ? [rehypeHighlight] : [], skipHtml: true }, raw),
  );
}

const samples = [
  'Message 12: the payroll service reads employees from the staging warehouse.',
  '# Title\n\nSome *emphasis*, **strong** and `code`.\n',
  '- one\n- two\n\n1. first\n2. second\n',
  '- [ ] open task\n- [x] done task\n',
  '| a | b |\n| --- | --- |\n| 1 | 2 |\n',
  '~~gone~~ and ~one tilde~',
  'See www.example.com, https://example.com/path?q=1 and someone@example.com.',
  'A footnote[^1].\n\n[^1]: The note.',
  '[link](https://example.com) and ![image](https://example.com/a.png)',
  '```sql\nSELECT id, salary FROM employees WHERE id = 3;\n```\n',
  '> quoted\n> text\n\n---\n\nSetext\n======\n',
  '<script>alert(1)</script> and <b>bold</b> html',
  '[bad](javascript:alert(1)) and <javascript:alert(1)>',
  'WWW.EXAMPLE.COM and HTTP://EXAMPLE.COM in capitals',
  'Write to someone@example.com or mailto:ops@example.com today.',
  'a&amp;b \\*not emphasis\\* and trailing spaces  \nnext line',
];

// Pieces that matter to CommonMark or to GFM, so random texts hit both parsers' edges.
const piece = fc.constantFrom(
  'a', 'word', ' ', '  ', '\n', '\n\n', '*', '**', '_', '`', '```', '~', '~~', '|', '-', '---', '+', '#', '>', '1.', '2)', '[', ']', '(', ')', '!',
  '^', '@', 'me@x.com', '.', ':', '//', 'www', 'www.', 'http', 'https://', 'x.com', 'mailto:', '<', '>', '&', '&amp;', '\\', '[ ]', '[x]', '    ', '\t', '=',
);
const markdownish = fc.array(piece, { maxLength: 40 }).map((pieces) => pieces.join(''));

describe('createMarkdownRenderer', () => {
  it('draws what react-markdown with remark-gfm drew, settled or open', () => {
    const renderer = createMarkdownRenderer({});
    for (const raw of samples) {
      expect(renderToStaticMarkup(renderer.render(raw, true)), raw).toBe(reference(raw, true));
      expect(renderToStaticMarkup(renderer.render(raw, false)), raw).toBe(reference(raw, false));
    }
  });

  it('skips GFM only where it changes nothing', () => {
    const renderer = createMarkdownRenderer({});
    fc.assert(
      fc.property(markdownish, (raw) => {
        expect(renderToStaticMarkup(renderer.render(raw, true))).toBe(reference(raw, true));
      }),
      { numRuns: 400 },
    );
  });

  it('tells GFM syntax apart from plain text', () => {
    expect(mayUseGfm('Message 12: the payroll service reads employees.')).toBe(false);
    for (const raw of ['a | b', '~~x~~', '- [ ] task', 'x[^1]', 'www.example.com', 'WWW.EXAMPLE.COM', 'https://example.com', 'me@example.com']) {
      expect(mayUseGfm(raw), raw).toBe(true);
    }
  });

  it('drops raw HTML and neutralises script URLs', () => {
    const html = renderToStaticMarkup(createMarkdownRenderer({}).render('<script>alert(1)</script>\n\n[x](javascript:alert(1))', true));
    expect(html).not.toContain('<script');
    expect(html).not.toContain('javascript:');
  });

  it('keeps settled blocks, not the open block of a stream', () => {
    const renderer = createMarkdownRenderer({});
    const first = renderer.render('Some **text**', true);
    expect(renderer.render('Some **text**', true)).toBe(first);
    expect(renderer.size).toBe(1);
    renderer.render('Some **te', false);
    expect(renderer.size).toBe(1);
  });

  it('is bounded: the least recently used block goes first', () => {
    const renderer = createMarkdownRenderer({});
    const first = renderer.render('block 0', true);
    const second = renderer.render('block 1', true);
    for (let n = 2; n < markdownCacheLimits.entries; n += 1) renderer.render(`block ${n}`, true);
    expect(renderer.size).toBe(markdownCacheLimits.entries);
    // Used again: now the most recent, so block 1 is the one dropped by the next.
    expect(renderer.render('block 0', true)).toBe(first);
    renderer.render('one more block', true);
    expect(renderer.size).toBe(markdownCacheLimits.entries);
    expect(renderer.render('block 0', true)).toBe(first);
    expect(renderer.render('block 1', true)).not.toBe(second);
  });
});
