/**
 * The sandbox on every kind of engine, in one run, against real engines on this machine: the
 * local socket, a second dockerd over mutual TLS (127.0.0.2), the same dockerd over SSH, and
 * Podman's API service. On each: the image is brought there (`ensureImageOnEngine`), a
 * `DockerSandboxService` runs on it, and
 * - a live task container's `docker inspect` is checked against the CIS Docker Benchmark
 *   v1.6 section 5 items that apply (each assertion names its item);
 * - a fork bomb and a memory hog stay contained, and the engine still serves new sandboxes;
 * - kill-all removes 10 busy containers;
 * - a launch killed with SIGKILL leaves containers that the next launch's start-up removes.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineKind } from '../../../shared/contract';
import { createDockerClient } from '../../../electron/sandbox/dockerClient';
import type { SandboxEngine } from '../../../electron/sandbox/engines/engine';
import { createEngine, localProfile } from '../../../electron/sandbox/engines/engineClient';
import { ensureImageOnEngine } from '../../../electron/sandbox/engines/imageTransfer';
import { labelKeys } from '../../../electron/sandbox/hardening';
import type { Sandbox } from '../../../electron/sandbox/sandbox';
import { defaultSandboxImage } from '../../../electron/sandbox/sandboxImage';
import { DockerSandboxService } from '../../../electron/sandbox/sandboxService';
import { startPodmanEngine, startSshEngine, startTlsEngine, type StartedEngine } from '../../support/engines';
import { makeWorkspace } from './support';

const MiB = 1024 * 1024;
const memoryBytes = 256 * MiB;
const pids = 128;
const image = defaultSandboxImage();
const local = createDockerClient();

const started: StartedEngine[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
let tls: StartedEngine;
let ssh: StartedEngine;
let podman: StartedEngine;

beforeAll(async () => {
  [tls, podman] = await Promise.all([startTlsEngine({ id: 'suite-tls' }), startPodmanEngine({ id: 'suite-podman' })]);
  started.push(tls, podman);
  ssh = await startSshEngine({ socketPath: tls.socketPath }, { id: 'suite-ssh' });
  started.push(ssh);
}, 300_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.allSettled(started.filter((engine) => engine !== tls).map((engine) => engine.stop()));
  await tls?.stop();
});

interface Setup {
  readonly kind: EngineKind;
  readonly engine: () => StartedEngine | undefined;
}

const setups: Setup[] = [
  { kind: 'local', engine: () => undefined },
  { kind: 'tls', engine: () => tls },
  { kind: 'ssh', engine: () => ssh },
  { kind: 'podman', engine: () => podman },
];

function ownContainers(docker: Docker, owner: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${labelKeys.owner}=${owner}`] } });
}

function startCrashHost(started: StartedEngine | undefined, tasks: number): { child: ChildProcessWithoutNullStreams; ready: Promise<{ pid: number; owner: string; running: number; detached: string }> } {
  const profile = started?.profile ?? localProfile;
  const child = spawn(process.execPath, ['test/support/runTs.ts', 'test/electron/sandbox/fixtures/engineCrashHost.ts'], {
    env: { ...process.env, ENGINE_PROFILE: JSON.stringify(profile), ENGINE_SECRETS: JSON.stringify(started?.secrets ?? {}), CRASH_TASKS: String(tasks), SOPHIA_LOG_LEVEL: 'error' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const ready = new Promise<{ pid: number; owner: string; running: number; detached: string }>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { pid: number; owner: string; running: number; detached: string });
    });
    child.once('exit', (code) => reject(new Error(`crash host exited (${String(code)}) before it was ready:\n${stderr}`)));
    setTimeout(() => reject(new Error(`crash host not ready after 120 s:\n${stderr}`)), 120_000).unref();
  });
  return { child, ready };
}

for (const setup of setups) {
  describe(`on the ${setup.kind} engine`, () => {
    let engine: SandboxEngine;
    let docker: Docker;
    let service: DockerSandboxService;
    let workspace: Awaited<ReturnType<typeof makeWorkspace>>;
    /** On this machine's engine the bind mount keeps the folder's own modes: one the command user may write. */
    let writableWorkspace: Awaited<ReturnType<typeof makeWorkspace>>;
    const remote = setup.kind !== 'local';

    beforeAll(async () => {
      const target = setup.engine();
      engine = createEngine(target?.profile ?? localProfile, target?.secret ?? (() => null));
      docker = engine.docker();
      // The product's way of getting the image there: save on this machine, load there.
      await ensureImageOnEngine({ from: local, to: engine, image, named: false });
      workspace = await makeWorkspace(false);
      writableWorkspace = await makeWorkspace(true);
      service = new DockerSandboxService({ engine, publish: () => undefined, poolSize: 1, retryMs: 0, limits: { memoryBytes, pids, cpus: 1 } });
      const status = await service.start();
      expect(status.state, status.message).toBe('ready');
    }, 600_000);

    afterAll(async () => {
      await service?.close();
      await engine?.close();
      await workspace?.remove();
      await writableWorkspace?.remove();
    });

    it('gives a task container the hardening of the CIS Docker Benchmark v1.6 section 5', async () => {
      await service.poolSettled(60_000);
      const box = await service.acquire(`cis-${setup.kind}`, { workspace: workspace.dir });
      try {
        expect((await box.exec('cat /workspace/README.txt')).stdout).toBe('hello from the host\n');
        const info = await docker.getContainer(box.containerId).inspect();
        const host = info.HostConfig;
        const caps = ((host.CapDrop ?? []) as string[]).map((cap) => cap.toUpperCase().replace(/^CAP_/, ''));
        if (setup.kind === 'podman') {
          // Podman records `--cap-drop ALL` as the list of its default capabilities, each
          // dropped; what the process holds is checked from inside just below.
          for (const cap of ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID', 'SETPCAP', 'SYS_CHROOT', 'SETFCAP']) {
            expect(caps, `CIS 5.3: capability ${cap} dropped`).toContain(cap);
          }
        } else {
          expect(caps, 'CIS 5.3: every Linux capability dropped').toEqual(['ALL']);
        }
        expect(host.CapAdd ?? [], 'CIS 5.3: no capability added').toEqual([]);
        const status = (await box.exec('grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status')).stdout;
        for (const set of ['CapEff', 'CapPrm', 'CapBnd']) expect(status, `CIS 5.3: no capability in ${set} inside`).toMatch(new RegExp(`${set}:\\s+0+\\n`));
        expect(host.Privileged, 'CIS 5.4: not privileged').toBe(false);
        const binds = (info.Mounts ?? []).filter((mount) => mount.Type === 'bind');
        if (remote) {
          expect(binds, 'CIS 5.5: no host directory mounted at all on a remote engine').toEqual([]);
          // Podman lists the workspace's anonymous volume in Binds too (`<volume id>:/workspace:...`);
          // a host path there would start with `/`.
          expect((host.Binds ?? []).filter((bind) => bind.startsWith('/')), 'CIS 5.5: no host path in Binds on a remote engine').toEqual([]);
          expect((info.Mounts ?? []).find((mount) => mount.Destination === '/workspace')?.Type, 'CIS 5.5: /workspace is a volume the workspace is copied into').toBe('volume');
        } else {
          expect(binds.map((mount) => mount.Destination), 'CIS 5.5: only the workspace from the host').toEqual(['/workspace']);
        }
        for (const mount of info.Mounts ?? []) {
          expect(['/', '/boot', '/dev', '/etc', '/lib', '/proc', '/sys', '/usr'], `CIS 5.5: sensitive host directory ${mount.Source ?? ''}`).not.toContain(mount.Source);
          expect(String(mount.Propagation ?? ''), 'CIS 5.19: no shared mount propagation').not.toMatch(/^r?shared$/);
        }
        expect(host.NetworkMode, 'CIS 5.9 and 5.29: network none (not host, not the default bridge)').toBe('none');
        expect(host.Memory, 'CIS 5.10: memory limited').toBe(memoryBytes);
        expect(host.NanoCpus || (host.CpuQuota ?? 0) * 10_000, 'CIS 5.11: CPU limited').toBe(1e9);
        expect(host.ReadonlyRootfs, 'CIS 5.12: read-only root file system').toBe(true);
        expect(host.PidMode ?? '', 'CIS 5.15: own PID namespace').not.toBe('host');
        expect(host.IpcMode ?? '', 'CIS 5.16: own IPC namespace').not.toBe('host');
        expect((await box.exec('grep -c " /dev/shm " /proc/self/mountinfo || true')).stdout.trim(), 'CIS 5.16: no shared memory mount (IPC none)').toBe('0');
        expect(host.Devices ?? [], 'CIS 5.17: no host device').toEqual([]);
        expect(host.UTSMode ?? '', 'CIS 5.20: own UTS namespace').not.toBe('host');
        const securityOpt: string[] = host.SecurityOpt ?? [];
        expect(securityOpt.join(' '), 'CIS 5.21: seccomp not unconfined').not.toMatch(/seccomp[=:]unconfined/);
        expect(status, 'CIS 5.21: a seccomp filter inside').toMatch(/Seccomp:\s+2/);
        expect(securityOpt.some((option) => /^no-new-privileges(:true|=true)?$/.test(option)), 'CIS 5.25: no-new-privileges').toBe(true);
        expect(status, 'CIS 5.25: no new privileges inside').toMatch(/NoNewPrivs:\s+1/);
        expect(host.PidsLimit, 'CIS 5.28: PIDs limited').toBe(pids);
        expect(JSON.stringify(info.Mounts ?? []) + JSON.stringify(host.Binds ?? []), 'CIS 5.31: no engine socket mounted').not.toMatch(/docker\.sock|podman\.sock/);
        expect(info.Config.Labels[labelKeys.owner], 'labelled with its launch').toBe(service.ownerId);
      } finally {
        await box.destroy();
      }
    });

    it('cannot write anywhere but /tmp, and /workspace only when approved to write', async () => {
      const places = ['/', '/etc', '/usr', '/usr/local/bin', '/var', '/var/tmp', '/root', '/home', '/opt', '/run', '/dev', '/dev/shm', '/dev/mqueue', '/sys/fs/cgroup', '/workspace'];
      const script = `for d in ${places.join(' ')}; do if (echo x > "$d/.probe") 2>/dev/null; then echo "WROTE $d"; fi; done; find / \\( -path /proc -o -path /sys \\) -prune -o -type d -writable -print 2>/dev/null`;
      const readOnly = await service.acquire(`ro-${setup.kind}`, { workspace: workspace.dir });
      try {
        expect((await readOnly.exec(script)).stdout.split('\n').filter(Boolean).sort(), 'CIS 5.12: only /tmp is writable').toEqual(['/tmp']);
      } finally {
        await readOnly.destroy();
      }
      const writable = await service.acquire(`rw-${setup.kind}`, { workspace: writableWorkspace.dir, access: 'read-write' });
      try {
        const written = (await writable.exec(script)).stdout.split('\n').filter(Boolean).sort();
        expect(written.filter((line) => line.startsWith('WROTE')), 'only /workspace of the places tried').toEqual(['WROTE /workspace']);
        expect(written.filter((line) => !line.startsWith('WROTE') && !line.startsWith('/workspace/')), 'writable folders').toEqual(['/tmp', '/workspace']);
      } finally {
        await writable.destroy();
      }
    });

    it('contains a fork bomb and a memory hog, and still hands out sandboxes afterwards', async () => {
      const box = await service.acquire(`bomb-${setup.kind}`);
      try {
        // The bomb forks in a background subshell; the command itself becomes `sleep` by exec (no
        // fork), so it cannot fail at the pids limit and the run ends at its time limit, by the kill.
        const bomb = await box.exec('(f() { f | f & }; f) & exec sleep 60', { timeoutMs: 6000 });
        expect(bomb.timedOut, `the bomb ran until its time limit (exit ${String(bomb.exitCode)}, stderr ${bomb.stderr.slice(0, 300)})`).toBe(true);
        expect(bomb.stderr, 'forks were refused at the pids limit').toMatch(/Cannot fork|Resource temporarily unavailable/);
        expect((await box.exec('echo alive')).stdout).toBe('alive\n');

        const hog = await box.exec(['python3', '-c', `b = bytearray(${2 * memoryBytes}); print("allocated")`], { timeoutMs: 60_000 });
        expect(hog.timedOut).toBe(false);
        expect(hog.exitCode, 'the hog alone was killed (SIGKILL: 137)').toBe(137);
        expect(hog.stdout).toBe('');
        expect((await docker.getContainer(box.containerId).inspect()).State.Running, 'the container survived').toBe(true);
        expect((await box.exec('echo alive')).stdout).toBe('alive\n');
      } finally {
        await box.destroy();
      }
      expect(String(await docker.ping()), 'the engine still answers').toBe('OK');
      const next = await service.acquire(`after-${setup.kind}`);
      expect((await next.exec('echo fresh')).stdout).toBe('fresh\n');
      await next.destroy();
    });

    it('kill-all removes 10 busy containers', async () => {
      const boxes: Sandbox[] = await Promise.all(Array.from({ length: 10 }, (_, i) => service.acquire(`busy-${setup.kind}-${i}`)));
      let running = 0;
      const commands = boxes.map((box) =>
        box.exec('echo running; while :; do sleep 0.2; done', { timeoutMs: 120_000, onOutput: (_stream, chunk) => void (chunk.includes('running') && (running += 1)) }),
      );
      await expect.poll(() => running, { timeout: 60_000 }).toBe(10);
      expect((await ownContainers(docker, service.ownerId)).filter((info) => info.State === 'running').length).toBeGreaterThanOrEqual(10);

      const items = await service.killAll();
      const results = await Promise.all(commands);
      expect(results.every((result) => result.stopped), 'every command ended as stopped').toBe(true);
      expect(items.filter((item) => item.kind === 'container' && item.outcome === 'stopped').length).toBeGreaterThanOrEqual(10);
      // A container the pool was making when the stop came may be gone by the time its removal
      // runs (the pool discards it itself): 'already-ended' is the truth then. Nothing may be stuck.
      expect(items.filter((item) => item.outcome !== 'stopped' && item.outcome !== 'already-ended')).toEqual([]);
      await expect.poll(async () => (await ownContainers(docker, service.ownerId)).length, { timeout: 30_000 }).toBe(0);
      service.resume();
    });

    it('after a launch is killed with SIGKILL, the next one removes what it left, by label', async () => {
      const host = startCrashHost(setup.engine(), 2);
      const { owner, running, detached } = await host.ready;
      expect(running).toBe(2);
      const before = await ownContainers(docker, owner);
      // Two tasks, one warm container and the detached one.
      expect(before.length).toBe(4);
      host.child.kill('SIGKILL');
      await new Promise((resolve) => host.child.once('exit', resolve));
      // The keeper-held containers end with their connection (if the engine noticed it close);
      // the detached one stands for those it did not notice, and only clean-up removes it.
      expect((await ownContainers(docker, owner)).map((info) => info.Id)).toContain(detached);

      const next = new DockerSandboxService({ engine, publish: () => undefined, poolSize: 0, retryMs: 0 });
      try {
        expect((await next.start()).state).toBe('ready');
        await expect.poll(async () => (await ownContainers(docker, owner)).length, { timeout: 30_000 }).toBe(0);
      } finally {
        await next.close();
      }
    });
  });
}
