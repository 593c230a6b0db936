/**
 * Docker's multiplexed attach stream (no TTY): frames of an 8-byte header
 * `[stream, 0, 0, 0, size (big-endian u32)]` then `size` bytes. Frames arrive split and
 * joined arbitrarily across socket reads, so the parser keeps the remainder.
 */
import type { OutputStream } from './sandbox';

const headerBytes = 8;

export class DockerFrameParser {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: OutputStream, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buffer.length >= headerBytes) {
      const size = buffer.readUInt32BE(4);
      if (buffer.length < headerBytes + size) break;
      const type = buffer[0];
      const payload = buffer.subarray(headerBytes, headerBytes + size);
      // 1 is stdout, 2 stderr; 0 (stdin echo) and anything else are not output.
      if (type === 1) this.onFrame('stdout', payload);
      else if (type === 2) this.onFrame('stderr', payload);
      buffer = buffer.subarray(headerBytes + size);
    }
    this.#pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer);
  }

  /** Bytes of an incomplete frame still held. */
  get pendingBytes(): number {
    return this.#pending.length;
  }
}

/** Quotes an argv for `/bin/sh -c`, one word each. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/**
 * What the waiting stub (see `dockerSandbox.ts`) reads: the number of lines, then the
 * command's lines. The shell's `read` takes a pipe one byte at a time, so the bytes after
 * the command stay for the command's own standard input.
 */
export function encodeCommand(command: string): string {
  const lines = command.split('\n');
  return `${lines.length}\n${lines.join('\n')}\n`;
}
