/**
 * The fleet of sandbox engines: the emergency stop on every engine at once (this machine's
 * real sandboxes, a second real engine, one that refuses connections and one that never
 * answers), start-up clean-up on a second engine, and switching the active engine live.
 */
import { spawn } from 'node:child_process';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EngineProfile, SophiaEvent, StoppedItem } from '../../../shared/contract';
import { createDockerClient, imageExists } from '../../../electron/sandbox/dockerClient';
import type { SandboxEngine } from '../../../electron/sandbox/engines/engine';
import type { Sandbox } from '../../../electron/sandbox/sandbox';
import { createEngine, type EngineSecret } from '../../../electron/sandbox/engines/engineClient';
import { EngineFleet } from '../../../electron/sandbox/engines/engineFleet';
import { ensureImageOnEngine } from '../../../electron/sandbox/engines/imageTransfer';
import { labelKeys } from '../../../electron/sandbox/hardening';
import { ownerLabels, ownerOf, type Owner } from '../../../electron/sandbox/sandboxOwner';
import { DockerSandboxService } from '../../../electron/sandbox/sandboxService';
import { closedPort } from '../../support/closedPort';
import { startTlsEngine, type TlsEngine } from '../../support/engines';
import { engineOn, makeSleepImage, removeImage, runLabelled, silentServer, startPodman, type TestEngine } from './fleetSupport';
import { docker as local } from './support';

const localProfile: EngineProfile = { id: 'local', name: 'This machine', kind: 'local' };
const podmanProfile: EngineProfile = { id: 'podman-test', name: 'Podman box', kind: 'podman', socketPath: '/unused' };

let podman: TestEngine;
let tls: TlsEngine;
/** The TLS engine's own socket on this machine, to see its containers from outside the product. */
let tlsDocker: Docker;
let sleepImage: string;
const fleets: EngineFleet[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  podman = await startPodman('podman-test');
  tls = await startTlsEngine({ id: 'fleet-tls' });
  tlsDocker = createDockerClient({ socketPath: tls.socketPath });
  ({ image: sleepImage } = await makeSleepImage(local));
});

afterEach(async () => {
  for (const fleet of fleets.splice(0)) await fleet.close();
  for (const close of closers.splice(0)) await close();
});

afterAll(async () => {
  await removeImage(local, sleepImage);
  await podman?.stop();
  await tls?.stop();
});

/** A TLS profile whose engine is a dockerode client for a loopback port (nothing there, or a server that never answers). */
function tlsProfile(id: string, name: string, port: number): { profile: EngineProfile; engine: SandboxEngine } {
  const profile: EngineProfile = { id, name, kind: 'tls', host: '127.0.0.1', port };
  return { profile, engine: engineOn(createDockerClient({ host: '127.0.0.1', port, protocol: 'https' }), id, 'tls', name) };
}

interface FleetSetup {
  readonly fleet: EngineFleet;
  readonly events: SophiaEvent[];
}

function newFleet(options: {
  engines: Array<{ profile: EngineProfile; engine: SandboxEngine }>;
  /** Engines made from their profile by the product's engine client. */
  real?: Array<{ profile: EngineProfile; secret: EngineSecret }>;
  active?: string;
  remoteStopMs?: number;
  remoteImage?: string;
  retryMs?: number;
}): FleetSetup {
  const events: SophiaEvent[] = [];
  const byId = new Map(options.engines.map((entry) => [entry.profile.id, entry.engine]));
  byId.set('local', engineOn(local, 'local', 'local'));
  // The second engine can be made even when it is not configured yet (configure() adds it).
  if (!byId.has(podmanProfile.id)) byId.set(podmanProfile.id, podman.engine);
  const fleet = new EngineFleet({
    publish: (event) => events.push(event),
    localProfile,
    profiles: [...options.engines.map((entry) => entry.profile), ...(options.real ?? []).map((entry) => entry.profile)],
    active: options.active ?? 'local',
    makeEngine: (profile) => {
      const real = options.real?.find((entry) => entry.profile.id === profile.id);
      if (real) return createEngine(profile, real.secret);
      const engine = byId.get(profile.id);
      if (engine === undefined) throw new Error(`no test engine ${profile.id}`);
      return engine;
    },
    makeService: (engine, publish) =>
      new DockerSandboxService({
        engine,
        publish,
        poolSize: 0,
        retryMs: 0,
        ...(engine.remote && options.remoteImage ? { image: options.remoteImage } : {}),
      }),
    ...(options.remoteStopMs === undefined ? {} : { remoteStopMs: options.remoteStopMs }),
    retryMs: options.retryMs ?? 0,
  });
  fleets.push(fleet);
  return { fleet, events };
}

async function ownContainers(docker: Docker, ownerId: string): Promise<string[]> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${labelKeys.owner}=${ownerId}`] } });
  return listed.map((info) => info.Id);
}

/** The owner identity of a process that has ended (a launch that crashed). */
async function endedOwner(): Promise<Owner> {
  const child = spawn('sleep', ['0.1']);
  const owner = ownerOf(child.pid);
  await new Promise((resolve) => child.once('exit', resolve));
  return owner;
}

describe('EngineFleet.killAll', () => {
  it('stops every engine at once; this machine is not held up by an engine that never answers, and both dead engines are named', async () => {
    const silent = await silentServer();
    closers.push(silent.close);
    const refused = tlsProfile('refused', 'Refusing host', await closedPort());
    const hanging = tlsProfile('hanging', 'Silent host', silent.port);
    const real = [{ profile: tls.profile, secret: tls.secret }];
    const { fleet } = newFleet({
      engines: [{ profile: podmanProfile, engine: podman.engine }, refused, hanging],
      real,
      // Long enough that the silent engine's part can only end when the test closes it.
      remoteStopMs: 120_000,
    });
    const status = await fleet.start();
    expect(status.state, status.message).toBe('ready');
    const busy = (box: Sandbox): Promise<unknown> => box.exec('while :; do :; done', { timeoutMs: 300_000 }).catch((error: unknown) => error);

    // This machine: two real task sandboxes, busy.
    const here = await Promise.all([fleet.acquire('fleet-here-0'), fleet.acquire('fleet-here-1')]);
    const running = here.map(busy);
    // The TLS engine becomes the active one: the sandbox image is brought to it, two busy sandboxes there.
    fleet.configure([podmanProfile, refused.profile, hanging.profile, tls.profile], tls.profile.id);
    expect(fleet.activeEngine().id).toBe(tls.profile.id);
    await expect.poll(() => fleet.status().state, { timeout: 240_000 }).toBe('ready');
    const there = await Promise.all([fleet.acquire('fleet-tls-0'), fleet.acquire('fleet-tls-1')]);
    running.push(...there.map(busy));
    // Podman, never used by a service this launch: containers of this launch there (a sweep finds them by label).
    await ensureImageOnEngine({ from: local, to: podman.engine, image: sleepImage, named: false });
    const swept = await Promise.all([0, 1, 2].map(() => runLabelled(podman.engine.docker(), sleepImage, { ...ownerLabels(ownerOf()), [labelKeys.role]: 'task' })));
    expect((await ownContainers(podman.engine.docker(), fleet.ownerId)).sort()).toEqual([...swept].sort());
    expect(await ownContainers(local, fleet.ownerId)).toHaveLength(2);
    expect(await ownContainers(tlsDocker, fleet.ownerId)).toHaveLength(2);

    let report: StoppedItem[] | undefined;
    const stopping = fleet.killAll().then((items) => (report = items));
    // Every reachable engine's containers go while the silent engine still holds its part.
    await expect.poll(() => ownContainers(local, fleet.ownerId), { timeout: 30_000 }).toEqual([]);
    await expect.poll(() => ownContainers(tlsDocker, fleet.ownerId), { timeout: 30_000 }).toEqual([]);
    await expect.poll(() => ownContainers(podman.engine.docker(), fleet.ownerId), { timeout: 30_000 }).toEqual([]);
    expect(report).toBeUndefined();

    await silent.close();
    await stopping;
    const items = report ?? [];
    expect(items.filter((item) => item.outcome === 'unreachable')).toEqual([
      { kind: 'engine', id: 'refused', label: 'Refusing host', outcome: 'unreachable' },
      { kind: 'engine', id: 'hanging', label: 'Silent host', outcome: 'unreachable' },
    ]);
    const outcomes = (prefix: string): string[] => items.filter((item) => item.label.startsWith(prefix)).map((item) => item.outcome);
    expect(outcomes('sandbox of task fleet-here-')).toEqual(['stopped', 'stopped']);
    expect(outcomes('sandbox of task fleet-tls-')).toEqual(['stopped', 'stopped']);
    expect(outcomes('sandbox on Podman box')).toEqual(['stopped', 'stopped', 'stopped']);
    await Promise.all(running);
    await expect(fleet.acquire('after-stop')).rejects.toMatchObject({ code: 'stopped' });
  });

  it('reports an engine that does not answer within its bound as unreachable and returns', async () => {
    const silent = await silentServer();
    closers.push(silent.close);
    const hanging = tlsProfile('hanging', 'Silent host', silent.port);
    const { fleet } = newFleet({ engines: [hanging], remoteStopMs: 300 });
    const items = await fleet.killAll();
    expect(items).toEqual([{ kind: 'engine', id: 'hanging', label: 'Silent host', outcome: 'unreachable' }]);
  });
});

describe('EngineFleet with an active engine it cannot use', () => {
  it('says plainly that a remote engine does not answer, refuses tasks, and is the one the stop names', async () => {
    const refused = tlsProfile('refused', 'Refusing host', await closedPort());
    const { fleet } = newFleet({ engines: [refused], active: 'refused', retryMs: 0 });
    const status = await fleet.start();
    expect(status.state).toBe('docker-unavailable');
    expect(status.message).toMatch(/^Refusing host refused the connection: nothing listens there\./);
    await expect(fleet.acquire('nowhere')).rejects.toMatchObject({ code: 'unavailable', message: status.message });
    expect(await fleet.killAll()).toEqual([{ kind: 'engine', id: 'refused', label: 'Refusing host', outcome: 'unreachable' }]);
  });

  it('shows why an engine cannot be made (its keychain material is missing) and leaves it out of the stop', async () => {
    const profile: EngineProfile = { id: 'no-keys', name: 'Keyless host', kind: 'tls', host: '127.0.0.1', port: 2376 };
    const { fleet } = newFleet({ engines: [], real: [{ profile, secret: () => null }], active: 'no-keys' });
    const status = await fleet.start();
    expect(status.state).toBe('failed');
    expect(status.message).toMatch(/^Keyless host: /);
    await expect(fleet.acquire('nowhere')).rejects.toMatchObject({ code: 'unavailable' });
    expect(await fleet.killAll()).toEqual([]);
  });
});

describe('EngineFleet and the sandbox image', () => {
  it('Stop aborts sending the image to the active engine: the report says so and the engine keeps no image', async () => {
    const podmanDocker = podman.engine.docker();
    const { fleet, events } = newFleet({ engines: [{ profile: podmanProfile, engine: podman.engine }], active: podmanProfile.id });
    const image = fleet.image;
    expect(await imageExists(podmanDocker, image)).toBe(false);
    void fleet.start();
    await expect.poll(() => fleet.status().message, { timeout: 60_000 }).toMatch(/^Podman box: Sending the sandbox image to test engine podman-test: [1-9]\d* MB of about \d+ MB/);
    expect(fleet.status().state).toBe('building-image');

    const items = await fleet.killAll();
    expect(items).toContainEqual({ kind: 'task', id: 'sandbox-image-transfer', label: 'sandbox image transfer', outcome: 'stopped' });
    await expect.poll(() => fleet.status().state).toBe('image-missing');
    expect(fleet.status().message).toMatch(/was stopped/);
    expect(await imageExists(podmanDocker, image)).toBe(false);
    expect(events.some((event) => event.type === 'sandbox.status' && event.status.state === 'building-image')).toBe(true);
  });
});

describe('EngineFleet with the image on neither machine', () => {
  it('offers to build it here and send it, in the words the first-run checklist turns into its Build button', async () => {
    const { fleet } = newFleet({ engines: [{ profile: podmanProfile, engine: podman.engine }], active: podmanProfile.id, remoteImage: 'sophia-sandbox:0000nowhere0000' });
    const status = await fleet.start();
    expect(status.state).toBe('image-missing');
    expect(status.message).toMatch(/^Podman box: The sandbox image is not built yet\. Press “Build sandbox image”: it is built on this machine .*then sent to test engine podman-test\.$/);
    await expect(fleet.acquire('no-image')).rejects.toMatchObject({ code: 'unavailable', message: status.message });
  });
});

describe('EngineFleet.removeLeftovers', () => {
  it("removes containers of ended launches of this host on a second engine, and keeps live and other hosts' ones", async () => {
    await sendImage(podman.engine, sleepImage);
    const target = podman.engine.docker();
    const dead = await runLabelled(target, sleepImage, { ...ownerLabels(await endedOwner()), [labelKeys.role]: 'pool' });
    const live = await runLabelled(target, sleepImage, { ...ownerLabels(ownerOf(process.ppid)), [labelKeys.role]: 'pool' });
    const elsewhere = await runLabelled(target, sleepImage, {
      ...ownerLabels({ host: 'another-host', pid: 4242, started: '1', id: 'another-host/4242/1' }),
      [labelKeys.role]: 'pool',
    });
    try {
      const { fleet } = newFleet({ engines: [{ profile: podmanProfile, engine: podman.engine }] });
      expect(await fleet.removeLeftovers()).toBeGreaterThanOrEqual(1);
      const left = (await target.listContainers({ all: true })).map((info) => info.Id);
      expect(left).not.toContain(dead);
      expect(left).toContain(live);
      expect(left).toContain(elsewhere);
    } finally {
      await Promise.allSettled([live, elsewhere, dead].map((id) => target.getContainer(id).remove({ force: true })));
    }
  });
});

describe('EngineFleet.configure', () => {
  it('switches the active engine live: the image is sent to the new one, the old one is closed when removed', async () => {
    const { image } = await makeSleepImage(local);
    try {
      const { fleet, events } = newFleet({ engines: [], remoteImage: image });
      expect((await fleet.start()).state).toBe('ready');
      expect(fleet.activeEngine()).toEqual({ id: 'local', name: 'This machine', kind: 'local' });

      fleet.configure([podmanProfile], 'podman-test');
      expect(fleet.activeEngine()).toEqual({ id: 'podman-test', name: 'Podman box', kind: 'podman' });
      await expect.poll(() => fleet.status().state, { timeout: 60_000 }).toBe('ready');
      expect(fleet.status().message).toMatch(/^Podman box: Ready/);
      expect((await podman.engine.docker().getImage(image).inspect()).RepoTags.join(' ')).toContain(image);
      const statuses = events.flatMap((event) => (event.type === 'sandbox.status' ? [event.status.message] : []));
      expect(statuses.some((message) => /^Podman box: Sending the sandbox image to test engine podman-test/.test(message))).toBe(true);

      // New keychain material for the same profile: its service and engine are made again, and it comes back ready.
      const before = fleet.activeService;
      fleet.configure([podmanProfile], 'podman-test', { renewed: 'podman-test' });
      expect(fleet.activeService).not.toBe(before);
      await expect.poll(() => fleet.status().state, { timeout: 60_000 }).toBe('ready');

      // A container of this launch on the engine about to be removed: closing its service removes it.
      const mine = await runLabelled(podman.engine.docker(), image, { ...ownerLabels(ownerOf()), [labelKeys.role]: 'task' });
      fleet.configure([], 'local');
      expect(fleet.activeEngine().id).toBe('local');
      expect(fleet.engineIds()).toEqual(['local']);
      await expect.poll(async () => (await podman.engine.docker().listContainers({ all: true })).map((info) => info.Id), { timeout: 30_000 }).not.toContain(mine);
      expect(fleet.status().message).toMatch(/^Ready/);

      // An active id that is not configured falls back to this machine.
      fleet.configure([], 'gone');
      expect(fleet.activeEngine().id).toBe('local');
    } finally {
      await removeImage(local, image);
      await removeImage(podman.engine.docker(), image);
    }
  });
});

async function sendImage(engine: SandboxEngine, image: string): Promise<void> {
  await ensureImageOnEngine({ from: local, to: engine, image, named: false });
}
