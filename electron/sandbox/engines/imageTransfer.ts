/**
 * Getting the sandbox image onto an engine without a registry. The default image is tagged
 * with the hash of its recipe (`sandboxImage.ts`), so "already there" is a tag check on the
 * target; when it is missing, `docker save` on the source engine streams straight into
 * `docker load` on the target through the API (no file on disk), with byte progress. The
 * loaded image's id must be the source's: a load that yields another image fails closed and
 * the tag it left is removed. An image the person named in Settings (a registry image) is
 * pulled by the target engine itself.
 *
 * Libraries: dockerode (`getImage().get()`, `loadImage`, `pull`, `modem.followProgress`);
 * Node's stream `pipeline` for the byte counting and tear-down.
 */
import { Transform } from 'node:stream';
import type Docker from 'dockerode';
import { SophiaError } from '../../../shared/errors';
import { createLogger } from '../../log';
import { describeDockerError, imageExists, statusCodeOf, withTimeout } from '../dockerClient';
import type { SandboxEngine } from './engine';

const log = createLogger('imageTransfer');

export type TransferPhase = 'checking' | 'saving' | 'loading' | 'pulling' | 'done';

export interface TransferProgress {
  readonly phase: TransferPhase;
  /** Bytes of the saved image streamed so far (saving, loading). */
  readonly bytes: number;
  /** About how many bytes there are: the image's unpacked size, which the saved stream is close to. */
  readonly totalBytes?: number;
  /** A line from the engine (a pull's status, the load's answer). */
  readonly line?: string;
}

export interface EnsureImageInput {
  /** The engine that has the image (this machine's); undefined when there is none. */
  readonly from: Docker | undefined;
  readonly to: SandboxEngine;
  readonly image: string;
  /** True when the person named a registry image: the target pulls it instead. */
  readonly named: boolean;
  readonly onProgress?: (progress: TransferProgress) => void;
  /** Aborting ends the transfer: both streams are destroyed and this rejects with `stopped`. */
  readonly signal?: AbortSignal;
  /** No byte for this long ends the transfer (an engine that stopped answering). Default 120 s. */
  readonly stallMs?: number;
  /** How long the target may take to say whether it has the image. Default 15 s. */
  readonly checkTimeoutMs?: number;
}

export interface EnsureImageResult {
  readonly image: string;
  /** False when the target already had it. */
  readonly transferred: boolean;
  readonly bytes: number;
  readonly durationMs: number;
}

/** Progress is reported at most once per this many bytes (and at each phase change). */
const progressStepBytes = 4 * 1024 * 1024;
const defaultStallMs = 120_000;
/** A named image: a registry reference, nothing that could reach outside the image path of the API. */
const imageReference = /^[a-z0-9][a-z0-9._\-/:@]{0,254}$/i;

export async function ensureImageOnEngine(input: EnsureImageInput): Promise<EnsureImageResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const { to, image, signal } = input;
  if (!imageReference.test(image) || image.includes('..')) throw new SophiaError('bad_request', `"${image.slice(0, 80)}" is not an image name.`);
  throwIfStopped(signal);
  input.onProgress?.({ phase: 'checking', bytes: 0 });
  const target = to.docker();
  const present = await engineCall(to, 'look for the sandbox image', withTimeout(imageExists(target, image), input.checkTimeoutMs ?? 15_000, `Asking ${to.name} for the image`));
  if (present) {
    input.onProgress?.({ phase: 'done', bytes: 0 });
    return { image, transferred: false, bytes: 0, durationMs: elapsed() };
  }
  throwIfStopped(signal);
  const bytes = input.named ? await pull(input) : await saveAndLoad(input);
  input.onProgress?.({ phase: 'done', bytes });
  log.info('image brought to an engine', { engine: to.id, image, bytes, named: input.named, durationMs: elapsed() });
  return { image, transferred: true, bytes, durationMs: elapsed() };
}

async function saveAndLoad(input: EnsureImageInput): Promise<number> {
  const { from, to, image, signal } = input;
  if (from === undefined) {
    throw new SophiaError(
      'unavailable',
      `The sandbox image ${image} is not on ${to.name}, and there is no Docker on this machine to send it from. Build it on a machine with Docker first (Settings → Sandbox → Build sandbox image), or name a registry image in Settings → Sandbox.`,
    );
  }
  let source: Docker.ImageInspectInfo;
  try {
    source = await from.getImage(image).inspect();
  } catch (error) {
    if (statusCodeOf(error) === 404) {
      throw new SophiaError(
        'unavailable',
        `The sandbox image ${image} is on neither this machine nor ${to.name}. Build it here first (Settings → Sandbox → Build sandbox image); it is then sent to ${to.name}.`,
      );
    }
    throw new SophiaError('unavailable', `Could not read the sandbox image on this machine: ${describeDockerError(error)}`);
  }
  const totalBytes = source.Size > 0 ? source.Size : undefined;
  const report = (phase: TransferPhase, bytes: number, line?: string): void =>
    input.onProgress?.({ phase, bytes, ...(totalBytes === undefined ? {} : { totalBytes }), ...(line === undefined ? {} : { line }) });

  // One controller ends everything: the person's stop, a stall, or either side failing.
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(signal?.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  const stallMs = input.stallMs ?? defaultStallMs;
  let stalled = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = (): void => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => {
      stalled = true;
      abort.abort(new Error('stalled'));
    }, stallMs);
  };

  let saved: NodeJS.ReadableStream | undefined;
  let counted = 0;
  let lastReported = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counted += chunk.length;
      armStall();
      if (counted - lastReported >= progressStepBytes) {
        lastReported = counted;
        report('saving', counted);
      }
      done(null, chunk);
    },
  });
  const tearDown = (): void => {
    (saved as (NodeJS.ReadableStream & { destroy?: (error?: Error) => void }) | undefined)?.destroy?.();
    counter.destroy();
  };
  abort.signal.addEventListener('abort', tearDown, { once: true });

  try {
    armStall();
    report('saving', 0);
    // A stream that arrives after an abort is destroyed as it arrives.
    const opening = from.getImage(image).get();
    void opening.then(
      (stream) => {
        saved = stream;
        if (abort.signal.aborted) tearDown();
      },
      () => undefined,
    );
    saved = await whileOpen(abort.signal, opening);
    // A failure on the reading side ends the upload, so the target does not wait for more.
    saved.on('error', (error: Error) => abort.abort(error));
    const sourceEnded = new Promise<void>((resolve) => counter.on('end', resolve));
    const piped = saved.pipe(counter);
    const loadReply = to
      .docker()
      .loadImage(piped, { abortSignal: abort.signal })
      .then((reply) => {
        abort.signal.addEventListener('abort', () => (reply as NodeJS.ReadableStream & { destroy: () => void }).destroy(), { once: true });
        return readReply(reply);
      });
    void sourceEnded.then(() => {
      if (!abort.signal.aborted) report('loading', counted);
    });
    const reply = await whileOpen(abort.signal, loadReply);
    const failure = reply.find((line) => line.error !== undefined);
    if (failure?.error !== undefined) throw new SophiaError('unavailable', `${to.name} could not load the sandbox image: ${failure.error.slice(0, 500)}`);
    const loadedLine = reply.map((line) => line.stream?.trim()).find((line) => line !== undefined && line !== '');
    if (loadedLine !== undefined) report('loading', counted, loadedLine.slice(0, 200));
  } catch (error) {
    if (signal?.aborted) throw new SophiaError('stopped', `Sending the sandbox image to ${to.name} was stopped.`);
    if (stalled) throw new SophiaError('unavailable', `Sending the sandbox image to ${to.name} stalled: nothing moved for ${Math.round(stallMs / 1000)} s. Check the connection, then try again.`);
    if (error instanceof SophiaError) throw error;
    throw new SophiaError('unavailable', `Sending the sandbox image to ${to.name} failed: ${describeEngineError(to, abort.signal.reason ?? error)}`);
  } finally {
    clearTimeout(stallTimer);
    signal?.removeEventListener('abort', onOuterAbort);
    // Whatever ended it, nothing of the transfer stays open (a request still sending, a reply still read).
    if (!abort.signal.aborted) abort.abort(new Error('finished'));
    tearDown();
  }

  await checkLoadedId(to, image, source.Id);
  return counted;
}

/**
 * The tag on the target must now name the very image that was sent. Anything else (an engine
 * that rewrote it, a tag another load moved) is refused and the tag removed, so a later tag
 * check does not take it for ours.
 */
async function checkLoadedId(to: SandboxEngine, image: string, expectedId: string): Promise<void> {
  const target = to.docker();
  let loadedId: string | undefined;
  try {
    loadedId = (await target.getImage(image).inspect()).Id;
  } catch (error) {
    if (statusCodeOf(error) !== 404) throw new SophiaError('unavailable', `Could not check the sandbox image on ${to.name}: ${describeEngineError(to, error)}`);
  }
  if (loadedId === expectedId) return;
  if (loadedId !== undefined) {
    await target
      .getImage(image)
      .remove({ noprune: true })
      .catch((error: unknown) => log.warn('could not remove the tag of a mismatched image', { engine: to.id, image, error }));
  }
  log.error('loaded image differs from the one sent', { engine: to.id, image, expectedId, loadedId });
  throw new SophiaError(
    'unavailable',
    loadedId === undefined
      ? `${to.name} reported the sandbox image loaded, but has no ${image}. It was not used.`
      : `${to.name} loaded an image other than the one sent (${shortId(loadedId)} instead of ${shortId(expectedId)}). It was removed and not used.`,
  );
}

/** `docker pull` on the target engine, its status lines passed on. Returns the image's size there. */
async function pull(input: EnsureImageInput): Promise<number> {
  const { to, image, signal } = input;
  const target = to.docker();
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(signal?.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  const stallMs = input.stallMs ?? defaultStallMs;
  let stalled = false;
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = (): void => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => {
      stalled = true;
      abort.abort(new Error('stalled'));
    }, stallMs);
  };
  try {
    armStall();
    input.onProgress?.({ phase: 'pulling', bytes: 0, line: `Pulling ${image}…` });
    const stream = await whileOpen(abort.signal, target.pull(image, { abortSignal: abort.signal }) as Promise<NodeJS.ReadableStream>);
    abort.signal.addEventListener('abort', () => (stream as NodeJS.ReadableStream & { destroy: () => void }).destroy(), { once: true });
    await whileOpen(
      abort.signal,
      new Promise<void>((resolve, reject) => {
        target.modem.followProgress(
          stream,
          (error: Error | null, output: Array<{ error?: string }>) => {
            const failure = output?.find((line) => typeof line.error === 'string');
            if (error) reject(error);
            else if (failure?.error !== undefined) reject(new SophiaError('unavailable', `${to.name} could not pull ${image}: ${failure.error.slice(0, 500)}`));
            else resolve();
          },
          (event: { status?: string; id?: string; progress?: string; error?: string }) => {
            armStall();
            const line = [event.id, event.status, event.progress].filter((part) => typeof part === 'string' && part !== '').join(' ');
            if (line !== '') input.onProgress?.({ phase: 'pulling', bytes: 0, line: line.slice(0, 200) });
          },
        );
      }),
    );
  } catch (error) {
    if (signal?.aborted) throw new SophiaError('stopped', `Pulling ${image} on ${to.name} was stopped.`);
    if (stalled) throw new SophiaError('unavailable', `Pulling ${image} on ${to.name} stalled: nothing moved for ${Math.round(stallMs / 1000)} s.`);
    if (error instanceof SophiaError) throw error;
    throw new SophiaError('unavailable', pullFailure(to, image, error));
  } finally {
    clearTimeout(stallTimer);
    signal?.removeEventListener('abort', onOuterAbort);
  }
  try {
    return (await target.getImage(image).inspect()).Size;
  } catch (error) {
    throw new SophiaError('unavailable', `${to.name} finished pulling ${image} but does not have it: ${describeEngineError(to, error)}`);
  }
}

function pullFailure(to: SandboxEngine, image: string, error: unknown): string {
  const status = statusCodeOf(error);
  if (status === 404) return `${to.name} could not pull ${image}: the registry has no such image (or it needs a login that engine does not have).`;
  if (status === 401 || status === 403) return `${to.name} may not pull ${image}: the registry refused (log that engine in to the registry first).`;
  return `${to.name} could not pull ${image}: ${describeEngineError(to, error)}`;
}

interface ReplyLine {
  readonly stream?: string;
  readonly error?: string;
}

/** The load's answer: JSON lines (`{"stream": "Loaded image: ..."}` or `{"error": ...}`), at most 64 kB kept. */
function readReply(reply: NodeJS.ReadableStream): Promise<ReplyLine[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    reply.on('data', (chunk: Buffer) => {
      if (text.length < 65_536) text += chunk.toString();
    });
    reply.on('error', reject);
    reply.on('end', () =>
      resolve(
        text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line): ReplyLine => {
            try {
              const parsed = JSON.parse(line) as { stream?: unknown; error?: unknown; message?: unknown };
              const error = typeof parsed.error === 'string' ? parsed.error : undefined;
              return { ...(typeof parsed.stream === 'string' ? { stream: parsed.stream } : {}), ...(error === undefined ? {} : { error }) };
            } catch {
              return { stream: line };
            }
          }),
      ),
    );
  });
}

/** What an engine call is for, in the error when that engine cannot be reached. */
async function engineCall<T>(engine: SandboxEngine, what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    // `reachable: false` lets the caller say the engine is down rather than the image broken.
    const reason = describeEngineError(engine, error);
    // A remote engine's reason names it already.
    throw new SophiaError('unavailable', engine.remote ? reason : `Could not ${what} on ${engine.name}: ${reason}`, { reachable: false });
  }
}

/**
 * Why an engine did not answer, in plain words. This machine's engine gets the usual Docker
 * advice; a remote one gets words about the connection, not about starting Docker here.
 */
export function describeEngineError(engine: SandboxEngine, error: unknown): string {
  if (!engine.remote) return describeDockerError(error);
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 200);
  switch (code) {
    case 'ECONNREFUSED':
      return `${engine.name} refused the connection: nothing listens there. Check that its engine runs and the address and port are right, then press Retry.`;
    case 'ETIMEDOUT':
      return `${engine.name} did not answer in time. Check the network path to it, then press Retry.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${engine.name}'s host name could not be resolved. Check the host in Settings → Engines.`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `${engine.name} closed the connection (${message}). Press Retry.`;
    case 'ENOENT':
    case 'EACCES':
      return `${engine.name}'s socket cannot be used (${code}): is the service running, and may this user open it?`;
    default:
      if (/certificate|tls|ssl/i.test(message)) return `${engine.name} refused the secure connection (${message}). Check its certificates in Settings → Engines.`;
      return `${engine.name} cannot be reached (${message}).`;
  }
}

/** Rejects as soon as `signal` is aborted, so a call that ignores the signal cannot hold things up. */
function whileOpen<T>(signal: AbortSignal, promise: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SophiaError('stopped', 'Bringing the sandbox image to the engine was stopped.');
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
