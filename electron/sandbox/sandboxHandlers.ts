/**
 * The sandbox's request handlers, and the service as the core builds it from the
 * environment (until these become settings in the UI):
 *   SOPHIA_SANDBOX_IMAGE      an image to use instead of building the default one
 *   SOPHIA_SANDBOX_POOL_SIZE  warm containers kept ready (default 2, at most 8; 0 turns the pool off)
 *   SOPHIA_SANDBOX_MEMORY_MB, SOPHIA_SANDBOX_CPUS, SOPHIA_SANDBOX_PIDS  lower (or, up to a ceiling, raise) the limits
 */
import type { RequestOutput, SophiaEvent } from '../../shared/contract';
import { limits } from '../../shared/contract';
import type { Handlers } from '../../shared/handlers';
import { createLogger } from '../log';
import { randomId } from './dockerSandbox';
import type { SandboxLimits } from './hardening';
import type { SandboxService } from './sandbox';
import { DockerSandboxService } from './sandboxService';

const log = createLogger('sandboxHandlers');

function numberFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    log.warn('ignoring a setting that is not a number', { name });
    return undefined;
  }
  return value;
}

export function createSandboxServiceFromEnv(options: {
  readonly publish: (event: SophiaEvent) => void;
  readonly guard: () => void;
  readonly workspace: () => string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly checkMirror?: (mirror: string) => void;
}): DockerSandboxService {
  const env = options.env ?? process.env;
  const memoryMb = numberFrom(env, 'SOPHIA_SANDBOX_MEMORY_MB');
  const cpus = numberFrom(env, 'SOPHIA_SANDBOX_CPUS');
  const pids = numberFrom(env, 'SOPHIA_SANDBOX_PIDS');
  const wanted: Partial<SandboxLimits> = {
    ...(memoryMb === undefined ? {} : { memoryBytes: memoryMb * 1024 * 1024 }),
    ...(cpus === undefined ? {} : { cpus }),
    ...(pids === undefined ? {} : { pids }),
  };
  const poolSize = numberFrom(env, 'SOPHIA_SANDBOX_POOL_SIZE');
  const image = env['SOPHIA_SANDBOX_IMAGE']?.trim();
  return new DockerSandboxService({
    publish: options.publish,
    guard: options.guard,
    workspace: options.workspace,
    limits: wanted,
    ...(options.checkMirror ? { checkMirror: options.checkMirror } : {}),
    ...(poolSize === undefined ? {} : { poolSize }),
    ...(image ? { image } : {}),
  });
}

const smokeCommand = 'node -v && git --version && python3 -V';

export function sandboxHandlers(
  sandbox: SandboxService,
  workspace: () => string | undefined,
): Pick<Handlers, 'sandbox.status' | 'sandbox.prepare' | 'sandbox.check'> {
  return {
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
