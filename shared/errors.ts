import { z } from 'zod';

/**
 * Every error that crosses the process boundary carries one of these codes, so the
 * renderer can react to the kind of failure rather than parse a message.
 */
export const errorCodes = [
  'bad_request', // the input failed its schema
  'unknown_channel', // no such request channel in the contract
  'bad_frame', // the transport frame itself was unreadable
  'refused', // the caller is not allowed to do this
  'stopped', // the emergency stop is engaged
  'unavailable', // a dependency (model, Docker, keychain) cannot be reached
  'internal', // a bug: logged in the main process, reported without detail
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export const serializedErrorSchema = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  data: z.unknown().optional(),
});

export type SerializedError = z.infer<typeof serializedErrorSchema>;

/** An error with a stable code that serialises itself across IPC and WebSocket. */
export class SophiaError extends Error {
  override readonly name = 'SophiaError';

  readonly code: ErrorCode;
  readonly data?: unknown;

  // Plain fields, not parameter properties: shared code also runs under Node's type stripping
  // (the crash test's child process), which refuses parameter properties.
  constructor(code: ErrorCode, message: string, data?: unknown) {
    super(message);
    this.code = code;
    if (data !== undefined) this.data = data;
  }

  toJSON(): SerializedError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  static fromJSON(error: SerializedError): SophiaError {
    return new SophiaError(error.code, error.message, error.data);
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: SophiaError): Result<T> {
  return { ok: false, error: error.toJSON() };
}

/** For `switch` statements over unions: a compile error when a case is missing. */
export function missingCase(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
