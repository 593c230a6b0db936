/**
 * Splits a growing Markdown text into finished blocks and the one still open, so a chat
 * renders each finished block once and re-parses only the open one as tokens arrive: the
 * cost per token stays flat however long the answer grows. Block boundaries come from
 * `marked`'s lexer; a block is finished once a later non-blank block has begun.
 */
import { marked } from 'marked';

export interface BlockSplit {
  /** Raw Markdown of each finished block, in order. Never changes once added. */
  readonly finished: readonly string[];
  /** Raw Markdown of the open block (may be empty). */
  readonly open: string;
}

export class IncrementalBlocks {
  #finished: string[] = [];
  #consumed = 0;
  #text = '';

  /** Feeds the whole text so far (it normally only grows); returns the split. */
  update(text: string): BlockSplit {
    if (!text.startsWith(this.#text)) {
      // The text was replaced rather than extended: start over.
      this.#finished = [];
      this.#consumed = 0;
    }
    this.#text = text;
    const rest = text.slice(this.#consumed);
    const tokens = marked.lexer(rest);
    // The last non-blank token is open; everything before it is finished.
    let lastContent = tokens.length - 1;
    while (lastContent >= 0 && tokens[lastContent]?.type === 'space') lastContent -= 1;
    if (lastContent > 0) {
      const finishedNow: string[] = [];
      let pending = '';
      for (let i = 0; i < lastContent; i += 1) {
        const token = tokens[i];
        if (!token) continue;
        const last = finishedNow.length - 1;
        if (token.type === 'space' && last >= 0) {
          // Blank lines belong to the block they follow.
          finishedNow[last] += token.raw;
        } else if (token.type === 'space') {
          pending += token.raw;
        } else {
          finishedNow.push(pending + token.raw);
          pending = '';
        }
      }
      const consumed = finishedNow.join('') + pending;
      // Commit only when the lexer's raw text accounts for the input exactly.
      if (rest.startsWith(consumed)) {
        this.#finished = [...this.#finished, ...finishedNow];
        this.#consumed += consumed.length;
      }
    }
    return { finished: this.#finished, open: text.slice(this.#consumed) };
  }
}
