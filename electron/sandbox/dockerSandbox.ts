/**
 * One task's sandbox on the Docker engine, through dockerode.
 *
 * Speed: starting a process with `docker exec` costs tens of milliseconds (runc sets up
 * the namespaces). So a sandbox keeps one exec *already started*: a tiny shell stub that
 * waits on its standard input. Running a command writes the command to that stub, which
 * `exec`s it; output is on its way in a few milliseconds. After each command the next stub
 * is started in the background. Exit codes come from the exec's own record, as usual.
 *
 * Timeouts: past its wall-clock limit a command is ended by `kill -KILL -1` run as the
 * sandbox user, which ends every process of the sandbox user (the command, its children,
 * anything it left in the background) and nothing else: PID 1 cannot be signalled from
 * inside, and the keeper runs as another user. The output so far is kept. If even that
 * fails (say the pids limit is exhausted), the container is removed.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path/posix';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type * as TarStream from 'tar-stream';
import { limits, type SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { requireOnFirstUse } from '../core/lazyRequire';
import { inSpan, sophiaSpans } from '../core/spans';
import { createLogger } from '../log';
import { statusCodeOf, withTimeout } from './dockerClient';
import { DockerFrameParser, encodeCommand, shellQuote } from './dockerStream';
import { containerSpec, keeperUser, workspaceMountPoint, type ContainerSpecInput } from './hardening';
import { masksKey } from './secretMasks';
import { cutAll, cutPartialTail, StreamCutter } from './outputRedaction';
import type { ExecOptions, ExecResult, OutputStream, Redaction, Sandbox, SandboxFile, SyncReport, WorkspaceAccess } from './sandbox';
import { applyWorkspaceArchive, type SentFiles } from './workspaceArchive';

const log = createLogger('dockerSandbox');
// tar-stream is required with the first file copied in or out of a sandbox, not at start.
const tarStream = requireOnFirstUse<typeof TarStream>('tar-stream');

export const execLimits = {
  defaultTimeoutMs: 60_000,
  minTimeoutMs: 100,
  maxTimeoutMs: 30 * 60_000,
  /** Output kept in the result, per stream. */
  keptBytes: 1024 * 1024,
  /** Output sent to the execution log, per command. */
  streamedBytes: 2 * 1024 * 1024,
  commandBytes: 256 * 1024,
  copyBytes: 64 * 1024 * 1024,
  /** After a timeout kill, how long the command may take to end before the container is removed. */
  killGraceMs: 3000,
} as const;

/** Output events are gathered for this long, so a chatty command sends tens of events a second, not thousands. */
const flushIntervalMs = 25;
const eventChunkChars = 16 * 1024;

export interface SandboxUser {
  readonly uid: number;
  readonly gid: number;
}

/** A started container and the attach stream that keeps it alive. */
export interface SandboxContainer {
  readonly id: string;
  readonly name: string;
  readonly container: Docker.Container;
  readonly access: WorkspaceAccess;
  readonly workspace: string | undefined;
  /** Which secret files and folders it covers (`masksKey`). */
  readonly masksKey: string;
  /** Closing it ends the container: see `hardening.ts`. */
  readonly keeper: Duplex;
  /** True once the keeper stream closed: the container is gone or going. */
  isGone(): boolean;
}

export function randomId(prefix = ''): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

export async function removeContainer(container: Docker.Container): Promise<'removed' | 'already-gone'> {
  try {
    // Force: SIGKILL and remove in one call, without `docker stop`'s grace period.
    await container.remove({ force: true, v: true });
    return 'removed';
  } catch (error) {
    const code = statusCodeOf(error);
    // 404: gone already. 409: its auto-removal is under way.
    if (code === 404 || code === 409) return 'already-gone';
    throw error;
  }
}

/** Creates, attaches the keeper stream and starts a hardened container. */
export async function startSandboxContainer(docker: Docker, spec: ContainerSpecInput): Promise<SandboxContainer> {
  const container = await docker.createContainer(containerSpec(spec));
  let keeper: Duplex | undefined;
  try {
    keeper = (await container.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true })) as Duplex;
    let gone = false;
    keeper.on('close', () => (gone = true));
    keeper.on('end', () => (gone = true));
    keeper.on('error', (error) => {
      gone = true;
      log.debug('keeper stream error', { container: container.id.slice(0, 12), error });
    });
    await container.start();
    return { id: container.id, name: spec.name, container, access: spec.access, workspace: spec.workspace, masksKey: masksKey(spec.masked), keeper, isGone: () => gone };
  } catch (error) {
    keeper?.destroy();
    await removeContainer(container).catch((removeError: unknown) => log.warn('could not remove a half-started container', { error: removeError }));
    throw error;
  }
}

/**
 * On a remote engine `/workspace` is a volume whose top folder the command user cannot write,
 * and putArchive does not change the top folder. For read-write access it is opened with one
 * fixed command, run as the folder's owner (no capability needed): root on Docker; Podman
 * gives a new volume to the container's user (the keeper), and applies the archive's top entry
 * (the command user, after a read-write copy). Nothing else ever runs as root or the keeper.
 */
export async function openWorkspaceForWrites(box: SandboxContainer, commandUser: SandboxUser): Promise<void> {
  const exitCodes: Array<number | null> = [];
  for (const user of ['0:0', `${commandUser.uid}:${commandUser.gid}`, `${keeperUser.uid}:${keeperUser.gid}`]) {
    const code = await withTimeout(runFixed(box, ['/bin/chmod', '0777', workspaceMountPoint], user), 15_000, 'Opening /workspace for writes');
    if (code === 0) return;
    exitCodes.push(code);
  }
  throw new SophiaError('unavailable', `The sandbox's /workspace could not be made writable (exit codes ${exitCodes.map(String).join(', ')}).`);
}

/** Runs a fixed command (never a model's) in the container and returns its exit code. */
async function runFixed(box: SandboxContainer, argv: readonly string[], user: string): Promise<number | null> {
  const exec = await box.container.exec({ Cmd: [...argv], User: user, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  await new Promise<void>((resolve) => {
    stream.on('data', () => undefined);
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  // The stream can close a moment before the engine records the exit.
  for (let attempt = 0; attempt < 40; attempt++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return null;
}

/** What the stub writes to stderr once it waits for its command. */
const readyMarker = 'R';

// Says it is ready, reads the command (a line count, then the lines) and becomes it. Bytes
// after the command stay on standard input for the command. A raised OOM score makes the
// kernel pick a command over the keeper when memory runs out.
const stubScript = `{ echo 500 > /proc/self/oom_score_adj; } 2>/dev/null
printf ${readyMarker} >&2
IFS= read -r n || exit 125
case $n in ''|*[!0-9]*) exit 125;; esac
c=
i=0
while [ "$i" -lt "$n" ]; do
  IFS= read -r l || exit 125
  c="$c$l
"
  i=$((i + 1))
done
exec /bin/sh -c "$c"`;

/** A started exec of the stub, waiting for its command. */
export interface ReadyExec {
  readonly exec: Docker.Exec;
  readonly socket: Duplex;
  isClosed(): boolean;
}

/**
 * Starts the stub and resolves once it waits for its command. Docker reports an exec as
 * running before its process has started (runc needs tens of milliseconds more), so the
 * stub's own word is the signal. Bounded in time, and abandoned when `signal` aborts (the
 * sandbox is being removed: Docker may then never answer the start).
 */
export async function startStub(
  box: SandboxContainer,
  user: SandboxUser,
  options: { readonly signal?: AbortSignal; readonly timeoutMs?: number; readonly env?: readonly string[] } = {},
): Promise<ReadyExec> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error(`the command stub was not ready within ${timeoutMs} ms`)), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  try {
    const exec = await box.container.exec({
      Cmd: ['/bin/sh', '-c', stubScript],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: `${user.uid}:${user.gid}`,
      ...(options.env && options.env.length > 0 ? { Env: [...options.env] } : {}),
      abortSignal: signal,
    });
    const socket = (await exec.start({ hijack: true, stdin: true, abortSignal: signal })) as Duplex;
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('end', () => (closed = true));
    // Errors before a command is written only mean the stub is unusable.
    socket.on('error', () => (closed = true));
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        signal.removeEventListener('abort', onAbort);
        // Nothing more arrives until the command is written; the command's reader resumes it.
        socket.pause();
        if (error) {
          socket.destroy();
          reject(error);
        } else {
          resolve();
        }
      };
      const parser = new DockerFrameParser((stream, payload) =>
        stream === 'stderr' && payload.toString() === readyMarker
          ? finish()
          : finish(new Error(`the command stub could not start: ${JSON.stringify(payload.toString().trim().slice(0, 200))}`)),
      );
      const onData = (chunk: Buffer): void => parser.push(chunk);
      const onEnd = (): void => finish(new Error('the command stub ended before it was ready'));
      const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new Error('abandoned'));
      if (signal.aborted) return onAbort();
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return { exec, socket, isClosed: () => closed };
  } finally {
    clearTimeout(timer);
  }
}

/** Never rejects: a stub that failed to start is replaced when it is needed. */
export function primeStub(box: SandboxContainer, user: SandboxUser, signal?: AbortSignal): Promise<ReadyExec | undefined> {
  return startStub(box, user, signal ? { signal } : {}).catch((error: unknown) => {
    if (!box.isGone()) log.debug('could not pre-start a command stub', { container: box.id.slice(0, 12), error });
    return undefined;
  });
}

interface Segment {
  stream: OutputStream;
  text: string;
}

/** Gathers a command's output: kept for the result (bounded), streamed to the log (bounded, coalesced). */
class OutputCollector {
  readonly #decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  readonly #kept: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
  readonly #keptBytes: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
  #pending: Segment[] = [];
  #pendingChars = 0;
  #streamedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #cutters: Record<OutputStream, StreamCutter> | undefined;
  truncated = false;
  firstOutputAt: number | undefined;

  constructor(
    private readonly emit: (stream: OutputStream, chunk: string) => void,
    private readonly onOutput: ExecOptions['onOutput'],
    private readonly binaryStdout: boolean,
    private readonly redactions: readonly Redaction[] = [],
  ) {
    this.#cutters = redactions.length > 0 ? { stdout: new StreamCutter(redactions), stderr: new StreamCutter(redactions) } : undefined;
  }

  /** The kept output as text, with the redactions cut (a value cut in half by the limit, too). */
  keptText(stream: OutputStream): string {
    const text = this.kept(stream).toString('utf8');
    if (this.redactions.length === 0) return text;
    const cut = cutAll(text, this.redactions);
    return this.truncated ? cutPartialTail(cut, this.redactions) : cut;
  }

  add(stream: OutputStream, payload: Buffer): void {
    this.firstOutputAt ??= performance.now();
    this.#keep(stream, payload);
    if (this.binaryStdout && stream === 'stdout') return;
    const text = this.#decoders[stream].decode(payload, { stream: true });
    if (text.length > 0) this.#forward(stream, text);
  }

  #keep(stream: OutputStream, payload: Buffer): void {
    const limit = this.binaryStdout && stream === 'stdout' ? execLimits.copyBytes : execLimits.keptBytes;
    const room = limit - this.#keptBytes[stream];
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const piece = payload.length > room ? payload.subarray(0, room) : payload;
    if (piece.length < payload.length) this.truncated = true;
    this.#kept[stream].push(Buffer.from(piece));
    this.#keptBytes[stream] += piece.length;
  }

  #forward(stream: OutputStream, raw: string): void {
    const text = this.#cutters ? this.#cutters[stream].push(raw) : raw;
    if (text.length > 0) this.#forwardShown(stream, text);
  }

  #forwardShown(stream: OutputStream, text: string): void {
    if (this.onOutput) {
      try {
        this.onOutput(stream, text);
      } catch (error) {
        log.error('output listener failed', { error });
      }
    }
    const room = execLimits.streamedBytes - this.#streamedBytes;
    if (room <= 0) return;
    const bytes = Buffer.byteLength(text);
    this.#streamedBytes += Math.min(bytes, room);
    const shown =
      bytes >= room
        ? `${Buffer.from(text).subarray(0, room).toString()}\n[Sophia: output past ${execLimits.streamedBytes / 1024 / 1024} MiB is not shown here]\n`
        : text;
    const last = this.#pending.at(-1);
    if (last && last.stream === stream) last.text += shown;
    else this.#pending.push({ stream, text: shown });
    this.#pendingChars += shown.length;
    if (this.#pendingChars >= eventChunkChars) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), flushIntervalMs);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const segments = this.#pending;
    this.#pending = [];
    this.#pendingChars = 0;
    for (const { stream, text } of segments) {
      for (let start = 0; start < text.length; start += eventChunkChars) this.emit(stream, text.slice(start, start + eventChunkChars));
    }
  }

  finish(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.binaryStdout && stream === 'stdout') continue;
      const rest = this.#decoders[stream].decode();
      if (rest.length > 0) this.#forward(stream, rest);
      const held = this.#cutters?.[stream].end() ?? '';
      if (held.length > 0) this.#forwardShown(stream, held);
    }
    this.flush();
  }

  kept(stream: OutputStream): Buffer {
    return Buffer.concat(this.#kept[stream]);
  }
}

interface RunOptions extends ExecOptions {
  /** Keep standard output as bytes (for tar), not shown in the log. */
  readonly binaryStdout?: boolean;
}

interface RunOutcome {
  readonly result: ExecResult;
  readonly stdoutBytes: Buffer;
}

export interface DockerSandboxOptions {
  readonly docker: Docker;
  readonly box: SandboxContainer;
  readonly taskId: string;
  readonly user: SandboxUser;
  readonly publish: (event: SophiaEvent) => void;
  /** A stub the pool started ahead of time. */
  readonly ready?: Promise<ReadyExec | undefined>;
  /**
   * On a remote engine: the workspace on this machine that `/workspace` is a copy of, and the
   * files sent (to tell a deletion in the sandbox from a file never sent). `syncBack` uses it.
   */
  readonly copyOf?: { readonly workspace: string; readonly sent: SentFiles };
  readonly onDestroyed?: (sandbox: DockerSandbox) => void;
}

export class DockerSandbox implements Sandbox {
  readonly taskId: string;
  readonly containerId: string;
  readonly access: WorkspaceAccess;
  readonly #options: DockerSandboxOptions;
  #ready: Promise<ReadyExec | undefined> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #destroying: Promise<void> | undefined;
  #running: { readonly socket: Duplex } | undefined;
  /** Aborted on destroy: a stub still starting is abandoned. */
  readonly #lifetime = new AbortController();

  constructor(options: DockerSandboxOptions) {
    this.#options = options;
    this.taskId = options.taskId;
    this.containerId = options.box.id;
    this.access = options.box.access;
    this.#ready = options.ready ?? primeStub(options.box, options.user, this.#lifetime.signal);
  }

  get destroyed(): boolean {
    return this.#destroying !== undefined;
  }

  get containerName(): string {
    return this.#options.box.name;
  }

  exec(command: string | readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const text = typeof command === 'string' ? command : shellQuote(command);
    return inSpan({ name: sophiaSpans.sandboxRun, attributes: { 'sophia.sandbox.task_id': this.taskId, 'sophia.sandbox.access': this.access } }, async (span) => {
      span.content(() => ({ 'sophia.sandbox.command': text }));
      const { result } = await this.#enqueue(() => this.#run(text, options));
      span.set({ 'sophia.sandbox.exit_code': result.exitCode ?? -1, 'sophia.sandbox.duration_ms': result.durationMs, 'sophia.sandbox.timed_out': result.timedOut, 'sophia.sandbox.stopped': result.stopped });
      if (result.exitCode !== 0) span.set({ 'error.type': result.timedOut ? 'timeout' : result.stopped ? 'stopped' : 'exit_code' });
      return result;
    });
  }

  async copyIn(directory: string, files: readonly SandboxFile[]): Promise<void> {
    const target = checkedSandboxPath(directory);
    const archive = await packFiles(files);
    const command = shellQuote(['/bin/sh', '-c', 'mkdir -p -- "$1" && exec tar -x -m -f - -C "$1"', 'sh', target]);
    const { result } = await this.#enqueue(() => this.#run(command, { stdin: archive, timeoutMs: 120_000 }));
    if (result.exitCode !== 0) {
      throw new SophiaError('refused', `Copying ${files.length} file(s) into ${target} failed: ${result.stderr.trim().slice(0, 500) || `exit code ${String(result.exitCode)}`}`);
    }
  }

  async copyOut(from: string): Promise<SandboxFile[]> {
    const source = checkedSandboxPath(from);
    const script = 'if [ -d "$1" ]; then cd -- "$1" && exec tar -c -f - .; else cd -- "$(dirname -- "$1")" && exec tar -c -f - -- "$(basename -- "$1")"; fi';
    const command = shellQuote(['/bin/sh', '-c', script, 'sh', source]);
    const { result, stdoutBytes } = await this.#enqueue(() => this.#run(command, { binaryStdout: true, timeoutMs: 120_000 }));
    if (result.exitCode !== 0) {
      throw new SophiaError('bad_request', `Copying ${source} out of the sandbox failed: ${result.stderr.trim().slice(0, 500) || `exit code ${String(result.exitCode)}`}`);
    }
    if (result.truncated) throw new SophiaError('refused', `${source} is larger than ${execLimits.copyBytes / 1024 / 1024} MiB.`);
    return unpackFiles(stdoutBytes);
  }

  async syncBack(): Promise<SyncReport> {
    const empty: SyncReport = { written: [], removed: [], created: [], refused: [], unchanged: 0, ignored: 0 };
    if (this.access !== 'read-write') {
      throw new SophiaError('refused', 'This sandbox was handed out read-only: nothing it wrote comes back to the workspace.');
    }
    const copyOf = this.#options.copyOf;
    // The local engine bind-mounts the workspace: the writes are already there.
    if (copyOf === undefined) return empty;
    return this.#enqueue(async () => {
      if (this.destroyed) throw new SophiaError('stopped', 'This sandbox has been removed (its task ended, or Sophia was stopped); nothing was copied back.');
      const started = performance.now();
      const archive = await withTimeout(this.#options.box.container.getArchive({ path: workspaceMountPoint }), 60_000, "Asking the engine for the sandbox's /workspace");
      const report = await applyWorkspaceArchive(copyOf.workspace, archive, copyOf.sent, { stallMs: 120_000 });
      log.info('workspace copied back from the sandbox', {
        taskId: this.taskId,
        written: report.written.length,
        removed: report.removed.length,
        created: report.created.length,
        refused: report.refused.length,
        ignored: report.ignored,
        unchanged: report.unchanged,
        durationMs: Math.round(performance.now() - started),
      });
      return report;
    });
  }

  destroy(): Promise<void> {
    this.#destroying ??= this.#destroy();
    return this.#destroying;
  }

  async #destroy(): Promise<void> {
    const { box } = this.#options;
    const ready = this.#ready;
    this.#ready = undefined;
    this.#lifetime.abort(new Error('the sandbox is being removed'));
    try {
      await removeContainer(box.container);
    } finally {
      box.keeper.destroy();
      void ready?.then((stub) => stub?.socket.destroy());
      this.#running?.socket.destroy();
      this.#options.onDestroyed?.(this);
    }
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #takeStub(): Promise<ReadyExec> {
    const { box, user } = this.#options;
    const ready = await this.#ready;
    this.#ready = undefined;
    if (ready && !ready.isClosed()) return ready;
    ready?.socket.destroy();
    return startStub(box, user, { signal: this.#lifetime.signal });
  }

  async #run(command: string, options: RunOptions): Promise<RunOutcome> {
    if (command.trim().length === 0) throw new SophiaError('bad_request', 'The command is empty.');
    if (command.includes('\0')) throw new SophiaError('bad_request', 'A command cannot contain a NUL byte.');
    if (Buffer.byteLength(command) > execLimits.commandBytes) {
      throw new SophiaError('bad_request', `A command may be at most ${execLimits.commandBytes / 1024} KiB.`);
    }
    if (this.destroyed) throw new SophiaError('stopped', 'This sandbox has been removed (its task ended, or Sophia was stopped).');
    const { taskId, publish, box } = this.#options;
    const timeoutMs = Math.min(execLimits.maxTimeoutMs, Math.max(execLimits.minTimeoutMs, options.timeoutMs ?? execLimits.defaultTimeoutMs));

    // A command with its own environment gets its own exec: the warm stub has none.
    const env = options.env ? Object.entries(options.env).map(([name, value]) => `${name}=${value}`) : undefined;
    const ownExec = env !== undefined && env.length > 0;
    let stub: ReadyExec;
    try {
      stub = ownExec ? await startStub(box, this.#options.user, { signal: this.#lifetime.signal, env }) : await this.#takeStub();
    } catch (error) {
      if (this.destroyed) throw new SophiaError('stopped', 'The sandbox was removed before the command started.');
      log.error('could not start a command', { container: box.id.slice(0, 12), error });
      throw new SophiaError('unavailable', 'The sandbox could not start the command; the details are in the log.');
    }
    if (this.destroyed) {
      stub.socket.destroy();
      throw new SophiaError('stopped', 'The sandbox was removed before the command started.');
    }

    const execId = randomId('x');
    const startedAt = Date.now();
    const started = performance.now();
    publish({ type: 'container.started', taskId, execId, command: command.slice(0, limits.command), startedAt });
    const collector = new OutputCollector(
      (stream, chunk) => publish({ type: 'container.output', taskId, execId, stream, chunk }),
      options.onOutput,
      options.binaryStdout === true,
      options.redactions ?? [],
    );
    const parser = new DockerFrameParser((stream, payload) => collector.add(stream, payload));
    const { socket } = stub;
    this.#running = { socket };
    const ended = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => parser.push(chunk));
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
      socket.once('error', (error) => {
        log.debug('command stream error', { execId, error });
        resolve();
      });
      // `startStub` paused it once the stub was ready.
      socket.resume();
    });

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void this.#killCommands(execId, ended);
    }, timeoutMs);
    socket.write(encodeCommand(command));
    if (options.stdin !== undefined && options.stdin.length > 0) socket.write(options.stdin);
    socket.end();

    await ended;
    clearTimeout(timer);
    this.#running = undefined;
    collector.finish();
    const stopped = this.destroyed && !timedOut;
    const exitCode = stopped ? null : await this.#exitCode(stub.exec);
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    const truncated = collector.truncated;
    publish({ type: 'container.ended', taskId, execId, exitCode, durationMs, timedOut, stopped, truncated });
    log.debug('command ended', { taskId, execId, exitCode, durationMs, timedOut, stopped });
    if (!this.destroyed && !ownExec) this.#ready = primeStub(box, this.#options.user, this.#lifetime.signal);
    const stdoutBytes = collector.kept('stdout');
    return {
      stdoutBytes,
      result: {
        execId,
        exitCode,
        stdout: options.binaryStdout === true ? '' : collector.keptText('stdout'),
        stderr: collector.keptText('stderr'),
        durationMs,
        timedOut,
        stopped,
        truncated,
      },
    };
  }

  async #exitCode(exec: Docker.Exec): Promise<number | null> {
    // The stream can close a moment before Docker records the exit; ask a few times.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const info = await exec.inspect();
        if (!info.Running) return info.ExitCode;
      } catch (error) {
        if (!this.destroyed) log.warn('could not read an exit code', { error });
        return null;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return null;
  }

  async #killCommands(execId: string, ended: Promise<void>): Promise<void> {
    const { box, user } = this.#options;
    log.info('command timed out; killing it', { taskId: this.taskId, execId });
    try {
      const killer = await box.container.exec({ Cmd: ['/bin/sh', '-c', 'kill -KILL -1'], User: `${user.uid}:${user.gid}`, AttachStdout: false, AttachStderr: false });
      await killer.start({ Detach: true });
    } catch (error) {
      log.warn('the kill command could not run', { execId, error });
    }
    const grace = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), execLimits.killGraceMs).unref());
    if ((await Promise.race([ended.then(() => 'ended' as const), grace])) === 'late') {
      log.warn('a timed-out command outlived its kill; removing the sandbox', { taskId: this.taskId, execId });
      await this.destroy().catch((error: unknown) => log.error('could not remove the sandbox', { error }));
    }
  }
}

/** An absolute path inside the sandbox, without NUL or `..`. */
function checkedSandboxPath(value: string): string {
  if (!value.startsWith('/') || value.includes('\0')) throw new SophiaError('bad_request', 'A sandbox path must be absolute.');
  const normal = path.normalize(value);
  if (normal.split('/').includes('..')) throw new SophiaError('bad_request', 'A sandbox path may not contain "..".');
  return normal;
}

function checkedRelativePath(value: string): string {
  const normal = path.normalize(value);
  if (value.length === 0 || value.includes('\0') || normal.startsWith('/') || normal === '.' || normal.split('/').includes('..')) {
    throw new SophiaError('bad_request', `Not a relative file path: ${JSON.stringify(value.slice(0, 200))}`);
  }
  return normal;
}

async function packFiles(files: readonly SandboxFile[]): Promise<Buffer> {
  const total = files.reduce((sum, file) => sum + file.content.length, 0);
  if (total > execLimits.copyBytes) throw new SophiaError('refused', `At most ${execLimits.copyBytes / 1024 / 1024} MiB can be copied in at once.`);
  const pack = tarStream().pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const file of files) {
    const name = checkedRelativePath(file.path);
    pack.entry({ name, mode: file.mode ?? 0o644, type: 'file', mtime: new Date() }, Buffer.from(file.content));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function unpackFiles(archive: Buffer): Promise<SandboxFile[]> {
  const files: SandboxFile[] = [];
  const extract = tarStream().extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (chunk: unknown) => {
        parts.push(chunk as Buffer);
      });
      stream.on('end', () => {
        if (header.type === 'file') {
          const name = header.name.replace(/^\.\//, '');
          files.push({ path: name, content: Buffer.concat(parts), mode: header.mode ?? 0o644 });
        }
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(archive);
  await done;
  return files;
}
