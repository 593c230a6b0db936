/**
 * The last part of an engine's check before its profile is saved: can it run a container
 * with the sandbox's hardening? One container of the sandbox image, made by the same
 * `containerSpec` every task container gets (no workspace), is started, read back with
 * `docker inspect` and removed. An engine that refuses an option (a rootless Podman without
 * the cgroup controllers for limits, say) or quietly drops one fails the check, in plain
 * words. The container carries the app's and this launch's labels, so the emergency stop and
 * the crash clean-up find it like any other.
 */
import type Docker from 'dockerode';
import type { EngineProfile } from '../../../shared/contract';
import { createLogger } from '../../log';
import { randomId, removeContainer, startSandboxContainer, type SandboxContainer } from '../dockerSandbox';
import { withTimeout } from '../dockerClient';
import { containerSpec, defaultLimits, labelKeys } from '../hardening';
import { currentOwner, ownerLabels } from '../sandboxOwner';
import type { CheckEngine, EngineSecret } from './engineHandlers';
import type { SandboxEngine } from './engine';

const log = createLogger('engineCheck');

export interface HardenedCheckOptions {
  /** The image tasks would use (Settings → Sandbox, else the default recipe's tag). */
  readonly image: () => string;
  /** Makes the engine the check talks to (engineClient's `createEngine`). */
  readonly createEngine: (profile: EngineProfile, secret: EngineSecret) => SandboxEngine;
}

/** What `docker inspect` must show of the hardening, each with the words for when it does not. */
function hardeningProblems(info: Docker.ContainerInspectInfo, expected: Docker.ContainerCreateOptions): string[] {
  const host = info.HostConfig;
  const want = expected.HostConfig ?? {};
  const problems: string[] = [];
  if (host.ReadonlyRootfs !== true) problems.push('the root file system is not read-only');
  if (!((host.CapDrop ?? []) as string[]).map((cap) => cap.toUpperCase()).some((cap) => cap === 'ALL' || cap === 'CAP_ALL')) problems.push('capabilities were not all dropped');
  if (host.Privileged) problems.push('the container is privileged');
  if (host.NetworkMode !== 'none') problems.push(`the network is "${host.NetworkMode ?? ''}", not none`);
  if (!((host.SecurityOpt ?? []) as string[]).some((option) => /^no-new-privileges(:true|=true)?$/.test(option))) problems.push('no-new-privileges is not set');
  if (want.Memory !== undefined && host.Memory !== want.Memory) problems.push('the memory limit was not applied');
  if (want.PidsLimit !== undefined && host.PidsLimit !== want.PidsLimit) problems.push('the process limit was not applied');
  if (want.NanoCpus !== undefined && host.NanoCpus !== want.NanoCpus) problems.push('the CPU limit was not applied');
  if ((host.Binds ?? []).length > 0 || (info.Mounts ?? []).some((mount) => mount.Type === 'bind')) problems.push('a host folder is mounted');
  if (info.State.Running !== true) problems.push(`it stopped at once (exit code ${info.State.ExitCode}${info.State.Error ? `: ${info.State.Error.slice(0, 200)}` : ''}); can the image run /bin/sh?`);
  return problems;
}

/** Starts one hardened container on the engine and reads it back. */
export async function runHardenedProbe(docker: Docker, image: string, timeoutMs: number): Promise<{ hardened: boolean | undefined; message: string }> {
  try {
    await withTimeout(docker.getImage(image).inspect(), timeoutMs, 'Looking for the sandbox image on the engine');
  } catch (error) {
    if ((error as { statusCode?: unknown }).statusCode === 404) {
      return { hardened: undefined, message: `The sandbox image ${image} is not on this engine yet; Sophia sends it there before the first task, and the hardening is tried then.` };
    }
    throw error;
  }
  const input = {
    image,
    name: randomId('sophia-check-'),
    labels: { ...ownerLabels(currentOwner()), [labelKeys.role]: 'check', [labelKeys.access]: 'read-only' },
    workspace: undefined,
    access: 'read-only' as const,
    limits: defaultLimits,
  };
  // Started the way every task container is (the keeper stream attached), so what is read back is what a task would get.
  const starting = startSandboxContainer(docker, input);
  let box: SandboxContainer | undefined;
  try {
    box = await withTimeout(starting, timeoutMs, 'Starting a hardened container');
    const info = await withTimeout(box.container.inspect(), timeoutMs, 'Reading the hardened container back');
    const problems = hardeningProblems(info, containerSpec(input));
    return problems.length === 0
      ? { hardened: true, message: 'A container with the sandbox hardening ran there (read-only root, no capabilities, no network, limits applied).' }
      : { hardened: false, message: `The engine ran the container without all of the sandbox hardening: ${problems.join('; ')}.` };
  } catch (error) {
    return { hardened: false, message: `The engine cannot run a container with the sandbox hardening: ${firstLine(error)}` };
  } finally {
    if (box) {
      box.keeper.destroy();
      await removeContainer(box.container).catch((error: unknown) => log.warn('could not remove the check container', { error }));
    } else {
      // A start that timed out may still finish; its keeper closing stops it, and it removes itself (AutoRemove).
      void starting.then(
        (late) => {
          late.keeper.destroy();
          return removeContainer(late.container);
        },
        () => undefined,
      ).catch((error: unknown) => log.warn('could not remove a late check container', { error }));
    }
  }
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '').replace(/^\(HTTP code \d+\)\s*/, '').slice(0, 300) : String(error);
}

/**
 * `check` (engineClient's `checkEngine`: reachable, version, API, round trip, host key) and
 * then, when it passed, the hardened run: the profile passes only when both do. An image not
 * yet on the engine is said, not counted as a failure (it is sent there before the first task).
 */
export function withHardenedRun(check: CheckEngine, options: HardenedCheckOptions): CheckEngine {
  return async (profile, secret, checkOptions) => {
    const first = await check(profile, secret, checkOptions);
    if (!first.ok) return first;
    const timeoutMs = checkOptions?.timeoutMs ?? 20_000;
    const engine = options.createEngine(profile, secret);
    try {
      const probe = await runHardenedProbe(engine.docker(), options.image(), timeoutMs);
      const result = { ...first, message: `${first.message} ${probe.message}` };
      if (probe.hardened === undefined) return result;
      return { ...result, ok: probe.hardened, hardened: probe.hardened };
    } catch (error) {
      return { ...first, ok: false, hardened: false, message: `${first.message} Then the hardened container could not be tried: ${firstLine(error)}` };
    } finally {
      await engine.close();
    }
  };
}
