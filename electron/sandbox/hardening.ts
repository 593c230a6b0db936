/**
 * The one place a sandbox container's configuration is written. Every container gets the
 * same hardening; the only inputs are the image, its name and labels, the workspace mount
 * and the resource limits from the user's settings (clamped to ceilings). Nothing a model
 * produces reaches this function.
 */
import type Docker from 'dockerode';
import type { EngineKind } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { WorkspaceAccess } from './sandbox';
import type { SecretMask } from './secretMasks';

export const labelKeys = {
  /** Every container of the app. */
  app: 'app.sophia',
  /** The launch that owns it: `host/pid/process start`; see `sandboxOwner.ts`. */
  owner: 'app.sophia.owner',
  host: 'app.sophia.host',
  pid: 'app.sophia.pid',
  /** `pool` (warm, not yet handed out) or `task`. A pooled container is renamed after its task. */
  role: 'app.sophia.role',
  /** The task it was created for (cold creates; a pooled container's name carries the task). */
  task: 'app.sophia.task',
  access: 'app.sophia.access',
} as const;

/** Where the workspace appears inside the container. */
export const workspaceMountPoint = '/workspace';
/** PID 1's child: holds the container open while Sophia's attach stream is open. */
export const keeperUser = { uid: 65532, gid: 65532 } as const;
/** A user-owned HOME that exists in every image: the tmpfs. */
export const sandboxHome = '/tmp';

export interface SandboxLimits {
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly pids: number;
  readonly tmpBytes: number;
}

const MiB = 1024 * 1024;

export const defaultLimits: SandboxLimits = { memoryBytes: 1024 * MiB, cpus: 1, pids: 256, tmpBytes: 128 * MiB };
/** Settings may lower the limits freely, and raise them only this far. */
export const limitCeilings: SandboxLimits = { memoryBytes: 8192 * MiB, cpus: 4, pids: 4096, tmpBytes: 1024 * MiB };
const limitFloors: SandboxLimits = { memoryBytes: 64 * MiB, cpus: 0.1, pids: 32, tmpBytes: 4 * MiB };

export function clampLimits(wanted: Partial<SandboxLimits> = {}): SandboxLimits {
  const clamp = (key: keyof SandboxLimits): number => {
    const value = wanted[key];
    const chosen = typeof value === 'number' && Number.isFinite(value) ? value : defaultLimits[key];
    return Math.min(limitCeilings[key], Math.max(limitFloors[key], chosen));
  };
  return { memoryBytes: clamp('memoryBytes'), cpus: clamp('cpus'), pids: Math.round(clamp('pids')), tmpBytes: clamp('tmpBytes') };
}

/**
 * The user commands run as. Never root: on Linux the host user's uid (so files written to
 * a writable workspace belong to the user), otherwise 1000.
 */
export function commandUser(hostUid: number | undefined = process.getuid?.()): { uid: number; gid: number } {
  const uid = process.platform === 'linux' && hostUid !== undefined && hostUid !== 0 && hostUid !== keeperUser.uid ? hostUid : 1000;
  return { uid, gid: uid };
}

export interface ContainerSpecInput {
  readonly image: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly workspace: string | undefined;
  readonly access: WorkspaceAccess;
  readonly limits: SandboxLimits;
  /** Secret files and folders of the workspace, covered inside the container (see `secretMasks.ts`). */
  readonly masked?: readonly SecretMask[];
  /** An egress proxy's socket directory, mounted read-only at `/run/sophia-egress` (see `egressProxy.ts`). */
  readonly egressDirectory?: string;
  /** The engine the container runs on (default `local`): Podman needs one limit said explicitly. */
  readonly engineKind?: EngineKind;
  /**
   * The engine cannot see this machine's disk (a remote engine, Podman): no bind mount of any
   * kind. `/workspace` is then an empty anonymous volume the workspace is copied into
   * (`workspaceArchive.ts`); `workspace` only says which folder that copy is of.
   */
  readonly remote?: boolean;
}

/** Said when something needs a bind mount on an engine that has none. */
export const egressNeedsLocalEngine =
  'Network access for a command (the egress proxy) needs the local sandbox engine: its socket is shared with the sandbox through a bind mount, which a remote engine cannot make. Choose "This machine" in Settings → Engines for this task, or run it without network access.';

/** Where an egress proxy's socket directory appears inside the container. */
export const egressMountPoint = '/run/sophia-egress';

export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const { limits } = input;
  const mounts: Docker.MountSettings[] = [
    // IPC mode `none` leaves no /dev/shm; the POSIX message-queue mount is covered read-only,
    // so nothing outside /tmp and /workspace can be written.
    { Type: 'tmpfs', Source: '', Target: '/dev/mqueue', ReadOnly: true, TmpfsOptions: { SizeBytes: 4096, Mode: 0o755 } },
  ];
  if (input.remote === true) {
    // Refused here too, whatever the caller checked: a bind mount on a remote engine would
    // name a path on that engine's host, not this machine's.
    if (input.egressDirectory !== undefined) throw new SophiaError('unavailable', egressNeedsLocalEngine);
    // Read-write so putArchive can fill it under a read-only root; what a command may change
    // is decided by the owner and modes of the copied entries. NoCopy: a workspace image's own
    // /workspace content does not show through, as under a bind mount. Removed with the
    // container (AutoRemove, and `remove({ v: true })`).
    mounts.push({ Type: 'volume', Source: '', Target: workspaceMountPoint, ReadOnly: false, VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'] });
  } else if (input.workspace !== undefined) {
    mounts.push({
      Type: 'bind',
      Source: input.workspace,
      Target: workspaceMountPoint,
      ReadOnly: input.access !== 'read-write',
      BindOptions: { Propagation: 'rprivate' },
    });
    // Docker mounts parents before children, so each cover lands on top of the workspace.
    for (const mask of input.masked ?? []) {
      const target = `${workspaceMountPoint}/${mask.relative}`;
      mounts.push(
        mask.kind === 'file'
          ? { Type: 'bind', Source: '/dev/null', Target: target, ReadOnly: true }
          : { Type: 'tmpfs', Source: '', Target: target, ReadOnly: true, TmpfsOptions: { SizeBytes: 4096, Mode: 0o555 } },
      );
    }
  }
  if (input.egressDirectory !== undefined && input.remote !== true) {
    // Read-only: connecting to a Unix socket writes nothing to the file system.
    mounts.push({ Type: 'bind', Source: input.egressDirectory, Target: egressMountPoint, ReadOnly: true, BindOptions: { Propagation: 'rprivate' } });
  }
  return {
    name: input.name,
    Image: input.image,
    // PID 1 is Docker's init (reaps orphans, cannot be signalled from inside); its child
    // waits on standard input. Sophia keeps an attach stream open; when it closes (Sophia
    // quit or crashed) the keeper sees end of input, the container stops and, being
    // auto-removed, disappears. The keeper runs as its own user so a command's `kill -1`
    // cannot reach it.
    Entrypoint: ['/bin/sh', '-c', 'read -r _ || true'],
    Cmd: [],
    User: `${keeperUser.uid}:${keeperUser.gid}`,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    // Remote: warm containers are made before their workspace is known, and always have /workspace.
    WorkingDir: input.workspace === undefined && input.remote !== true ? sandboxHome : workspaceMountPoint,
    Env: [`HOME=${sandboxHome}`, 'LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    Labels: { ...input.labels },
    Hostname: 'sandbox',
    NetworkDisabled: true,
    StopTimeout: 0,
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      ReadonlyRootfs: true,
      Tmpfs: {
        [sandboxHome]: `rw,nosuid,nodev,exec,mode=1777,size=${Math.floor(limits.tmpBytes)}`,
        // Podman gives a read-only root writable tmpfs mounts at /run and /var/tmp of its own
        // (`--read-only-tmpfs`); said here, read-only, they stay read-only like the rest.
        ...(input.engineKind === 'podman'
          ? { '/run': 'ro,nosuid,nodev,noexec,mode=755,size=65536', '/var/tmp': 'ro,nosuid,nodev,noexec,mode=755,size=4096' }
          : {}),
      },
      Mounts: mounts,
      IpcMode: 'none',
      Memory: Math.floor(limits.memoryBytes),
      // Equal to Memory: no swap on top of it.
      MemorySwap: Math.floor(limits.memoryBytes),
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pids,
      Init: true,
      AutoRemove: true,
      // No Docker socket, no devices, no host namespaces: none are ever passed.
      Binds: [],
      Devices: [],
      PublishAllPorts: false,
      Ulimits: [
        { Name: 'nofile', Soft: 4096, Hard: 4096 },
        // Rootful Podman (4.3) otherwise asks runc for RLIMIT_NPROC 1048576, above the service's
        // own hard limit on most hosts; with every capability dropped the container then fails
        // to start ("error setting rlimit type 6: operation not permitted"). Docker passes no
        // NPROC limit. The cgroup's pids limit stays the real bound; this one counts every
        // process of the command user's uid on the Podman host (its sandboxes, and that uid's
        // own processes there if it is a person's).
        ...(input.engineKind === 'podman' ? [{ Name: 'nproc', Soft: limitCeilings.pids, Hard: limitCeilings.pids }] : []),
      ],
    },
  };
}
