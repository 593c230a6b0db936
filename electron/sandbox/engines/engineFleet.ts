/**
 * Many engines, one sandbox service to the rest of the app. Each configured engine (this
 * machine's Docker, and the profiles of Settings → Engines) gets its own sandbox service,
 * made when first needed; the active engine serves status, prepare and acquire. Before a
 * remote engine reports ready, the sandbox image is brought to it (`imageTransfer.ts`).
 *
 * The emergency stop reaches every configured engine at once: a service that was used stops
 * its containers, an engine never used this launch still gets a sweep of this launch's
 * label. A remote engine that does not answer in time is reported as unreachable, and never
 * holds up this machine's part. Start-up clean-up (containers of ended launches on this
 * host) runs on every engine too.
 */
import type Docker from 'dockerode';
import { limits as contractLimits, type EngineKind, type EngineProfile, type SandboxStatus, type SophiaEvent, type StoppedItem } from '../../../shared/contract';
import { SophiaError } from '../../../shared/errors';
import { createLogger } from '../../log';
import { describeDockerError, withTimeout } from '../dockerClient';
import { removeContainer } from '../dockerSandbox';
import { labelKeys } from '../hardening';
import type { AcquireOptions, Sandbox, SandboxService } from '../sandbox';
import { buildBlocker, debianMirror, ensureSandboxImage, type BuildPhase } from '../sandboxImage';
import { currentOwner, ownerIsGone, type Owner } from '../sandboxOwner';
import type { DockerSandboxService } from '../sandboxService';
import type { SandboxEngine } from './engine';
import { ensureImageOnEngine, type TransferProgress } from './imageTransfer';

const log = createLogger('engineFleet');

export const localEngineId = 'local';

export interface EngineFleetOptions {
  readonly publish: (event: SophiaEvent) => void;
  /** The engine of a profile (engineClient's `createEngine`, with the keychain). Called once per profile. */
  readonly makeEngine: (profile: EngineProfile) => SandboxEngine;
  /** The sandbox service of one engine, built from the sandbox settings. Its events go through `publish`. */
  readonly makeService: (engine: SandboxEngine, publish: (event: SophiaEvent) => void) => DockerSandboxService;
  /** This machine's engine; always configured, never stored in Settings. */
  readonly localProfile: EngineProfile;
  readonly profiles?: readonly EngineProfile[];
  readonly active?: string;
  /** True when the person named the sandbox image (a registry image): a remote engine pulls it. */
  readonly namedImage?: boolean;
  /** The image's name, for the status of an engine whose service cannot be made. */
  readonly image?: string;
  /** How long the stop waits for a remote engine before reporting it unreachable. Default 3 s. */
  readonly remoteStopMs?: number;
  /** How long start-up clean-up waits for one remote engine. Default 15 s. */
  readonly remoteSweepMs?: number;
  /** How often to try an active remote engine again while it does not answer. Default 15 s; 0: only when asked. */
  readonly retryMs?: number;
  /** Throws when work may not start (the emergency stop is engaged). */
  readonly guard?: () => void;
  /** For building the default image on this machine before it is sent to a remote engine. */
  readonly mirror?: string;
  readonly checkMirror?: (mirror: string) => void;
}

interface Member {
  readonly profile: EngineProfile;
  engine?: SandboxEngine;
  service?: DockerSandboxService;
  /** Start-up clean-up ran on it this launch (once is enough: later leftovers are this launch's own). */
  swept?: boolean;
}

/** Where bringing the image to the active remote engine stands. */
type ImageState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'moving'; readonly abort: AbortController; readonly message: string }
  | { readonly kind: 'there' }
  | { readonly kind: 'missing'; readonly message: string; readonly state: SandboxStatus['state'] };

export const defaultRemoteStopMs = 3000;

export class EngineFleet implements SandboxService {
  readonly #options: EngineFleetOptions;
  readonly #members = new Map<string, Member>();
  readonly #owner: Owner = currentOwner();
  readonly #remoteStopMs: number;
  readonly #remoteSweepMs: number;
  #activeId: string = localEngineId;
  #image: ImageState = { kind: 'unknown' };
  #bringing: Promise<void> | undefined;
  /** The default image being built on this machine for a remote engine. */
  #localBuild: AbortController | undefined;
  #started = false;
  #stopped = false;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(options: EngineFleetOptions) {
    this.#options = options;
    this.#remoteStopMs = options.remoteStopMs ?? defaultRemoteStopMs;
    this.#remoteSweepMs = options.remoteSweepMs ?? 15_000;
    this.configure(options.profiles ?? [], options.active ?? localEngineId);
  }

  /** The label value that marks this launch's containers, the same on every engine. */
  get ownerId(): string {
    return this.#owner.id;
  }

  /** The active engine's service (made now if it was not yet). */
  get activeService(): DockerSandboxService {
    return this.#serviceOf(this.#member(this.#activeId));
  }

  get image(): string {
    return this.activeService.image;
  }

  get pool(): { readonly size: number; readonly warm: number; readonly creating: number } {
    return this.activeService.pool;
  }

  poolSettled(timeoutMs = 60_000): Promise<boolean> {
    return this.activeService.poolSettled(timeoutMs);
  }

  /**
   * How long the emergency stop should give this fleet: with a remote engine configured, its
   * bound and a margin; otherwise undefined (the stop's own default).
   */
  stopBoundMs(): number | undefined {
    return [...this.#members.values()].some((member) => this.#isRemote(member)) ? this.#remoteStopMs + 1000 : undefined;
  }

  /** The ids of the configured engines, this machine's first. */
  engineIds(): string[] {
    return [...this.#members.keys()];
  }

  activeEngine(): { id: string; name: string; kind: EngineKind } {
    const { profile } = this.#member(this.#activeId);
    return { id: profile.id, name: profile.name, kind: profile.kind };
  }

  /**
   * Takes the engines of Settings → Engines, live. An engine that was removed (or whose
   * profile changed) has its service closed, which removes this launch's containers there;
   * a new active engine starts when the fleet has started.
   */
  configure(profiles: readonly EngineProfile[], active: string, options: { readonly renewed?: string } = {}): void {
    const wanted = new Map<string, EngineProfile>([[localEngineId, this.#options.localProfile]]);
    for (const profile of profiles) if (profile.id !== localEngineId && !wanted.has(profile.id)) wanted.set(profile.id, profile);
    // `renewed`: the same profile with new keychain material; its engine (made with the old) is closed and made again.
    const renewedMember = options.renewed === undefined ? undefined : this.#members.get(options.renewed);
    for (const [id, member] of [...this.#members]) {
      const next = wanted.get(id);
      if (next !== undefined && member !== renewedMember && JSON.stringify(next) === JSON.stringify(member.profile)) continue;
      this.#members.delete(id);
      void this.#retire(member);
    }
    for (const [id, profile] of wanted) if (!this.#members.has(id)) this.#members.set(id, { profile });

    const nextActive = this.#members.has(active) ? active : localEngineId;
    if (nextActive !== active) log.warn('the active engine is not configured; using this machine', { active });
    const previous = this.#activeId;
    const activeChanged = nextActive !== previous || !this.#members.has(previous) || (renewedMember !== undefined && renewedMember.profile.id === previous);
    this.#activeId = nextActive;
    if (!activeChanged) return;
    this.#abortImage();
    this.#image = { kind: 'unknown' };
    const old = this.#members.get(previous);
    // The engine left behind keeps serving the tasks it has; with none, its warm pool is not needed.
    if (old?.service && old.service.status().containers === 0) {
      const service = old.service;
      old.service = undefined;
      void service.close().catch((error: unknown) => log.warn('could not close the sandbox service of the engine left', { engine: previous, error }));
    }
    this.#announce();
    if (this.#started && !this.#closed) void this.start();
  }

  status(): SandboxStatus {
    const member = this.#member(this.#activeId);
    const problem = this.#engineProblem(member);
    if (problem !== undefined) {
      const message = `${member.profile.name}: ${problem}`.slice(0, contractLimits.notice);
      return { state: 'failed', message, image: (this.#options.image ?? '').slice(0, contractLimits.label), pool: { size: 0, warm: 0 }, containers: 0 };
    }
    const base = this.#serviceOf(member).status();
    if (!this.#isRemote(member)) return base;
    const image = this.#image;
    const prefix = `${member.profile.name}: `;
    const named = (message: string): string => (message.startsWith(member.profile.name) ? message : prefix + message);
    const view = (state: SandboxStatus['state'], message: string): SandboxStatus => ({ ...base, state, message: named(message).slice(0, contractLimits.notice) });
    switch (image.kind) {
      case 'moving':
        return view('building-image', image.message);
      case 'missing':
        return view(image.state, image.message);
      case 'unknown':
      case 'there':
        return view(base.state, base.message);
    }
  }

  async start(): Promise<SandboxStatus> {
    this.#started = true;
    if (this.#closed) return this.status();
    // Containers of ended launches, on every other engine; the active one's service does its own.
    void this.removeLeftovers({ skipActive: true });
    const member = this.#member(this.#activeId);
    if (this.#engineProblem(member) !== undefined) {
      this.#announce();
      return this.status();
    }
    if (!this.#isRemote(member)) return this.#serviceOf(member).start();
    await this.#bringImage(member);
    if (this.#image.kind !== 'there' || this.#activeId !== member.profile.id) return this.status();
    await this.#serviceOf(member).start();
    return this.status();
  }

  async prepare(): Promise<SandboxStatus> {
    this.#options.guard?.();
    if (this.#stopped) throw new SophiaError('stopped', 'Sophia is stopped. Press Resume to continue.');
    const member = this.#member(this.#activeId);
    if (this.#engineProblem(member) !== undefined) return this.start();
    if (!this.#isRemote(member)) return this.#serviceOf(member).prepare();
    if (this.#image.kind === 'missing' && !this.#options.namedImage && this.#localBuild === undefined && buildBlocker() === undefined) {
      this.#buildHereThenSend(member);
      return this.status();
    }
    return this.start();
  }

  async acquire(taskId: string, options: AcquireOptions = {}): Promise<Sandbox> {
    this.#options.guard?.();
    if (this.#closed) throw new SophiaError('unavailable', 'The sandbox service has shut down.');
    if (this.#stopped) throw new SophiaError('stopped', 'Sophia is stopped. Press Resume to continue.');
    const member = this.#member(this.#activeId);
    if (this.#engineProblem(member) !== undefined) {
      const status = this.status();
      throw new SophiaError('unavailable', status.message, { service: 'docker', state: status.state, engine: member.profile.id });
    }
    if (this.#isRemote(member) && !this.#imageThere()) {
      await this.start();
      if (this.#members.get(member.profile.id) !== member || this.#activeId !== member.profile.id) {
        throw new SophiaError('unavailable', 'The active sandbox engine changed while this sandbox was being prepared. Try again.', { service: 'docker' });
      }
      if (!this.#imageThere()) {
        const status = this.status();
        throw new SophiaError('unavailable', status.message, { service: 'docker', state: status.state, engine: member.profile.id });
      }
    }
    return this.#serviceOf(member).acquire(taskId, options);
  }

  /**
   * Every configured engine at once. This machine's part is not bounded here (the stop
   * bounds it); each remote part has `remoteStopMs`, after which that engine is reported
   * unreachable and the stop goes on.
   */
  async killAll(): Promise<StoppedItem[]> {
    this.#stopped = true;
    const items: StoppedItem[] = [];
    if (this.#image.kind === 'moving') items.push({ kind: 'task', id: 'sandbox-image-transfer', label: 'sandbox image transfer', outcome: 'stopped' });
    this.#abortImage();
    if (this.#localBuild) {
      this.#localBuild.abort();
      this.#localBuild = undefined;
      items.push({ kind: 'task', id: 'sandbox-image-build', label: 'sandbox image build', outcome: 'stopped' });
    }
    const parts = [...this.#members.values()].map((member) => (this.#isRemote(member) ? this.#boundedStop(member) : this.#localStop(member)));
    for (const part of await Promise.all(parts)) items.push(...part);
    log.info('killAll on every engine', { engines: parts.length, items: items.length, unreachable: items.filter((item) => item.outcome === 'unreachable').length });
    return items;
  }

  resume(): void {
    this.#stopped = false;
    for (const member of this.#members.values()) member.service?.resume();
    if (this.#image.kind === 'missing' || this.#image.kind === 'unknown') {
      // A transfer the stop ended starts again on the next start or acquire.
      this.#image = { kind: 'unknown' };
      if (this.#started && !this.#closed) void this.start();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#abortImage();
    this.#localBuild?.abort();
    const members = [...this.#members.values()];
    await Promise.allSettled(members.map((member) => this.#retire(member)));
  }

  /**
   * Removes containers of ended launches of this host on every configured engine, by label.
   * An engine that cannot be reached is logged and skipped. Returns how many were removed.
   */
  async removeLeftovers(options: { skipActive?: boolean } = {}): Promise<number> {
    const members = [...this.#members.values()].filter((member) => !(options.skipActive && (member.profile.id === this.#activeId || member.swept === true)));
    const counts = await Promise.all(
      members.map(async (member) => {
        member.swept = true;
        try {
          const work = member.service ? member.service.removeLeftovers() : this.#sweepEnded(this.#engineOf(member));
          return await (this.#isRemote(member) ? withTimeout(work, this.#remoteSweepMs, `Clean-up on ${member.profile.name}`) : work);
        } catch (error) {
          log.warn('start-up clean-up skipped an engine', { engine: member.profile.id, reason: describeDockerError(error) });
          return 0;
        }
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  #imageThere(): boolean {
    return this.#image.kind === 'there';
  }

  #member(id: string): Member {
    const member = this.#members.get(id) ?? this.#members.get(localEngineId);
    if (member === undefined) throw new Error('the fleet has no local engine');
    return member;
  }

  #isRemote(member: Member): boolean {
    if (member.engine) return member.engine.remote;
    return member.profile.kind !== 'local';
  }

  /**
   * Why a member's engine cannot be made (its keychain material is missing, offline mode and a
   * remote host), or undefined. Asked again each time, so material added later is picked up.
   */
  #engineProblem(member: Member): string | undefined {
    if (member.engine) return undefined;
    try {
      this.#engineOf(member);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  #engineOf(member: Member): SandboxEngine {
    member.engine ??= this.#options.makeEngine(member.profile);
    return member.engine;
  }

  #serviceOf(member: Member): DockerSandboxService {
    if (member.service) return member.service;
    const id = member.profile.id;
    // Every event passes but the status of an engine that is not the active one.
    const publish = (event: SophiaEvent): void => {
      if (event.type === 'sandbox.status') {
        if (id === this.#activeId && this.#members.get(id) === member) this.#announce();
        return;
      }
      this.#options.publish(event);
    };
    member.service = this.#options.makeService(this.#engineOf(member), publish);
    if (this.#stopped) void member.service.killAll();
    return member.service;
  }

  #announce(): void {
    if (this.#closed) return;
    this.#options.publish({ type: 'sandbox.status', status: this.status() });
  }

  #abortImage(): void {
    if (this.#image.kind === 'moving') this.#image.abort.abort();
  }

  /** The image on the active remote engine: a tag check, else the transfer (or pull), its progress in the status. */
  #bringImage(member: Member): Promise<void> {
    if (this.#image.kind === 'there') return Promise.resolve();
    this.#bringing ??= this.#transfer(member).finally(() => (this.#bringing = undefined));
    return this.#bringing;
  }

  async #transfer(member: Member): Promise<void> {
    if (this.#stopped) return;
    const engine = this.#engineOf(member);
    const service = this.#serviceOf(member);
    const abort = new AbortController();
    const image = service.image;
    const named = this.#options.namedImage ?? false;
    const moving = (message: string): void => {
      if (this.#image.kind === 'moving' && this.#image.abort !== abort) return;
      this.#image = { kind: 'moving', abort, message };
      this.#announce();
    };
    moving(`Looking for the sandbox image on ${engine.name}…`);
    const from = this.#localDocker();
    try {
      await ensureImageOnEngine({
        from,
        to: engine,
        image,
        named,
        signal: abort.signal,
        onProgress: (progress) => moving(progressMessage(engine.name, image, progress)),
      });
      if (this.#image.kind === 'moving' && this.#image.abort === abort) this.#image = { kind: 'there' };
    } catch (error) {
      if (!(this.#image.kind === 'moving' && this.#image.abort === abort)) return;
      const message = error instanceof Error ? error.message : String(error);
      const buildable = !named && /on neither this machine/.test(message) && buildBlocker() === undefined;
      this.#image = buildable
        ? { kind: 'missing', state: 'image-missing', message: `The sandbox image is not built yet. Press “Build sandbox image”: it is built on this machine (a few minutes, once), then sent to ${engine.name}.` }
        : { kind: 'missing', state: stateAfter(error), message };
      log.warn('the sandbox image could not be brought to the engine', { engine: engine.id, image, message });
      if (this.#image.kind === 'missing' && this.#image.state === 'docker-unavailable') this.#scheduleRetry(member);
    }
    this.#announce();
  }

  /** One try again later while the active remote engine does not answer (like the service's own retry for Docker). */
  #scheduleRetry(member: Member): void {
    const retryMs = this.#options.retryMs ?? 15_000;
    if (retryMs <= 0 || this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const still = this.#activeId === member.profile.id && this.#image.kind === 'missing' && this.#image.state === 'docker-unavailable';
      if (still && !this.#stopped && !this.#closed) {
        this.#image = { kind: 'unknown' };
        void this.start();
      }
    }, retryMs);
    this.#retryTimer.unref();
  }

  /** This machine's Docker client, the source of the transfer. */
  #localDocker(): Docker | undefined {
    const local = this.#members.get(localEngineId);
    if (local === undefined) return undefined;
    try {
      return this.#engineOf(local).docker();
    } catch (error) {
      log.warn("this machine's engine could not be made", { error });
      return undefined;
    }
  }

  /** The default image, built on this machine (the remote engine cannot run debootstrap), then sent. */
  #buildHereThenSend(member: Member): void {
    const from = this.#localDocker();
    if (from === undefined) return;
    const mirror = this.#options.mirror ?? debianMirror();
    try {
      this.#options.checkMirror?.(mirror);
    } catch (error) {
      this.#image = { kind: 'missing', state: 'failed', message: error instanceof Error ? error.message : String(error) };
      this.#announce();
      return;
    }
    const abort = new AbortController();
    this.#localBuild = abort;
    const phases: Record<BuildPhase, string> = {
      'waiting-for-other-build': 'another Sophia process is building it; waiting',
      debootstrap: 'installing a minimal Debian (step 1 of 4)',
      toolchain: 'adding the toolchains (step 2 of 4, a few minutes)',
      finishing: 'finishing (step 3 of 4)',
      importing: 'importing it into Docker (step 4 of 4)',
      done: 'built',
    };
    const building = (phase: BuildPhase): void => {
      this.#image = { kind: 'moving', abort, message: `Building the sandbox image on this machine first, then sending it: ${phases[phase]}…` };
      this.#announce();
    };
    building('debootstrap');
    void ensureSandboxImage(from, { signal: abort.signal, mirror, onPhase: building })
      .then(async () => {
        if (this.#activeId !== member.profile.id || abort.signal.aborted) return;
        this.#image = { kind: 'unknown' };
        await this.start();
      })
      .catch((error: unknown) => {
        if (this.#activeId !== member.profile.id) return;
        this.#image = abort.signal.aborted
          ? { kind: 'missing', state: 'image-missing', message: 'Building the sandbox image was stopped by the emergency stop. Resume, then build it again.' }
          : { kind: 'missing', state: 'failed', message: `Building the sandbox image failed: ${(error instanceof Error ? error.message : String(error)).slice(0, 1500)}` };
        this.#announce();
      })
      .finally(() => {
        if (this.#localBuild === abort) this.#localBuild = undefined;
      });
  }

  /**
   * A remote engine's part of the stop, bounded. It is unreachable when it does not answer in
   * time, or when it does not answer a ping (a service that could not reach its engine reports
   * little of its own: the ping says so); what it did stop is still listed.
   */
  async #boundedStop(member: Member): Promise<StoppedItem[]> {
    const unreachable: StoppedItem = { kind: 'engine', id: member.profile.id, label: member.profile.name.slice(0, contractLimits.label), outcome: 'unreachable' };
    // An engine that could never be made this launch holds nothing of it.
    if (this.#engineProblem(member) !== undefined) return [];
    try {
      const docker = this.#engineOf(member).docker();
      const [items, answered] = await withTimeout(
        Promise.all([this.#stopOn(member), docker.ping().then(() => true, () => false)]),
        this.#remoteStopMs,
        `The stop on ${member.profile.name}`,
      );
      return answered ? items : [unreachable, ...items.filter((item) => item.outcome === 'stopped' || item.kind === 'task')];
    } catch (error) {
      log.warn('an engine did not answer the stop', { engine: member.profile.id, reason: describeDockerError(error) });
      return [unreachable];
    }
  }

  /** This machine's part: not bounded here (the stop bounds it), and a failure to list is logged, as the service does. */
  async #localStop(member: Member): Promise<StoppedItem[]> {
    // No service on this machine this launch: it made no container here (and Docker's client need not load for the stop).
    if (member.service === undefined) return [];
    try {
      return await this.#stopOn(member);
    } catch (error) {
      log.warn("could not list this machine's containers for the stop", { error });
      return [];
    }
  }

  /** A used engine's service stops its containers; an engine never used gets a sweep of this launch's label. */
  async #stopOn(member: Member): Promise<StoppedItem[]> {
    if (member.service) return member.service.killAll();
    const engine = this.#engineOf(member);
    const docker = engine.docker();
    const listed = await docker.listContainers({ all: true, filters: { label: [`${labelKeys.owner}=${this.#owner.id}`] } });
    const items: StoppedItem[] = [];
    await Promise.all(
      listed.map(async (info) => {
        const id = info.Id.slice(0, 12);
        const label = `sandbox on ${member.profile.name}`.slice(0, contractLimits.label);
        try {
          const outcome = await removeContainer(docker.getContainer(info.Id));
          items.push({ kind: 'container', id, label, outcome: outcome === 'removed' ? 'stopped' : 'already-ended' });
        } catch (error) {
          log.error('could not remove a container', { engine: engine.id, container: id, error });
          items.push({ kind: 'container', id, label, outcome: 'stuck' });
        }
      }),
    );
    return items;
  }

  /** Containers of ended launches of this host on an engine no service of this launch uses. */
  async #sweepEnded(engine: SandboxEngine): Promise<number> {
    const docker = engine.docker();
    const listed = await docker.listContainers({ all: true, filters: { label: [`${labelKeys.app}=1`] } });
    const gone = listed.filter((info) => ownerIsGone(info.Labels, this.#owner));
    await Promise.all(gone.map((info) => removeContainer(docker.getContainer(info.Id))));
    if (gone.length > 0) log.info('removed containers left behind by an ended launch', { engine: engine.id, count: gone.length });
    return gone.length;
  }

  /** Closes a member's service (removing this launch's containers there) and its engine's connections. */
  async #retire(member: Member): Promise<void> {
    const service = member.service;
    const engine = member.engine;
    member.service = undefined;
    try {
      // Bounded like the stop: quitting does not wait on an engine that does not answer (its containers end when the connections below close).
      if (service) await (this.#isRemote(member) ? withTimeout(service.close(), this.#remoteStopMs, `Closing ${member.profile.name}`) : service.close());
    } catch (error) {
      log.warn('could not close the sandbox service of an engine', { engine: member.profile.id, reason: describeDockerError(error) });
    }
    await engine?.close().catch((error: unknown) => log.warn('could not close an engine', { engine: member.profile.id, error }));
  }
}

/** The status after a failed transfer: an engine that did not answer can be retried like Docker that is down. */
function stateAfter(error: unknown): SandboxStatus['state'] {
  if (!(error instanceof SophiaError)) return 'failed';
  if (error.code === 'stopped') return 'image-missing';
  return (error.data as { reachable?: boolean } | undefined)?.reachable === false ? 'docker-unavailable' : 'failed';
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1_000_000)} MB`;
}

/** The transfer's progress in words for the status bar. */
function progressMessage(engineName: string, image: string, progress: TransferProgress): string {
  switch (progress.phase) {
    case 'checking':
      return `Looking for the sandbox image on ${engineName}…`;
    case 'saving':
      return `Sending the sandbox image to ${engineName}: ${megabytes(progress.bytes)}${progress.totalBytes === undefined ? '' : ` of about ${megabytes(progress.totalBytes)}`}…`;
    case 'loading':
      return `Sending the sandbox image to ${engineName}: ${megabytes(progress.bytes)} sent; ${engineName} is loading it…`;
    case 'pulling':
      return `${engineName} is pulling ${image}${progress.line ? `: ${progress.line}` : '…'}`;
    case 'done':
      return `The sandbox image is on ${engineName}.`;
  }
}
