/**
 * What each kind of engine profile needs, in plain words: the contract's schema checks each
 * field's shape, this checks that a profile of its kind has the fields it needs and none it
 * cannot use (a TLS profile with a socket path is a mistake, not a hint). The Settings form
 * shows the same sentence the main process refuses a save with.
 */
import { localEngineId, type EngineMaterialField, type EngineProfile } from './contract';

/** The material fields a profile of this kind keeps in the keychain. */
export function engineMaterialFieldsFor(profile: Pick<EngineProfile, 'kind' | 'sshAuth'>): readonly EngineMaterialField[] {
  switch (profile.kind) {
    case 'tls':
      return ['ca', 'cert', 'key'];
    case 'ssh':
      return profile.sshAuth === 'key' ? ['sshKey'] : [];
    case 'local':
    case 'podman':
      return [];
  }
}

const absoluteSocket = /^\/[^\0]*$/;

/** Why the profile cannot be used as it stands, or undefined when its fields fit its kind. */
export function engineProfileProblem(profile: EngineProfile): string | undefined {
  if (profile.id === localEngineId) return '"local" is this machine\'s own engine; give the profile another id.';
  const extra = (fields: readonly (keyof EngineProfile)[]): string | undefined => {
    const present = fields.filter((field) => profile[field] !== undefined);
    return present.length > 0 ? `A ${profile.kind} engine does not use ${present.join(', ')}.` : undefined;
  };
  switch (profile.kind) {
    case 'local':
    case 'podman':
      if (profile.kind === 'podman' && !profile.socketPath) return 'A Podman engine needs the path of its API socket (say /run/user/1000/podman/podman.sock).';
      if (profile.socketPath !== undefined && !absoluteSocket.test(profile.socketPath)) return 'The socket path must be absolute (start with /).';
      return extra(['host', 'port', 'user', 'sshAuth', 'hostKey']);
    case 'tls':
      if (!profile.host) return 'A TLS engine needs the host name or IP address of its Docker engine.';
      return extra(['user', 'sshAuth', 'hostKey', 'socketPath']);
    case 'ssh':
      if (!profile.host) return 'An SSH engine needs the host to log in to.';
      if (!profile.user) return 'An SSH engine needs the user to log in as.';
      if (!profile.sshAuth) return 'An SSH engine logs in through the SSH agent or with a key kept in the keychain: choose one.';
      if (profile.socketPath !== undefined && !absoluteSocket.test(profile.socketPath)) return 'The remote socket path must be absolute (start with /).';
      // Every field has a use here: the remote socket path is optional (the engine's default).
      return undefined;
  }
}

/** Where the profile points, for the list: `host:port`, `user@host:port` or the socket path. */
export function engineAddress(profile: EngineProfile): string {
  switch (profile.kind) {
    case 'local':
      return profile.socketPath ?? '/var/run/docker.sock';
    case 'podman':
      return profile.socketPath ?? '';
    case 'tls':
      return `${profile.host ?? ''}:${profile.port ?? 2376}`;
    case 'ssh':
      return `ssh://${profile.user ?? ''}@${profile.host ?? ''}:${profile.port ?? 22}`;
  }
}
