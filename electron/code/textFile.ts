/**
 * A workspace text file as bytes and as text: its encoding (UTF-8 with or without a BOM,
 * UTF-16LE with a BOM, or Latin-1 when the bytes are not UTF-8) and its line endings, so an
 * edit writes the file back the way the workspace keeps it. Text is handled with LF line
 * endings in between; `encodeText` puts the file's own endings and encoding back.
 */
import { createHash } from 'node:crypto';
import type { ProposalFile } from '../../shared/code';

export type Encoding = ProposalFile['encoding'];
export type Eol = ProposalFile['eol'];

export interface DecodedText {
  /** With LF line endings. */
  readonly text: string;
  readonly encoding: Encoding;
  readonly eol: Eol;
}

export class TextFileError extends Error {
  override readonly name = 'TextFileError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** CRLF when most line breaks are CRLF; LF otherwise (and for a file without line breaks). */
export function detectEol(text: string): Eol {
  const crlf = text.match(/\r\n/g)?.length ?? 0;
  const all = text.match(/\n/g)?.length ?? 0;
  return crlf > 0 && crlf >= all - crlf ? 'crlf' : 'lf';
}

export function toLf(text: string): string {
  return text.replace(/\r\n/g, '\n');
}

export function decodeText(bytes: Uint8Array, path: string): DecodedText {
  let encoding: Encoding;
  let raw: string;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    encoding = 'utf8-bom';
    raw = decodeUtf8(bytes.subarray(3), path);
  } else if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    encoding = 'utf16le';
    raw = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(2));
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    throw new TextFileError(`${path} is UTF-16 big-endian, which Sophia does not edit.`);
  } else {
    if (bytes.includes(0)) throw new TextFileError(`${path} is a binary file; Sophia edits text files only.`);
    try {
      raw = utf8.decode(bytes);
      encoding = 'utf8';
    } catch {
      // Not UTF-8: read it as Latin-1, which every byte is, and write it back the same way.
      raw = Buffer.from(bytes).toString('latin1');
      encoding = 'latin1';
    }
  }
  return { text: toLf(raw), encoding, eol: detectEol(raw) };
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TextFileError(`${path} starts with a UTF-8 mark but is not UTF-8.`);
  }
}

/** LF text back to the file's bytes, with its line endings and encoding. */
export function encodeText(text: string, encoding: Encoding, eol: Eol, path: string): Buffer {
  const lf = toLf(text);
  const withEol = eol === 'crlf' ? lf.replace(/\n/g, '\r\n') : lf;
  switch (encoding) {
    case 'utf8':
      return Buffer.from(withEol, 'utf8');
    case 'utf8-bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(withEol, 'utf8')]);
    case 'utf16le':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(withEol, 'utf16le')]);
    case 'latin1':
      // eslint-disable-next-line no-control-regex
      if (/[^\u0000-\u00ff]/.test(withEol)) {
        throw new TextFileError(`${path} is a Latin-1 file, and the change has characters Latin-1 cannot hold; nothing was written.`);
      }
      return Buffer.from(withEol, 'latin1');
    default: {
      const never: never = encoding;
      throw new TextFileError(`Unknown encoding ${String(never)}.`);
    }
  }
}
