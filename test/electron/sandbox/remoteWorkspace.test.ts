/**
 * The remote-engine path (see `remoteWorkspaceSuite.ts`) on the local Docker engine, presented
 * as an engine that cannot see this machine's disk. The engines suite runs the same checks on
 * the real TLS, SSH and Podman engines.
 */
import type { SandboxEngine } from '../../../electron/sandbox/engines/engine';
import { describeRemoteWorkspace } from './remoteWorkspaceSuite';
import { docker } from './support';

const remoteLocal: SandboxEngine = { id: 'remote-test', name: 'Remote (test)', kind: 'tls', remote: true, docker: () => docker, close: async () => undefined };

describeRemoteWorkspace('the local engine as a remote one', () => remoteLocal);
