/**
 * The sandbox service: one container per task, commands streamed out of it, files copied
 * in and out, and every container removed when its task ends or the emergency stop fires.
 * The agent sees only these interfaces; `dockerSandbox.ts` is the real implementation.
 *
 * Nothing here lets a caller weaken the hardening (network, capabilities, read-only root,
 * user, limits): those are fixed in `hardening.ts`. The one choice a caller makes is
 * whether the workspace is mounted writable, and only an approved step may ask for that.
 */
import type { SandboxStatus, StoppedItem } from '../../shared/contract';

export type WorkspaceAccess = 'read-only' | 'read-write';

export interface AcquireOptions {
  /**
   * An absolute host directory, at `/workspace`: bind-mounted on the local engine, copied in
   * (`putArchive`, `.gitignore`d and secret files left out) on a remote one. None: no workspace
   * (on a remote engine `/workspace` is then an empty folder, writable for read-write access).
   */
  readonly workspace?: string;
  /** `read-write` only for a step the user approved to write. Default `read-only`. */
  readonly access?: WorkspaceAccess;
  /**
   * A host directory holding an egress proxy's socket (see `egressProxy.ts`), bind-mounted
   * read-only at `/run/sophia-egress`. Such a sandbox is always a new container, never a warm one.
   */
  readonly egressDirectory?: string;
}

export type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  /** Wall-clock limit; past it every process of the command is killed. Default 60 s. */
  readonly timeoutMs?: number;
  /** Bytes for the command's standard input; none means an empty input. */
  readonly stdin?: string | Uint8Array;
  /** Called with each decoded chunk as it arrives. */
  readonly onOutput?: (stream: OutputStream, chunk: string) => void;
  /**
   * Environment variables for this one command only (run secrets, the proxy address): given to
   * its own `docker exec`, never to the container or a file.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Texts cut from the command's output before anyone sees it (the result, the execution
   * log, `onOutput`), each replaced by `[redacted:label]`; also across chunk boundaries.
   */
  readonly redactions?: readonly Redaction[];
}

export interface Redaction {
  readonly text: string;
  readonly label: string;
}

export interface ExecResult {
  readonly execId: string;
  /** Null when the command was ended from outside and no exit code was reported. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  /** Ended by the emergency stop or by the sandbox being destroyed. */
  readonly stopped: boolean;
  /** Output past the kept limit was dropped (the first bytes are kept). */
  readonly truncated: boolean;
}

export interface SandboxFile {
  /** Relative to the directory it is copied into or out of. */
  readonly path: string;
  readonly content: Uint8Array;
  readonly mode?: number;
}

export interface Sandbox {
  readonly taskId: string;
  readonly containerId: string;
  readonly access: WorkspaceAccess;
  /**
   * Runs a command: a string goes to `/bin/sh -c`, an array is an argv. Commands of one
   * sandbox run one at a time, in the order they were asked for.
   */
  exec(command: string | readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Writes files under `directory` (which must be writable: `/tmp`, or a writable `/workspace`). */
  copyIn(directory: string, files: readonly SandboxFile[]): Promise<void>;
  /** Reads the regular files under `path` (a file or a directory). */
  copyOut(path: string): Promise<SandboxFile[]>;
  /**
   * After a step the person approved to write (access `read-write`): brings what the commands
   * wrote in `/workspace` back into the workspace on this machine. On the local engine the
   * writes are already there (bind mount) and this reports nothing. On a remote engine it is
   * `getArchive`, every entry checked (see `workspaceArchive.ts`). Refused for read-only access.
   */
  syncBack(): Promise<SyncReport>;
  /** Kills whatever runs and removes the container. Safe to call twice. */
  destroy(): Promise<void>;
}

/** What `syncBack` did; paths are workspace-relative. */
export interface SyncReport {
  readonly written: string[];
  readonly removed: string[];
  readonly created: string[];
  readonly refused: Array<{ readonly path: string; readonly reason: string }>;
  unchanged: number;
  ignored: number;
}

export interface SandboxService {
  status(): SandboxStatus;
  /** Connects to Docker, removes containers left behind by a crashed launch, warms the pool. */
  start(): Promise<SandboxStatus>;
  /** Checks again; when the default image is missing, starts building it in the background. */
  prepare(): Promise<SandboxStatus>;
  acquire(taskId: string, options?: AcquireOptions): Promise<Sandbox>;
  /** Stops and removes every container of this launch at once and pauses the pool. */
  killAll(): Promise<StoppedItem[]>;
  /** After the emergency stop is lifted: the pool refills again. */
  resume(): void;
  /** Removes every container of this launch and stops background work. */
  close(): Promise<void>;
}
