/**
 * The sandbox's request handlers, and the service as the core builds it from the settings
 * (Settings → Sandbox), each field overridden by its environment variable when that is set:
 *   SOPHIA_SANDBOX_IMAGE      an image to use instead of building the default one
 *   SOPHIA_SANDBOX_POOL_SIZE  warm containers kept ready (default 2, at most 8; 0 turns the pool off)
 *   SOPHIA_SANDBOX_MEMORY_MB, SOPHIA_SANDBOX_CPUS, SOPHIA_SANDBOX_PIDS  lower (or, up to a ceiling, raise) the limits
 *   SOPHIA_DEBIAN_MIRROR      the Debian mirror the default image is built from
 * Both are read when Sophia starts; Settings says so.
 */
import type { RequestOutput, SandboxSettings, SophiaEvent } from '../../shared/contract';
import { limits, sandboxSettingFields, sandboxSettings, sandboxVariables } from '../../shared/contract';
import type { Handlers } from '../../shared/handlers';
import { createLogger } from '../log';
import { randomId } from './dockerSandbox';
import type { SandboxLimits } from './hardening';
import type { SandboxService } from './sandbox';
import { DockerSandboxService } from './sandboxService';

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

export function createSandboxService(options: {
  readonly publish: (event: SophiaEvent) => void;
  readonly guard: () => void;
  readonly workspace: () => string | undefined;
  readonly config: SandboxConfig;
  readonly checkMirror?: (mirror: string) => void;
}): DockerSandboxService {
  const { inUse } = options.config;
  const wanted: Partial<SandboxLimits> = { memoryBytes: inUse.memoryMb * 1024 * 1024, cpus: inUse.cpus, pids: inUse.pids };
  return new DockerSandboxService({
    publish: options.publish,
    guard: options.guard,
    workspace: options.workspace,
    limits: wanted,
    poolSize: inUse.poolSize,
    ...(options.checkMirror ? { checkMirror: options.checkMirror } : {}),
    ...(inUse.image ? { image: inUse.image } : {}),
    ...(inUse.debianMirror ? { mirror: inUse.debianMirror } : {}),
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
