/**
 * The sandbox service on Docker: the status the renderer shows, start-up clean-up of
 * containers a crashed launch left behind, the warm pool, handing sandboxes to tasks, and
 * `killAll` for the emergency stop.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { limits as contractLimits, type SandboxStatus, type SophiaEvent, type StoppedItem } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { createLogger } from '../log';
import { describeDockerError, imageExists, pingDocker } from './dockerClient';
import {
  DockerSandbox,
  openWorkspaceForWrites,
  primeStub,
  randomId,
  removeContainer,
  startSandboxContainer,
  type ReadyExec,
  type SandboxContainer,
  type SandboxUser,
} from './dockerSandbox';
import type { SandboxEngine } from './engines/engine';
import { localSocketEngine } from './engines/localEngine';
import { clampLimits, commandUser, egressNeedsLocalEngine, labelKeys, workspaceMountPoint, type SandboxLimits } from './hardening';
import type { AcquireOptions, Sandbox, SandboxService, WorkspaceAccess } from './sandbox';
import { buildBlocker, debianMirror, defaultSandboxImage, ensureSandboxImage, type BuildPhase } from './sandboxImage';
import { currentOwner, ownerIsGone, ownerLabels, type Owner } from './sandboxOwner';
import { SandboxPool } from './sandboxPool';
import { findSecretMasks, masksKey } from './secretMasks';
import { ensureWorkspaceImage, type WorkspaceImageSource } from './workspaceImage';
import { packWorkspace, scanWorkspace, type ArchiveOwner, type SentFiles, type WorkspaceScan } from './workspaceArchive';

const log = createLogger('sandboxService');

export interface DockerSandboxServiceOptions {
  readonly publish: (event: SophiaEvent) => void;
  /**
   * The engine the sandboxes run on. Default: the local socket (made on first use). On a
   * remote one (`engine.remote`) nothing is bind-mounted: the workspace is copied in at
   * hand-out and comes back only through `Sandbox.syncBack` for read-write access.
   */
  readonly engine?: SandboxEngine;
  /** A client of a local engine (bind mounts work); ignored when `engine` is given. The caller closes an engine it gives. */
  readonly docker?: Docker;
  /** A user-named image. Default: the image built from the recipe in `sandboxImage.ts`. */
  readonly image?: string;
  /** Warm containers kept ready. */
  readonly poolSize?: number;
  /** The workspace warm containers mount, read-only (the user's open folder); empty or undefined: none. */
  readonly workspace?: () => string | undefined;
  readonly limits?: Partial<SandboxLimits>;
  /** Throws when work may not start (the emergency stop is engaged). */
  readonly guard?: () => void;
  /** How often to look for Docker again while it is unreachable. 0: only when asked. */
  readonly retryMs?: number;
  /** Throws when the image may not be built from this Debian mirror now (offline mode and a mirror off this machine). */
  readonly checkMirror?: (mirror: string) => void;
  /** The Debian mirror the default image is built from; by default SOPHIA_DEBIAN_MIRROR, else the one apt uses. */
  readonly mirror?: string;
  /**
   * Whether the person chose this workspace's own Dockerfile or devcontainer.json for its
   * sandbox image (Settings → Sandbox, read at each use); undefined: the default (or named) image.
   */
  readonly workspaceImage?: (workspace: string) => WorkspaceImageSource | undefined;
}

interface WarmSandbox {
  readonly box: SandboxContainer;
  readonly ready: Promise<ReadyExec | undefined>;
  /** The image it runs: a task whose image differs (a workspace image built since) does not take it. */
  readonly image: string;
}

const maxPoolSize = 8;
const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

export class DockerSandboxService implements SandboxService {
  readonly #engine: SandboxEngine;
  /** Whether the service has talked to the engine yet (its client is made on first use). */
  #engineUsed = false;
  readonly #publish: (event: SophiaEvent) => void;
  readonly #image: string;
  readonly #namedImage: boolean;
  readonly #limits: SandboxLimits;
  readonly #user: SandboxUser = commandUser();
  readonly #owner: Owner = currentOwner();
  readonly #guard: () => void;
  readonly #retryMs: number;
  readonly #checkMirror: (mirror: string) => void;
  readonly #mirror: string | undefined;
  readonly #pool: SandboxPool<WarmSandbox>;
  readonly #workspace: () => string | undefined;
  readonly #workspaceImage: (workspace: string) => WorkspaceImageSource | undefined;
  /** Workspace image builds under way: the emergency stop aborts them. */
  readonly #workspaceBuilds = new Set<AbortController>();
  /** The last line of a workspace image build under way, shown in the status. */
  #workspaceBuildLine: string | undefined;
  /** How far copying a workspace to a remote engine has got, shown in the status. */
  #sendLine: string | undefined;
  /** Sandboxes handed to tasks and not yet destroyed. */
  readonly #active = new Set<DockerSandbox>();
  /** Bumped by killAll: a container whose creation began before it is removed when it arrives. */
  #generation = 0;
  #state: SandboxStatus['state'] = 'checking';
  #message = 'Looking for Docker…';
  #starting: Promise<SandboxStatus> | undefined;
  #building: Promise<void> | undefined;
  /** Ends the image build under way (debootstrap, tar, the import): the emergency stop aborts it. */
  #buildAbort: AbortController | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #stopped = false;

  constructor(options: DockerSandboxServiceOptions) {
    this.#engine = options.engine ?? localSocketEngine(options.docker);
    this.#publish = options.publish;
    this.#namedImage = options.image !== undefined && options.image.length > 0;
    this.#image = this.#namedImage ? (options.image as string) : defaultSandboxImage();
    this.#limits = clampLimits(options.limits);
    this.#guard = options.guard ?? (() => undefined);
    this.#retryMs = options.retryMs ?? 15_000;
    this.#checkMirror = options.checkMirror ?? (() => undefined);
    this.#mirror = options.mirror;
    this.#workspace = options.workspace ?? (() => undefined);
    this.#workspaceImage = options.workspaceImage ?? (() => undefined);
    this.#pool = new SandboxPool<WarmSandbox>({
      size: Math.min(maxPoolSize, Math.max(0, options.poolSize ?? 2)),
      create: () => this.#createWarm(),
      discard: (warm) => this.#discard(warm.box),
      // A warm container of a workspace the user has since closed is no use. On a remote
      // engine warm containers carry no workspace: it is copied in at hand-out.
      isAlive: (warm) => !warm.box.isGone() && (this.#engine.remote || warm.box.workspace === this.#poolWorkspace()),
      onChange: () => this.#announce(),
    });
  }

  get #docker(): Docker {
    this.#engineUsed = true;
    return this.#engine.docker();
  }

  /** The engine this service runs its sandboxes on. */
  get engine(): SandboxEngine {
    return this.#engine;
  }

  get image(): string {
    return this.#image;
  }

  /** The label value that marks this launch's containers. */
  get ownerId(): string {
    return this.#owner.id;
  }

  get pool(): { readonly size: number; readonly warm: number; readonly creating: number } {
    return { size: this.#pool.size, warm: this.#pool.warm, creating: this.#pool.creating };
  }

  status(): SandboxStatus {
    const building = this.#workspaceBuildLine;
    const message = building !== undefined ? `Building the workspace's sandbox image: ${building}` : (this.#sendLine ?? this.#message);
    return {
      state: this.#state,
      message: message.slice(0, contractLimits.notice),
      image: this.#image.slice(0, contractLimits.label),
      pool: { size: this.#pool.size, warm: this.#pool.warm },
      containers: this.#active.size,
    };
  }

  start(): Promise<SandboxStatus> {
    this.#starting ??= this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async prepare(): Promise<SandboxStatus> {
    // Building the image starts processes (debootstrap, tar, docker import): not while stopped.
    this.#guard();
    if (this.#stopped) throw new SophiaError('stopped', 'Sophia is stopped. Press Resume to continue.');
    if (this.#state === 'building-image') return this.status();
    await this.start();
    if (this.#state === 'image-missing' && !this.#namedImage && buildBlocker() === undefined) this.#startBuild();
    return this.status();
  }

  /** Resolves when the pool is full and idle (or paused); for benchmarks and tests. */
  poolSettled(timeoutMs = 60_000): Promise<boolean> {
    return this.#pool.settled(timeoutMs);
  }

  async acquire(taskId: string, options: AcquireOptions = {}): Promise<Sandbox> {
    this.#guard();
    if (!idPattern.test(taskId)) throw new SophiaError('bad_request', 'A task id is 1-64 letters, digits, _ and -.');
    if (this.#closed) throw new SophiaError('unavailable', 'The sandbox service has shut down.');
    if (this.#stopped) throw new SophiaError('stopped', 'Sophia is stopped. Press Resume to continue.');
    if (this.#state !== 'ready') await this.start();
    // `service: 'docker'` lets the chat offer to check Docker again (sandbox.prepare).
    if (this.#state !== 'ready') throw new SophiaError('unavailable', this.#message, { service: 'docker', state: this.#state });
    const access: WorkspaceAccess = options.access ?? 'read-only';
    const remote = this.#engine.remote;
    if (remote && options.egressDirectory !== undefined) throw new SophiaError('unavailable', egressNeedsLocalEngine);
    const workspace = options.workspace === undefined ? undefined : checkedWorkspace(options.workspace);
    const generation = this.#generation;

    // Secret files are read now, for this container: a warm one made before a secret file
    // appeared does not cover it and is not used. A remote engine never gets them at all: the
    // scan that decides what is copied leaves them out (and refuses a workspace past its
    // limits before any container is made).
    const masked = workspace === undefined || remote ? [] : await findSecretMasks(workspace);
    const scan = workspace !== undefined && remote ? await scanWorkspace(workspace) : undefined;
    const image = await this.#imageFor(workspace);
    let box: SandboxContainer;
    let ready: Promise<ReadyExec | undefined> | undefined;
    // A run with egress gets a new container with the proxy's socket mounted; warm ones have no such mount.
    const poolFits = access === 'read-only' && options.egressDirectory === undefined && (remote || workspace === this.#poolWorkspace());
    let warm = poolFits ? this.#pool.take() : undefined;
    if (warm && (warm.box.masksKey !== masksKey(masked) || warm.image !== image)) {
      void this.#discard(warm.box).catch((error: unknown) => log.warn('could not remove a warm sandbox that no longer hides the secret files', { error }));
      warm = undefined;
    }
    if (warm) {
      ({ box, ready } = warm);
      // Labels are fixed at creation; the container's name carries the task from here on.
      const name = `sophia-task-${taskId}-${randomId()}`;
      void box.container.rename({ name }).catch((error: unknown) => {
        if (!box.isGone()) log.debug('could not rename a handed-out sandbox', { error });
      });
    } else {
      box = await startSandboxContainer(this.#docker, {
        image,
        name: `sophia-task-${taskId}-${randomId()}`,
        labels: { ...ownerLabels(this.#owner), [labelKeys.role]: 'task', [labelKeys.task]: taskId, [labelKeys.access]: access },
        workspace,
        access,
        limits: this.#limits,
        masked,
        remote,
        engineKind: this.#engine.kind,
        ...(options.egressDirectory === undefined ? {} : { egressDirectory: options.egressDirectory }),
      });
    }
    if (this.#generation !== generation || this.#stopped) {
      // The emergency stop fired while this container was being made.
      await this.#discard(box);
      throw new SophiaError('stopped', 'Sophia was stopped while the sandbox was being prepared.');
    }
    let copyOf: { workspace: string; sent: SentFiles } | undefined;
    if (scan !== undefined) {
      // Copied at every hand-out, warm or new: the sandbox sees the workspace as it is now.
      const sent: SentFiles = new Map();
      try {
        await this.#sendWorkspace(box, scan, access === 'read-write' ? this.#user : rootOwner, sent);
      } catch (error) {
        await this.#discard(box).catch((removeError: unknown) => log.warn('could not remove a sandbox whose workspace copy failed', { error: removeError }));
        // The stop removes containers being prepared too: the copy failed because of it.
        if (this.#generation !== generation || this.#stopped) throw new SophiaError('stopped', 'Sophia was stopped while the workspace was being copied to the sandbox.');
        throw error;
      }
      if (this.#generation !== generation || this.#stopped) {
        await this.#discard(box);
        throw new SophiaError('stopped', 'Sophia was stopped while the workspace was being copied to the sandbox.');
      }
      box = { ...box, workspace: scan.root, access };
      if (access === 'read-write') copyOf = { workspace: scan.root, sent };
    }
    if (remote && access === 'read-write') {
      try {
        await openWorkspaceForWrites(box, this.#user);
      } catch (error) {
        await this.#discard(box).catch(() => undefined);
        throw error;
      }
    }
    const sandbox = new DockerSandbox({
      docker: this.#docker,
      box,
      taskId,
      user: this.#user,
      publish: this.#publish,
      ...(ready ? { ready } : {}),
      ...(copyOf ? { copyOf } : {}),
      onDestroyed: (done) => {
        this.#active.delete(done);
        this.#announce();
      },
    });
    this.#active.add(sandbox);
    this.#announce();
    log.info('sandbox handed out', { taskId, container: box.id.slice(0, 12), pooled: warm !== undefined, access, image, engine: this.#engine.id });
    return sandbox;
  }

  async killAll(): Promise<StoppedItem[]> {
    this.#stopped = true;
    this.#generation++;
    this.#pool.pause();
    const items: StoppedItem[] = [];
    if (this.#buildAbort) {
      this.#buildAbort.abort();
      items.push({ kind: 'task', id: 'sandbox-image-build', label: 'sandbox image build', outcome: 'stopped' });
    }
    for (const build of this.#workspaceBuilds) {
      build.abort();
      items.push({ kind: 'task', id: 'workspace-image-build', label: "workspace's sandbox image build", outcome: 'stopped' });
    }
    this.#workspaceBuilds.clear();
    const known = new Set<string>();
    const work: Array<Promise<void>> = [];
    for (const sandbox of [...this.#active]) {
      known.add(sandbox.containerId);
      work.push(
        sandbox.destroy().then(
          () => void items.push({ kind: 'container', id: sandbox.containerId.slice(0, 12), label: `sandbox of task ${sandbox.taskId}`, outcome: 'stopped' }),
          (error: unknown) => {
            log.error('could not remove a task sandbox', { taskId: sandbox.taskId, error });
            items.push({ kind: 'container', id: sandbox.containerId.slice(0, 12), label: `sandbox of task ${sandbox.taskId}`, outcome: 'stuck' });
          },
        ),
      );
    }
    for (const warm of this.#pool.drain()) {
      known.add(warm.box.id);
      work.push(this.#removeForStop(warm.box.container, warm.box.id, 'warm sandbox', items, () => warm.box.keeper.destroy()));
    }
    // Anything else carrying this launch's label: a container whose creation was under way.
    // With no Docker client made yet, this launch has made no container: nothing to list.
    const listed = await (!this.#engineUsed ? Promise.resolve([]) : this.#listOwn()).catch((error: unknown) => {
      log.warn('could not list containers for the stop', { error });
      return [] as Docker.ContainerInfo[];
    });
    for (const info of listed) {
      if (known.has(info.Id)) continue;
      work.push(this.#removeForStop(this.#docker.getContainer(info.Id), info.Id, 'sandbox being prepared', items));
    }
    await Promise.all(work);
    this.#announce();
    log.info('killAll', { containers: items.length });
    return items;
  }

  resume(): void {
    this.#stopped = false;
    if (this.#state === 'ready') this.#pool.resume();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#pool.close();
    await Promise.allSettled([...this.#active].map((sandbox) => sandbox.destroy()));
    if (!this.#engineUsed) return;
    const listed = await this.#listOwn().catch(() => [] as Docker.ContainerInfo[]);
    await Promise.allSettled(listed.map((info) => removeContainer(this.#docker.getContainer(info.Id))));
  }

  /** Removes containers of launches that have ended (on this host). Returns how many. */
  async removeLeftovers(): Promise<number> {
    const listed = await this.#docker.listContainers({ all: true, filters: { label: [`${labelKeys.app}=1`] } });
    const gone = listed.filter((info) => ownerIsGone(info.Labels, this.#owner));
    await Promise.all(gone.map((info) => removeContainer(this.#docker.getContainer(info.Id))));
    if (gone.length > 0) log.info('removed containers left behind by an ended launch', { count: gone.length });
    return gone.length;
  }

  async #start(): Promise<SandboxStatus> {
    if (this.#closed) return this.status();
    // A remote engine's first request also opens its connection (an SSH handshake and
    // `docker system dial-stdio` started there, a TLS handshake): seconds on a busy host.
    const ping = await pingDocker(this.#docker, this.#engine.remote ? 15_000 : 3000);
    if (!ping.ok) {
      this.#setState('docker-unavailable', ping.message);
      this.#scheduleRetry();
      return this.status();
    }
    try {
      await this.removeLeftovers();
      if (!(await imageExists(this.#docker, this.#image))) {
        // A build under way keeps saying so; it checks again when it is done.
        if (this.#building) return this.status();
        this.#setState('image-missing', this.#missingImageMessage());
        this.#pool.pause();
        return this.status();
      }
    } catch (error) {
      log.error('sandbox start failed', { error });
      this.#setState('docker-unavailable', describeDockerError(error));
      this.#scheduleRetry();
      return this.status();
    }
    this.#setState('ready', `Ready: Docker ${ping.version}, image ${this.#image}.`);
    if (!this.#stopped) this.#pool.resume();
    return this.status();
  }

  #missingImageMessage(): string {
    if (this.#namedImage) return `The sandbox image ${this.#image} is not on this machine. Pull or build it, then press Retry.`;
    const blocker = buildBlocker();
    return blocker === undefined
      ? 'The sandbox image is not built yet. Press “Build sandbox image” (a few minutes, once).'
      : `The sandbox image is not built yet. ${blocker}`;
  }

  #startBuild(): void {
    if (this.#building) return;
    try {
      this.#checkMirror(this.#mirror ?? debianMirror());
    } catch (error) {
      this.#setState('failed', error instanceof Error ? error.message : String(error));
      return;
    }
    const phases: Record<BuildPhase, string> = {
      'waiting-for-other-build': 'Another Sophia process is building the sandbox image; waiting for it…',
      debootstrap: 'Building the sandbox image: installing a minimal Debian (step 1 of 4, about a minute)…',
      toolchain: 'Building the sandbox image: adding Node.js with npm, Python with pip and venv, make, a C compiler, git and ripgrep (step 2 of 4, a few minutes)…',
      finishing: 'Building the sandbox image: adding the sandbox users, removing setuid bits (step 3 of 4)…',
      importing: 'Building the sandbox image: importing it into Docker (step 4 of 4)…',
      done: 'The sandbox image is built.',
    };
    this.#setState('building-image', 'Building the sandbox image…');
    const abort = new AbortController();
    this.#buildAbort = abort;
    this.#building = ensureSandboxImage(this.#docker, {
      onPhase: (phase) => this.#setState('building-image', phases[phase]),
      signal: abort.signal,
      ...(this.#mirror ? { mirror: this.#mirror } : {}),
    })
      .then(async () => {
        this.#setState('checking', 'The sandbox image is built; checking Docker again…');
        await this.start();
      })
      .catch((error: unknown) => {
        if (abort.signal.aborted) {
          this.#setState('image-missing', 'Building the sandbox image was stopped by the emergency stop. Resume, then build it again.');
          return;
        }
        log.error('building the sandbox image failed', { error });
        const reason = error instanceof Error ? error.message : String(error);
        this.#setState('failed', `Building the sandbox image failed: ${reason.slice(0, 1500)}`);
      })
      .finally(() => {
        this.#building = undefined;
        if (this.#buildAbort === abort) this.#buildAbort = undefined;
      });
  }

  #scheduleRetry(): void {
    if (this.#retryMs <= 0 || this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === 'docker-unavailable') void this.start();
    }, this.#retryMs);
    this.#retryTimer.unref();
  }

  #setState(state: SandboxStatus['state'], message: string): void {
    const changed = state !== this.#state || message !== this.#message;
    this.#state = state;
    this.#message = message;
    if (changed) {
      if (state === 'docker-unavailable' || state === 'failed') log.warn('sandbox unavailable', { state, message });
      this.#announce();
    }
  }

  #announce(): void {
    this.#publish({ type: 'sandbox.status', status: this.status() });
  }

  /**
   * The image a task on `workspace` gets: the workspace's own (built and hardened when its
   * inputs changed) when the person chose it for this folder, else the default or named one.
   */
  async #imageFor(workspace: string | undefined): Promise<string> {
    if (workspace === undefined) return this.#image;
    const source = this.#workspaceImage(workspace);
    if (source === undefined) return this.#image;
    const abort = new AbortController();
    this.#workspaceBuilds.add(abort);
    try {
      const result = await ensureWorkspaceImage(this.#docker, workspace, source, {
        signal: abort.signal,
        onProgress: (line) => {
          this.#workspaceBuildLine = line;
          this.#announce();
        },
      });
      return result.image;
    } catch (error) {
      if (abort.signal.aborted) throw new SophiaError('stopped', "Sophia was stopped while the workspace's sandbox image was being built.");
      throw error instanceof SophiaError ? error : new SophiaError('unavailable', `The workspace's sandbox image could not be made: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.#workspaceBuilds.delete(abort);
      if (this.#workspaceBuilds.size === 0 && this.#workspaceBuildLine !== undefined) {
        this.#workspaceBuildLine = undefined;
        this.#announce();
      }
    }
  }

  async #createWarm(): Promise<WarmSandbox> {
    const remote = this.#engine.remote;
    // Remote: workspace-free (its copy goes in at hand-out), so any task may take it.
    const workspace = remote ? undefined : this.#poolWorkspace();
    const image = await this.#imageFor(this.#poolWorkspace());
    const box = await startSandboxContainer(this.#docker, {
      image,
      name: `sophia-warm-${randomId()}`,
      labels: { ...ownerLabels(this.#owner), [labelKeys.role]: 'pool', [labelKeys.access]: 'read-only' },
      workspace,
      access: 'read-only',
      limits: this.#limits,
      masked: workspace === undefined ? [] : await findSecretMasks(workspace),
      remote,
      engineKind: this.#engine.kind,
    });
    // Warm means the command stub already waits for its command: see `startStub`.
    const ready = primeStub(box, this.#user);
    await ready;
    return { box, ready, image };
  }

  /** Copies the scanned workspace into the container's `/workspace`, with progress in the status. */
  async #sendWorkspace(box: SandboxContainer, scan: WorkspaceScan, owner: ArchiveOwner, sent: SentFiles): Promise<void> {
    const started = performance.now();
    const MiB = 1024 * 1024;
    const total = `${(scan.bytes / MiB).toFixed(1)} MiB`;
    // Small copies finish before anyone could read a status line.
    const showProgress = scan.bytes >= 8 * MiB;
    const archive = packWorkspace(scan, owner, {
      sent,
      onProgress: (progress) => {
        if (!showProgress) return;
        this.#sendLine = `Copying the workspace to ${this.#engine.name}: ${(progress.bytes / MiB).toFixed(1)} of ${total} (${progress.files.toLocaleString('en')} of ${scan.files.toLocaleString('en')} files)…`;
        log.info('copying the workspace to a remote engine', { engine: this.#engine.id, bytes: progress.bytes, totalBytes: scan.bytes, files: progress.files, totalFiles: scan.files });
        this.#announce();
      },
    });
    // A failed archive (a file changed mid-copy) must not leave the request to the engine
    // waiting for more: the body ends, the engine sees a cut archive, and the copy is
    // refused here whatever the engine says (the caller removes the container).
    let failure: unknown;
    const body = new PassThrough();
    archive.once('error', (error) => {
      failure = error;
      body.end();
    });
    archive.pipe(body);
    // An engine that stops taking the archive (or never answers once it has it all) ends the
    // copy instead of holding the hand-out; the caller removes the container.
    let stall: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      const arm = (ms: number): void => {
        clearTimeout(stall);
        stall = setTimeout(() => reject(new SophiaError('unavailable', `${this.#engine.name} stopped taking the workspace copy (nothing moved for ${ms / 1000} s).`)), ms);
      };
      archive.on('data', () => arm(sendStallMs));
      // Unpacking a large workspace takes the engine a while after the last byte.
      archive.once('end', () => arm(unpackWaitMs));
      arm(sendStallMs);
    });
    // Rejected only while the race below waits on it; never left unhandled.
    stalled.catch(() => undefined);
    try {
      await Promise.race([box.container.putArchive(body, { path: workspaceMountPoint }), stalled]);
    } catch (error) {
      archive.destroy();
      if (failure !== undefined) throw failure;
      if (error instanceof SophiaError) throw error;
      log.error('copying the workspace to the sandbox failed', { engine: this.#engine.id, error });
      throw new SophiaError('unavailable', `The workspace could not be copied to the sandbox on ${this.#engine.name}: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`);
    } finally {
      clearTimeout(stall);
      if (this.#sendLine !== undefined) {
        this.#sendLine = undefined;
        this.#announce();
      }
    }
    if (failure !== undefined) throw failure instanceof SophiaError ? failure : new SophiaError('unavailable', 'The workspace copy to the sandbox was cut short; try again.');
    log.info('workspace copied to the sandbox', {
      engine: this.#engine.id,
      container: box.id.slice(0, 12),
      files: scan.files,
      bytes: scan.bytes,
      leftOut: scan.leftOut,
      durationMs: Math.round(performance.now() - started),
    });
  }

  #poolWorkspace(): string | undefined {
    const wanted = this.#workspace();
    if (wanted === undefined || wanted === '') return undefined;
    try {
      return checkedWorkspace(wanted);
    } catch {
      return undefined;
    }
  }

  async #discard(box: SandboxContainer): Promise<void> {
    try {
      await removeContainer(box.container);
    } finally {
      box.keeper.destroy();
    }
  }

  async #removeForStop(container: Docker.Container, id: string, label: string, items: StoppedItem[], after?: () => void): Promise<void> {
    try {
      const outcome = await removeContainer(container);
      items.push({ kind: 'container', id: id.slice(0, 12), label, outcome: outcome === 'removed' ? 'stopped' : 'already-ended' });
    } catch (error) {
      log.error('could not remove a container', { container: id.slice(0, 12), error });
      items.push({ kind: 'container', id: id.slice(0, 12), label, outcome: 'stuck' });
    } finally {
      after?.();
    }
  }

  #listOwn(): Promise<Docker.ContainerInfo[]> {
    return this.#docker.listContainers({ all: true, filters: { label: [`${labelKeys.owner}=${this.#owner.id}`] } });
  }
}

/** How long a workspace copy may move no byte before it is given up. */
const sendStallMs = 120_000;
/** How long the engine may take to answer once it has the whole archive. */
const unpackWaitMs = 600_000;

/** Read-only copies belong to root: the command user cannot change them. */
const rootOwner: ArchiveOwner = { uid: 0, gid: 0 };

/** The workspace as an absolute, existing directory, symlinks resolved. */
function checkedWorkspace(workspace: string): string {
  if (!path.isAbsolute(workspace)) throw new SophiaError('bad_request', 'The workspace must be an absolute path.');
  let real: string;
  try {
    real = realpathSync(workspace);
  } catch {
    throw new SophiaError('bad_request', `The workspace ${workspace} does not exist.`);
  }
  if (!statSync(real).isDirectory()) throw new SophiaError('bad_request', `The workspace ${workspace} is not a directory.`);
  return real;
}
