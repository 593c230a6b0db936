import fc from 'fast-check';
import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { IncrementalBlocks } from '../../../renderer/src/markdown/incrementalBlocks';

const sample = `# Review of \`employees\`

The table has **four** columns.

- \`id\` is the key
- \`salary\` has no check

\`\`\`sql
ALTER TABLE employees
  ADD CONSTRAINT salary_positive CHECK (salary > 0);
\`\`\`

| column | issue |
| --- | --- |
| manager_id | no foreign key |

> Note: nothing was changed.
`;

function feed(text: string, cuts: number[]): { splits: { finished: readonly string[]; open: string }[] } {
  const blocks = new IncrementalBlocks();
  const splits = [];
  const points = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
  for (const point of [...points, text.length]) splits.push(blocks.update(text.slice(0, point)));
  return { splits };
}

describe('incremental Markdown blocks', () => {
  it('splits a finished answer into its blocks and keeps the last one open', () => {
    const { splits } = feed(sample, [10, 40, 90, 150, 200]);
    const last = splits.at(-1);
    expect((last?.finished.join('') ?? '') + last?.open).toBe(sample);
    expect(last?.finished.length).toBeGreaterThanOrEqual(4);
    expect(last?.open.trim()).toBe('> Note: nothing was changed.');
  });

  it('never loses or changes text, and a finished block never changes', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: sample.length }), { maxLength: 30 }), (cuts) => {
        const { splits } = feed(sample, cuts);
        let previous: readonly string[] = [];
        for (const split of splits) {
          expect(split.finished.slice(0, previous.length)).toEqual(previous);
          previous = split.finished;
        }
        const last = splits.at(-1);
        expect((last?.finished.join('') ?? '') + last?.open).toBe(sample);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps an unclosed code fence open, then finishes it', () => {
    const blocks = new IncrementalBlocks();
    const open = blocks.update('Intro\n\n```ts\nconst a = 1;\n\nconst b = 2;\n');
    expect(open.finished).toEqual(['Intro\n\n']);
    expect(open.open).toContain('const b = 2;');
    const closed = blocks.update('Intro\n\n```ts\nconst a = 1;\n\nconst b = 2;\n```\n\nDone.');
    expect(closed.finished).toHaveLength(2);
    expect(closed.open).toBe('Done.');
  });

  it('renders the same blocks as the whole text', () => {
    const { splits } = feed(sample, [25, 77, 130]);
    const last = splits.at(-1);
    const pieces = [...(last?.finished ?? []), last?.open ?? ''].map((raw) => marked.parse(raw) as string).join('');
    expect(pieces.replace(/\s+/g, ' ')).toBe((marked.parse(sample) as string).replace(/\s+/g, ' '));
  });

  it('starts over when the text is replaced rather than extended', () => {
    const blocks = new IncrementalBlocks();
    blocks.update('a\n\nb\n\nc');
    expect(blocks.update('x\n\ny')).toEqual({ finished: ['x\n\n'], open: 'y' });
  });
});
