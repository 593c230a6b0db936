/**
 * A sandbox engine: one Docker-compatible API the sandboxes run on (the local socket, a remote
 * Docker engine over mutual TLS or SSH, Podman). The sandbox service, the image transfer and
 * the emergency stop see engines only through this interface; `engineClient.ts` makes them
 * from the profiles in Settings → Engines.
 */
import type Docker from 'dockerode';
import type { EngineKind } from '../../../shared/contract';

export interface SandboxEngine {
  /** The profile's id; `local` for the default socket. */
  readonly id: string;
  /** Shown to the person: the profile's name. */
  readonly name: string;
  readonly kind: EngineKind;
  /**
   * True for every engine but the local socket: no bind mounts, the workspace goes in as an
   * archive (`putArchive`) and comes back only for approved writes (`getArchive`).
   */
  readonly remote: boolean;
  /** The client, made on first use (an SSH engine connects then). */
  docker(): Docker;
  /** Ends the engine's connections (SSH sessions, sockets). Safe to call twice. */
  close(): Promise<void>;
}
