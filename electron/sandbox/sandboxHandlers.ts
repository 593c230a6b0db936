/**
 * The sandbox's request handlers, and the service as the core builds it from the settings
 * (Settings → Sandbox), each field overridden by its environment variable when that is set:
 *   SOPHIA_SANDBOX_IMAGE      an image to use instead of building the default one
 *   SOPHIA_SANDBOX_POOL_SIZE  warm containers kept ready (default 2, at most 8; 0 turns the pool off)
 *   SOPHIA_SANDBOX_MEMORY_MB, SOPHIA_SANDBOX_CPUS, SOPHIA_SANDBOX_PIDS  lower (or, up to a ceiling, raise) the limits
 *   SOPHIA_DEBIAN_MIRROR      the Debian mirror the default image is built from
 * Both are read when Sophia starts; Settings says so.
 */
import { realpathSync } from 'node:fs';
import type Docker from 'dockerode';
import type { EngineProfile, RequestOutput, SandboxSettings, SophiaEvent, WorkspaceImageChoice, WorkspaceImagePlanView } from '../../shared/contract';
import { limits, sandboxSettingFields, sandboxSettings, sandboxVariables, workspaceImageSources } from '../../shared/contract';
import type { Handlers } from '../../shared/handlers';
import { createLogger } from '../log';
import { createDockerClient, imageExists } from './dockerClient';
import { randomId } from './dockerSandbox';
import type { SandboxEngine } from './engines/engine';
import { createEngine, localProfile, type EngineSecret } from './engines/engineClient';
import { EngineFleet } from './engines/engineFleet';
import type { SandboxLimits } from './hardening';
import type { SandboxService } from './sandbox';
import { defaultSandboxImage } from './sandboxImage';
import { DockerSandboxService } from './sandboxService';
import { workspaceImageName, type WorkspaceImageSource } from './workspaceImage';

const log = createLogger('sandboxHandlers');

export interface SandboxConfig {
  /** What the service uses: the saved settings with every set variable over them. */
  readonly inUse: SandboxSettings;
  readonly overrides: readonly { readonly field: keyof SandboxSettings; readonly variable: string }[];
}

/**
 * The saved sandbox settings with the environment over them. A variable that does not fit its
 * field (not a number, out of range) is ignored and logged, so it cannot loosen a limit past
 * the schema's bounds.
 */
export function sandboxConfig(saved: SandboxSettings, env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  const inUse: Record<string, unknown> = { ...saved };
  const overrides: { field: keyof SandboxSettings; variable: string }[] = [];
  for (const field of sandboxSettingFields) {
    const variable = sandboxVariables[field];
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    const value = field === 'image' || field === 'debianMirror' ? raw : Number(raw);
    const checked = sandboxSettings.shape[field].safeParse(value);
    if (!checked.success) {
      log.warn('ignoring an environment variable that does not fit its setting', { name: variable });
      continue;
    }
    inUse[field] = checked.data;
    overrides.push({ field, variable });
  }
  return { inUse: sandboxSettings.parse(inUse), overrides };
}

/** Settings → Engines: the configured profiles (this machine's is implicit) and the active one's id. */
export interface EngineSettings {
  readonly profiles: readonly EngineProfile[];
  readonly active: string;
}

/**
 * The sandbox service the core uses: a fleet of one service per configured engine, each built
 * from the same sandbox settings, the active engine serving tasks. Later changes to Settings →
 * Engines reach it through `configure`.
 */
export function createSandboxService(options: {
  readonly publish: (event: SophiaEvent) => void;
  readonly guard: () => void;
  readonly workspace: () => string | undefined;
  readonly config: SandboxConfig;
  readonly checkMirror?: (mirror: string) => void;
  /** The workspaces whose own image the person chose (Settings → Sandbox), read at each use. */
  readonly workspaceImages?: () => readonly WorkspaceImageChoice[];
  /** Settings → Engines when the service is made; none: this machine only. */
  readonly engines?: EngineSettings;
  /** Reads an engine's keychain material (`engine-<id>-ca` ...); none: no remote engine can be made. */
  readonly secret?: EngineSecret;
  /** Throws when an engine may not be used now (offline mode and a remote host). */
  readonly guardEngine?: (profile: EngineProfile) => void;
  /** Makes the engine of a profile; by default engineClient's `createEngine` with `secret`. */
  readonly makeEngine?: (profile: EngineProfile) => SandboxEngine;
}): EngineFleet {
  const secret = options.secret ?? ((): null => null);
  const { inUse } = options.config;
  const wanted: Partial<SandboxLimits> = { memoryBytes: inUse.memoryMb * 1024 * 1024, cpus: inUse.cpus, pids: inUse.pids };
  return new EngineFleet({
    publish: options.publish,
    guard: options.guard,
    localProfile,
    profiles: options.engines?.profiles ?? [],
    active: options.engines?.active ?? localProfile.id,
    namedImage: inUse.image !== undefined && inUse.image !== '',
    image: inUse.image || defaultSandboxImage(),
    makeEngine:
      options.makeEngine ??
      ((profile) => {
        options.guardEngine?.(profile);
        return createEngine(profile, secret);
      }),
    ...(options.checkMirror ? { checkMirror: options.checkMirror } : {}),
    ...(inUse.debianMirror ? { mirror: inUse.debianMirror } : {}),
    makeService: (engine, publish) =>
      new DockerSandboxService({
        publish,
        guard: options.guard,
        workspace: options.workspace,
        limits: wanted,
        poolSize: inUse.poolSize,
        // The engine makes its client when the service first talks to it (dockerode loads then, after the window is up).
        engine,
        ...(options.workspaceImages ? { workspaceImage: (workspace: string) => chosenWorkspaceImage(options.workspaceImages?.() ?? [], workspace) } : {}),
        ...(options.checkMirror ? { checkMirror: options.checkMirror } : {}),
        ...(inUse.image ? { image: inUse.image } : {}),
        ...(inUse.debianMirror ? { mirror: inUse.debianMirror } : {}),
      }),
  });
}


const smokeCommand = 'node -v && git --version && python3 -V';

export function sandboxHandlers(
  sandbox: SandboxService,
  workspace: () => string | undefined,
  config: SandboxConfig,
): Pick<Handlers, 'sandbox.status' | 'sandbox.prepare' | 'sandbox.check' | 'sandbox.config'> {
  return {
    'sandbox.config': () => ({ inUse: config.inUse, overrides: [...config.overrides] }),
    'sandbox.status': () => sandbox.status(),
    'sandbox.prepare': () => sandbox.prepare(),
    'sandbox.check': async (): Promise<RequestOutput<'sandbox.check'>> => {
      const taskId = randomId('check-');
      const current = workspace();
      const box = await sandbox.acquire(taskId, current ? { workspace: current } : {});
      try {
        const result = await box.exec(smokeCommand, { timeoutMs: 30_000 });
        const output = `${result.stdout}${result.stderr}`.slice(0, limits.outputChunk);
        return { taskId, exitCode: result.exitCode, durationMs: result.durationMs, timedOut: result.timedOut, output };
      } finally {
        await box.destroy();
      }
    },
  };
}

/** The source the person chose for this folder (compared with symlinks resolved), if any. */
export function chosenWorkspaceImage(choices: readonly WorkspaceImageChoice[], workspace: string): WorkspaceImageSource | undefined {
  const real = (folder: string): string => {
    try {
      return realpathSync(folder);
    } catch {
      return folder;
    }
  };
  const wanted = real(workspace);
  return choices.find((choice) => choice.workspace === workspace || real(choice.workspace) === wanted)?.source;
}

/** `sandbox.workspaceImage`: what the open workspace's files would build (read, never run or built here). */
export function workspaceImageHandlers(
  workspace: () => string | undefined,
  choices: () => readonly WorkspaceImageChoice[],
  docker: () => Docker = lazyDocker(),
): Pick<Handlers, 'sandbox.workspaceImage'> {
  return {
    'sandbox.workspaceImage': async (): Promise<RequestOutput<'sandbox.workspaceImage'>> => {
      const current = workspace();
      if (!current) return { workspace: '', chosen: '', options: [] };
      const options: WorkspaceImagePlanView[] = [];
      for (const source of workspaceImageSources) {
        options.push(await describe(docker(), current, source));
      }
      return { workspace: current, chosen: chosenWorkspaceImage(choices(), current) ?? '', options };
    },
  };
}

function lazyDocker(): () => Docker {
  let client: Docker | undefined;
  return () => (client ??= createDockerClient());
}

const short = (text: string): string => text.slice(0, limits.label);

async function describe(docker: Docker, workspace: string, source: WorkspaceImageSource): Promise<WorkspaceImagePlanView> {
  const file = source === 'dockerfile' ? 'Dockerfile' : '.devcontainer/devcontainer.json';
  try {
    const { image, plan } = await workspaceImageName(docker, workspace, source);
    return {
      source,
      file: plan.file,
      ...(plan.image ? { image: short(plan.image) } : {}),
      ...(plan.dockerfile ? { dockerfile: short(plan.dockerfile) } : {}),
      ...(plan.context ? { context: short(plan.context) } : {}),
      ...(plan.target ? { target: short(plan.target) } : {}),
      baseImages: plan.baseImages.slice(0, 20).map(short),
      args: Object.keys(plan.args).slice(0, 100).map(short),
      containerEnv: Object.keys(plan.containerEnv).slice(0, 100).map(short),
      ignored: plan.ignored.slice(0, 100).map(short),
      tag: image,
      built: await imageExists(docker, image).catch(() => false),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { source, file, error: message.slice(0, limits.notice), baseImages: [], args: [], containerEnv: [], ignored: [], built: false };
  }
}
