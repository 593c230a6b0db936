/**
 * The sandbox image, built on this machine with no registry: `debootstrap` makes a minimal
 * Debian root filesystem, `apt-get` in a chroot adds the common toolchains from the same
 * mirror (Node.js with npm, Python with pip and venv, make, a C compiler, git, ripgrep, curl,
 * socat), a few finishing touches make it fit for the hardened containers, and `docker
 * import` (dockerode) turns it into an image. The
 * tag is a hash of the recipe, so an image is built once per recipe; a build in another
 * process is waited for, not repeated.
 *
 * debootstrap needs root and Linux. Where that is not at hand the user names another image
 * (SOPHIA_SANDBOX_IMAGE) or runs `sudo npm run sandbox:image` once.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, existsSync, readFileSync } from 'node:fs';
import { access, appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { SophiaError } from '../../shared/errors';
import { createLogger } from '../log';
import { imageExists } from './dockerClient';
import { keeperUser, sandboxHome, workspaceMountPoint } from './hardening';

const log = createLogger('sandboxImage');

/**
 * Everything that decides the image's content. Change `format` whenever the finishing
 * steps below change, so a new tag (and a new build) follows.
 */
export const sandboxRecipe = {
  format: 2,
  base: { distribution: 'debian', suite: 'bookworm', variant: 'minbase' },
  // What debootstrap itself installs. Its resolver cannot take Debian's `npm` (hundreds of
  // node-* packages with alternatives), so the toolchains come next, from apt in a chroot.
  packages: ['ca-certificates'],
  /** Installed with `apt-get install --no-install-recommends` in the chroot; no service is started. */
  toolchain: [
    'nodejs',
    'npm',
    'python3',
    'python3-pip',
    'python3-venv',
    'make',
    'gcc',
    'g++',
    'libc6-dev',
    'git',
    'ripgrep',
    'curl',
    'socat',
    'xz-utils',
    'unzip',
  ],
  users: [
    { name: 'sophia', uid: 1000, home: sandboxHome, shell: '/bin/sh' },
    { name: 'sophia-keeper', uid: keeperUser.uid, home: '/nonexistent', shell: '/usr/sbin/nologin' },
  ],
  stripSetuid: true,
  changes: [`ENV HOME=${sandboxHome}`, 'ENV LANG=C.UTF-8', `WORKDIR ${workspaceMountPoint}`, `USER ${keeperUser.uid}:${keeperUser.gid}`, 'CMD ["/bin/sh"]'],
} as const;

export type SandboxRecipe = typeof sandboxRecipe;

export const sandboxImageRepository = 'sophia-sandbox';

export function recipeHash(recipe: SandboxRecipe = sandboxRecipe): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex');
}

/** The default image's name: the repository, tagged with the recipe's hash. */
export function defaultSandboxImage(recipe: SandboxRecipe = sandboxRecipe): string {
  return `${sandboxImageRepository}:${recipeHash(recipe).slice(0, 16)}`;
}

export type BuildPhase = 'waiting-for-other-build' | 'debootstrap' | 'toolchain' | 'finishing' | 'importing' | 'done';

export interface EnsureImageOptions {
  readonly recipe?: SandboxRecipe;
  readonly onPhase?: (phase: BuildPhase) => void;
  /** A Debian mirror; by default the one apt uses here, else deb.debian.org. */
  readonly mirror?: string;
  /** Where the root filesystem is assembled; by default the system's temporary directory. */
  readonly workDir?: string;
  /** Aborting ends the build: its processes are killed and nothing is imported. */
  readonly signal?: AbortSignal;
}

export interface EnsureImageResult {
  readonly image: string;
  readonly built: boolean;
  readonly durationMs: number;
}

const buildTimeoutMs = 20 * 60_000;
const lockPollMs = 2000;

/** Why this machine cannot build the image, or undefined when it can. */
export function buildBlocker(): string | undefined {
  if (process.platform !== 'linux') {
    return 'The sandbox image is built with debootstrap, which needs Linux. Name an existing image in SOPHIA_SANDBOX_IMAGE instead.';
  }
  if (process.getuid?.() !== 0) {
    return 'Building the sandbox image needs root (debootstrap). Run `sudo npm run sandbox:image` once, or name an existing image in SOPHIA_SANDBOX_IMAGE.';
  }
  if (findDebootstrap() === undefined) {
    return 'Building the sandbox image needs debootstrap: install it (`sudo apt-get install debootstrap`), then try again.';
  }
  return undefined;
}

function findDebootstrap(): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  return dirs.map((dir) => path.join(dir, 'debootstrap')).find((candidate) => candidate.startsWith('/') && existsSync(candidate));
}

/** The mirror apt is configured with, so the build works wherever apt does. */
export function debianMirror(): string {
  const configured = process.env['SOPHIA_DEBIAN_MIRROR'];
  if (configured) return configured;
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  for (const file of sources) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const deb822 = /^URIs:\s*(\S+)/.exec(line.trim());
      const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line.trim());
      const uri = deb822?.[1] ?? oneLine?.[1];
      if (uri && /^https?:\/\//.test(uri) && !uri.includes('security')) return uri;
    }
  }
  return 'http://deb.debian.org/debian';
}

/** The image exists afterwards, or this throws with a plain reason. */
export async function ensureSandboxImage(docker: Docker, options: EnsureImageOptions = {}): Promise<EnsureImageResult> {
  const recipe = options.recipe ?? sandboxRecipe;
  const image = defaultSandboxImage(recipe);
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  if (await imageExists(docker, image)) return { image, built: false, durationMs: elapsed() };

  const blocker = buildBlocker();
  if (blocker !== undefined) throw new SophiaError('unavailable', blocker);
  options.signal?.throwIfAborted();

  const release = await acquireBuildLock(recipeHash(recipe).slice(0, 16), docker, image, options.onPhase);
  if (release === 'built-elsewhere') return { image, built: false, durationMs: elapsed() };
  try {
    if (await imageExists(docker, image)) return { image, built: false, durationMs: elapsed() };
    await buildImage(docker, image, recipe, options);
    options.onPhase?.('done');
    log.info('sandbox image built', { image, durationMs: elapsed() });
    return { image, built: true, durationMs: elapsed() };
  } finally {
    await release();
  }
}

async function buildImage(docker: Docker, image: string, recipe: SandboxRecipe, options: EnsureImageOptions): Promise<void> {
  const workRoot = await mkdtemp(path.join(options.workDir ?? tmpdir(), 'sophia-rootfs-'));
  const rootfs = path.join(workRoot, 'rootfs');
  try {
    options.onPhase?.('debootstrap');
    const mirror = options.mirror ?? debianMirror();
    log.info('building the sandbox image', { image, mirror });
    const { base } = recipe;
    await runTool(findDebootstrap() ?? 'debootstrap', [
      `--variant=${base.variant}`,
      `--include=${recipe.packages.join(',')}`,
      base.suite,
      rootfs,
      mirror,
    ], options.signal);
    options.signal?.throwIfAborted();
    options.onPhase?.('toolchain');
    await installToolchain(rootfs, recipe, options.signal);
    options.signal?.throwIfAborted();
    options.onPhase?.('finishing');
    await finishRootfs(rootfs, recipe, options.signal);
    options.signal?.throwIfAborted();
    options.onPhase?.('importing');
    await importRootfs(docker, rootfs, image, recipe, options.signal);
  } finally {
    await rm(workRoot, { recursive: true, force: true }).catch((error: unknown) => log.warn('could not remove the build directory', { workRoot, error }));
  }
}

/**
 * `apt-get install` of the toolchains inside the new root filesystem, from the mirror
 * debootstrap wrote into its sources. A policy-rc.d refuses every service start, so no
 * daemon runs during the build; it is removed afterwards, with the host's resolv.conf.
 */
async function installToolchain(rootfs: string, recipe: SandboxRecipe, signal?: AbortSignal): Promise<void> {
  const policy = path.join(rootfs, 'usr/sbin/policy-rc.d');
  await writeFile(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const apt = ['-o', 'Acquire::Retries=3', '-o', 'APT::Sandbox::User=root', '-o', 'Dpkg::Use-Pty=0'];
    await runTool('chroot', [rootfs, 'apt-get', ...apt, 'update'], signal);
    await runTool('chroot', [rootfs, 'apt-get', ...apt, 'install', '-y', '--no-install-recommends', ...recipe.toolchain], signal);
    await runTool('chroot', [rootfs, 'apt-get', 'clean'], signal);
  } finally {
    await rm(policy, { force: true });
  }
  // The host's name server means nothing in a container on network none.
  await writeFile(path.join(rootfs, 'etc/resolv.conf'), '');
}

/** Users for the container, no setuid programs, no package caches, a mount point for the workspace. */
async function finishRootfs(rootfs: string, recipe: SandboxRecipe, signal?: AbortSignal): Promise<void> {
  const etc = path.join(rootfs, 'etc');
  const passwd = await readFile(path.join(etc, 'passwd'), 'utf8');
  const group = await readFile(path.join(etc, 'group'), 'utf8');
  for (const user of recipe.users) {
    if (!passwd.split('\n').some((line) => line.startsWith(`${user.name}:`))) {
      await appendFile(path.join(etc, 'passwd'), `${user.name}:x:${user.uid}:${user.uid}:Sophia sandbox:${user.home}:${user.shell}\n`);
    }
    if (!group.split('\n').some((line) => line.startsWith(`${user.name}:`))) {
      await appendFile(path.join(etc, 'group'), `${user.name}:x:${user.uid}:\n`);
    }
  }
  await mkdir(path.join(rootfs, workspaceMountPoint), { recursive: true, mode: 0o755 });
  if (recipe.stripSetuid) await runTool('find', [rootfs, '-xdev', '-type', 'f', '-perm', '/6000', '-exec', 'chmod', 'ug-s', '{}', '+'], signal);
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    const full = path.join(rootfs, dir);
    for (const entry of await readdir(full).catch(() => [] as string[])) {
      if (entry === 'partial' || entry === 'lock') continue;
      await rm(path.join(full, entry), { recursive: true, force: true });
    }
  }
  await writeFile(path.join(etc, 'sophia-sandbox-recipe'), `${recipeHash(recipe)}\n`);
}

async function importRootfs(docker: Docker, rootfs: string, image: string, recipe: SandboxRecipe, signal?: AbortSignal): Promise<void> {
  const [repo, tag] = image.split(':') as [string, string];
  const tar = spawn('tar', ['--numeric-owner', '-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}) });
  let tarError = '';
  tar.stderr.on('data', (chunk: Buffer) => (tarError = (tarError + chunk.toString()).slice(-2000)));
  const tarExit = new Promise<number | null>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', resolve);
  });
  const progress = await docker.importImage(tar.stdout, { repo, tag, changes: [...recipe.changes], message: `Sophia sandbox, recipe ${recipeHash(recipe)}` });
  const reply = await new Promise<string>((resolve, reject) => {
    let text = '';
    progress.on('data', (chunk: Buffer) => (text = (text + chunk.toString()).slice(-8000)));
    progress.on('end', () => resolve(text));
    progress.on('error', reject);
  });
  const code = await tarExit;
  if (code !== 0) throw new Error(`tar of the root filesystem failed (exit ${String(code)}): ${tarError.trim()}`);
  const failure = reply
    .split('\n')
    .map((line) => {
      try {
        return JSON.parse(line) as { error?: string };
      } catch {
        return {};
      }
    })
    .find((message) => message.error !== undefined);
  if (failure?.error !== undefined) throw new Error(`docker import failed: ${failure.error}`);
  if (!(await imageExists(docker, image))) throw new Error(`docker import finished but ${image} does not exist`);
}

/** Runs one build step; aborting `signal` kills it (SIGKILL) and rejects. */
export function runTool(command: string, args: readonly string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}),
    });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), buildTimeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(command)} failed (${signal ?? `exit ${String(code)}`}):\n${tail.trim().split('\n').slice(-15).join('\n')}`));
    });
  });
}

/**
 * A lock directory per recipe, so two launches (or a test run and the app) never build at
 * once. A lock whose owner process has gone is taken over.
 */
async function acquireBuildLock(
  key: string,
  docker: Docker,
  image: string,
  onPhase: EnsureImageOptions['onPhase'],
): Promise<(() => Promise<void>) | 'built-elsewhere'> {
  const lock = path.join(tmpdir(), `sophia-sandbox-image-${key}.lock`);
  const deadline = Date.now() + buildTimeoutMs;
  let announced = false;
  while (Date.now() < deadline) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      return () => rm(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''));
    if (holder > 0 && !isAlive(holder)) {
      log.warn('taking over a build lock left by an ended process', { holder });
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      announced = true;
      onPhase?.('waiting-for-other-build');
      log.info('another process is building the sandbox image; waiting', { holder });
    }
    if (await imageExists(docker, image)) return 'built-elsewhere';
    await new Promise((resolve) => setTimeout(resolve, lockPollMs));
    // A holder that has not written its pid yet looks like pid 0 for a moment; a lock with no pid for long is stale.
    if (holder === 0) await access(path.join(lock, 'pid'), constants.F_OK).catch(() => rm(lock, { recursive: true, force: true }));
  }
  throw new Error('Waited too long for another build of the sandbox image.');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
