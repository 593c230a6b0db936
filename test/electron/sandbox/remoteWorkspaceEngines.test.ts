/**
 * The remote-workspace checks (`remoteWorkspaceSuite.ts`) on the real engines started on this
 * machine: a second dockerd with mutual TLS on 127.0.0.2, the same engine over SSH, and
 * Podman's API service. The sandbox image is copied to them first (kept between runs).
 */
import { afterAll, beforeAll } from 'vitest';
import { createEngine } from '../../../electron/sandbox/engines/engineClient';
import type { SandboxEngine } from '../../../electron/sandbox/engines/engine';
import { defaultSandboxImage } from '../../../electron/sandbox/sandboxImage';
import { copyImage, startPodmanEngine, startSshEngine, startTlsEngine, type SshEngine, type StartedEngine, type TlsEngine } from '../../support/engines';
import { describeRemoteWorkspace } from './remoteWorkspaceSuite';
import { docker } from './support';

let tls: TlsEngine;
let ssh: SshEngine;
let podman: StartedEngine;
const engines: Record<string, SandboxEngine> = {};

beforeAll(async () => {
  tls = await startTlsEngine({ id: 'ws-tls' });
  ssh = await startSshEngine({ socketPath: tls.socketPath }, { id: 'ws-ssh' });
  podman = await startPodmanEngine({ id: 'ws-podman' });
  for (const started of [tls, ssh, podman]) engines[started.profile.id] = createEngine(started.profile, started.secret);
  const image = defaultSandboxImage();
  await copyImage(docker, engines['ws-tls']!.docker(), image);
  await copyImage(docker, engines['ws-podman']!.docker(), image);
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(engines).map((engine) => engine.close()));
  await Promise.allSettled([ssh?.stop(), podman?.stop()]);
  await tls?.stop();
});

describeRemoteWorkspace('the workspace on the TLS engine', () => engines['ws-tls']!);
describeRemoteWorkspace('the workspace on the SSH engine', () => engines['ws-ssh']!);
describeRemoteWorkspace('the workspace on Podman', () => engines['ws-podman']!);
