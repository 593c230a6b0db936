/**
 * Redaction of known secret values (and of the shapes of common tokens) from anything
 * shown or stored: audit entries, logs, events to the renderer, requests to a model.
 */
const minLength = 4;

/** Token shapes worth hiding even when Sophia was never told the value. */
const tokenShapes: readonly RegExp[] = [
  /\bsk-ant-[A-Za-z0-9_-]{16,}/g,
  /\bgh[pousr]_[A-Za-z0-9]{30,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{30,}/g,
  /\bpul-[a-f0-9]{40}\b/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

export const redactedMark = '[redacted]';

/** base64 (standard and URL-safe) fragments of a value at each of the three byte alignments it can sit at inside a longer encoded text. */
function base64Fragments(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const fragments: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Only the characters made of the value's bits alone.
    const fragment = encoded.slice(Math.ceil((offset * 4) / 3), Math.floor(((offset + bytes.length) * 4) / 3));
    if (fragment.length >= 8) fragments.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return fragments;
}

/**
 * The forms a secret's value takes in output: itself, JSON-escaped, URL-encoded, and base64
 * (as in an `Authorization: Basic` header, at any alignment). Each at least 4 characters.
 */
export function secretEncodings(value: string): string[] {
  const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), ...base64Fragments(value)]);
  return [...forms].filter((form) => form.length >= minLength);
}

export class SecretRedactor {
  readonly #values = new Map<string, string>();
  #pattern: RegExp | undefined;

  /** Remembers a value under a name; the name shows where it was cut. */
  add(name: string, value: string): void {
    if (value.length < minLength) return;
    this.#values.set(value, name);
    // A JSON-encoded copy of the value looks different when it has quotes or backslashes.
    const encoded = JSON.stringify(value).slice(1, -1);
    if (encoded !== value) this.#values.set(encoded, name);
    this.#pattern = undefined;
  }

  /** Remembers a value and its encodings (`secretEncodings`): for secrets handed to a sandboxed command. */
  addWithEncodings(name: string, value: string): void {
    if (value.length < minLength) return;
    for (const form of secretEncodings(value)) this.#values.set(form, name);
    this.#pattern = undefined;
  }

  forget(value: string): void {
    this.#values.delete(value);
    this.#values.delete(JSON.stringify(value).slice(1, -1));
    this.#pattern = undefined;
  }

  get size(): number {
    return this.#values.size;
  }

  redact(text: string): string {
    let out = text;
    if (this.#values.size > 0) {
      this.#pattern ??= new RegExp(
        [...this.#values.keys()]
          .sort((a, b) => b.length - a.length)
          .map((value) => value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
          .join('|'),
        'g',
      );
      out = out.replace(this.#pattern, (match) => `[redacted:${this.#values.get(match) ?? 'secret'}]`);
    }
    for (const shape of tokenShapes) out = out.replace(shape, redactedMark);
    return out;
  }

  /** Whether the text holds a known value (used by tests and by guards). */
  contains(text: string): boolean {
    for (const value of this.#values.keys()) if (text.includes(value)) return true;
    return false;
  }

  /** Redacts every string in a JSON-shaped value. */
  redactDeep<T>(value: T): T {
    const text = JSON.stringify(value);
    if (text === undefined) return value;
    const redacted = this.redact(text);
    return redacted === text ? value : (JSON.parse(redacted) as T);
  }
}
