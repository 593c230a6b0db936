/**
 * Cutting known texts (a run's secret values and their encodings) out of a command's output
 * as it streams: a value split across two chunks is still cut, because the end of each chunk
 * that could be the start of a value is held back until the next chunk (or the end) shows
 * whether it is.
 */
import type { Redaction } from './sandbox';

function pattern(redactions: readonly Redaction[]): RegExp {
  return new RegExp(
    [...redactions]
      .sort((a, b) => b.text.length - a.text.length)
      .map((redaction) => redaction.text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('|'),
    'g',
  );
}

/** Every occurrence replaced by `[redacted:label]`. */
export function cutAll(text: string, redactions: readonly Redaction[]): string {
  const usable = redactions.filter((redaction) => redaction.text.length > 0);
  if (usable.length === 0) return text;
  const labels = new Map(usable.map((redaction) => [redaction.text, redaction.label]));
  return text.replace(pattern(usable), (match) => `[redacted:${labels.get(match) ?? 'secret'}]`);
}

/**
 * Output cut at a limit may end with the first characters of a value: those go too. Only the
 * end of text that was truncated is looked at.
 */
export function cutPartialTail(text: string, redactions: readonly Redaction[]): string {
  let cut = text.length;
  for (const { text: value } of redactions) {
    for (let length = Math.min(value.length - 1, text.length); length >= 1; length--) {
      if (text.endsWith(value.slice(0, length))) {
        cut = Math.min(cut, text.length - length);
        break;
      }
    }
  }
  return cut === text.length ? text : `${text.slice(0, cut)}[redacted]`;
}

export class StreamCutter {
  readonly #redactions: readonly Redaction[];
  readonly #hold: number;
  #buffer = '';

  constructor(redactions: readonly Redaction[]) {
    this.#redactions = redactions.filter((redaction) => redaction.text.length > 0);
    this.#hold = Math.max(0, ...this.#redactions.map((redaction) => redaction.text.length - 1));
  }

  /** The part of the output so far that is safe to show, cut. */
  push(text: string): string {
    if (this.#redactions.length === 0) return text;
    this.#buffer += text;
    let cut = this.#buffer.length - this.#hold;
    if (cut <= 0) return '';
    // A value that starts before the cut and ends after it stays whole in the held part.
    for (let moved = true; moved && cut > 0; ) {
      moved = false;
      for (const { text: value } of this.#redactions) {
        const from = Math.max(0, cut - value.length + 1);
        const at = this.#buffer.indexOf(value, from);
        if (at >= 0 && at < cut && at + value.length > cut) {
          cut = at;
          moved = true;
        }
      }
    }
    const shown = this.#buffer.slice(0, cut);
    this.#buffer = this.#buffer.slice(cut);
    return cutAll(shown, this.#redactions);
  }

  /** The rest, cut: at the end of the output. */
  end(): string {
    const rest = cutAll(this.#buffer, this.#redactions);
    this.#buffer = '';
    return rest;
  }
}
