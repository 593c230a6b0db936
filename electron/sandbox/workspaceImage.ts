/**
 * A workspace's own sandbox image: its `Dockerfile`, or its `.devcontainer/devcontainer.json`
 * (the Dev Containers convention: `image`, or `build.dockerfile` + `build.context` + `build.args`,
 * and `containerEnv`). Building one is the person's explicit choice for that workspace
 * (Settings → Sandbox); the workspace itself is adversary-written, so:
 *  - the build runs with network `none` and never pulls: a base image that is not on this
 *    machine is an error saying so;
 *  - nothing else of devcontainer.json is honoured (lifecycle commands such as
 *    postCreateCommand never run, runArgs/mounts/capAdd/privileged are ignored and listed);
 *  - the built image is then hardened exactly like the default image: flattened (docker export,
 *    then docker import with the default recipe's changes), the same users and uids,
 *    setuid/setgid bits and file capabilities stripped, device nodes dropped, the same HOME,
 *    WORKDIR and USER; and at run time every container gets `hardening.ts`'s settings, which
 *    nothing in the image can loosen;
 *  - the tag is keyed by the hash of the build inputs (the Dockerfile, every file of the
 *    context, the arguments, the base images' ids, the hardening format), so it is rebuilt
 *    only when one of them changes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import ignore from 'ignore';
import JSON5 from 'json5';
import tarStream from 'tar-stream';
import type { WorkspaceImageChoice } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { createLogger } from '../log';
import { imageExists, statusCodeOf } from './dockerClient';
import { workspaceMountPoint, sandboxHome } from './hardening';
import { sandboxRecipe } from './sandboxImage';

const log = createLogger('workspaceImage');

export type WorkspaceImageSource = WorkspaceImageChoice['source'];

/** Bump when the hardening below changes: every workspace image is then rebuilt. */
export const workspaceHardeningFormat = 1;
export const workspaceImageRepository = 'sophia-workspace';
export const workspaceImageLabels = {
  hardened: 'app.sophia.hardened',
  inputs: 'app.sophia.inputs',
  source: 'app.sophia.source',
} as const;

export const dockerfilePath = 'Dockerfile';
export const devcontainerPath = '.devcontainer/devcontainer.json';

/** devcontainer.json keys Sophia honours; every other key is listed as ignored (or refused, below). */
const honouredKeys = new Set(['name', 'image', 'build', 'containerEnv']);
/** Keys that change what the container is in a way Sophia cannot follow: refused outright. */
const refusedKeys = new Set(['dockerComposeFile', 'service', 'runServices']);

const maxContextFiles = 20_000;
const maxContextBytes = 512 * 1024 * 1024;
const maxDockerfileBytes = 256 * 1024;
const buildTimeoutMs = 30 * 60_000;

/** What will be built (or used), as the person is shown it before choosing. */
export interface WorkspaceImagePlan {
  readonly source: WorkspaceImageSource;
  /** The file that names it, relative to the workspace. */
  readonly file: string;
  /** An image used as it is (devcontainer `image`), hardened like a built one. */
  readonly image?: string;
  /** Relative to the workspace. */
  readonly dockerfile?: string;
  readonly context?: string;
  readonly args: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly containerEnv: Readonly<Record<string, string>>;
  /** The Dockerfile's FROM images (stages excluded), or the devcontainer's image. */
  readonly baseImages: readonly string[];
  /** devcontainer.json keys that are not honoured. */
  readonly ignored: readonly string[];
}

export type WorkspaceBuildProgress = (line: string) => void;

export interface EnsureWorkspaceImageOptions {
  readonly onProgress?: WorkspaceBuildProgress;
  readonly signal?: AbortSignal;
}

export interface EnsureWorkspaceImageResult {
  readonly image: string;
  readonly built: boolean;
  readonly plan: WorkspaceImagePlan;
}

function refuse(message: string): never {
  throw new SophiaError('bad_request', message);
}

/** A path inside the workspace, symlinks resolved, or a refusal naming `what`. */
async function insideWorkspace(workspace: string, relative: string, what: string): Promise<string> {
  const candidate = path.resolve(workspace, relative);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    refuse(`${what} ${path.relative(workspace, candidate) || '.'} does not exist in the workspace.`);
  }
  if (real !== workspace && !real.startsWith(`${workspace}${path.sep}`)) refuse(`${what} ${relative} is outside the workspace; Sophia only builds from inside it.`);
  return real;
}

function stringRecord(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse(`${what} in ${devcontainerPath} must be an object of names to strings.`);
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(key)) refuse(`${what} in ${devcontainerPath}: "${key.slice(0, 60)}" is not a variable name.`);
    if (typeof entry !== 'string' || entry.length > 4096 || /[\r\n\0]/.test(entry)) refuse(`${what}.${key} in ${devcontainerPath} must be a one-line string.`);
    out[key] = entry;
  }
  return out;
}

/** FROM lines: the images a Dockerfile starts from, stage names excluded. */
export function baseImagesOf(dockerfile: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  const joined = dockerfile.replace(/\\\r?\n/g, ' ');
  for (const raw of joined.split(/\r?\n/)) {
    const match = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(raw);
    if (!match) continue;
    const [, image, stage] = match as unknown as [string, string, string | undefined];
    if (!stages.has(image.toLowerCase()) && image !== 'scratch') images.push(image);
    if (stage) stages.add(stage.toLowerCase());
  }
  return images;
}

/** Reads (never runs) what the workspace names for `source`; refuses plainly what it cannot honour. */
export async function readWorkspaceImagePlan(workspaceInput: string, source: WorkspaceImageSource): Promise<WorkspaceImagePlan> {
  const workspace = await realpath(workspaceInput);
  if (source === 'dockerfile') {
    const dockerfile = await insideWorkspace(workspace, dockerfilePath, 'The Dockerfile');
    const text = await readSmall(dockerfile, 'The Dockerfile');
    return { source, file: dockerfilePath, dockerfile: dockerfilePath, context: '.', args: {}, containerEnv: {}, baseImages: baseImagesOf(text), ignored: [] };
  }
  const file = await insideWorkspace(workspace, devcontainerPath, 'The dev container file');
  let parsed: unknown;
  try {
    parsed = JSON5.parse(await readSmall(file, 'The dev container file'));
  } catch (error) {
    if (error instanceof SophiaError) throw error;
    refuse(`${devcontainerPath} is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) refuse(`${devcontainerPath} must hold one JSON object.`);
  const config = parsed as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (refusedKeys.has(key)) refuse(`${devcontainerPath} uses "${key}" (Docker Compose), which Sophia does not support: name an "image" or a "build.dockerfile" instead.`);
  }
  const ignored = Object.keys(config).filter((key) => !honouredKeys.has(key)).sort();
  const containerEnv = stringRecord(config['containerEnv'], 'containerEnv');
  const devDir = path.dirname(devcontainerPath);
  if (config['build'] !== undefined) {
    const build = config['build'] as Record<string, unknown>;
    if (typeof build !== 'object' || build === null || Array.isArray(build)) refuse(`"build" in ${devcontainerPath} must be an object.`);
    const dockerfileName = build['dockerfile'] ?? build['dockerFile'];
    if (typeof dockerfileName !== 'string' || dockerfileName.trim() === '') refuse(`"build.dockerfile" in ${devcontainerPath} must name a Dockerfile (relative to ${devDir}).`);
    const contextName = build['context'] ?? '.';
    if (typeof contextName !== 'string') refuse(`"build.context" in ${devcontainerPath} must be a folder (relative to ${devDir}).`);
    const target = build['target'];
    if (target !== undefined && (typeof target !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(target))) refuse(`"build.target" in ${devcontainerPath} must be a stage name.`);
    for (const key of Object.keys(build)) if (!['dockerfile', 'dockerFile', 'context', 'args', 'target'].includes(key)) ignored.push(`build.${key}`);
    const dockerfile = await insideWorkspace(workspace, path.join(devDir, dockerfileName), 'The Dockerfile');
    const context = await insideWorkspace(workspace, path.join(devDir, contextName), 'The build context');
    const text = await readSmall(dockerfile, 'The Dockerfile');
    return {
      source,
      file: devcontainerPath,
      dockerfile: path.relative(workspace, dockerfile),
      context: path.relative(workspace, context) || '.',
      args: stringRecord(build['args'], 'build.args'),
      ...(typeof target === 'string' ? { target } : {}),
      containerEnv,
      baseImages: baseImagesOf(text),
      ignored,
    };
  }
  const image = config['image'];
  if (typeof image !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(image)) {
    refuse(`${devcontainerPath} names neither an "image" nor a "build.dockerfile" Sophia can use.`);
  }
  return { source, file: devcontainerPath, image, args: {}, containerEnv, baseImages: [image], ignored };
}

async function readSmall(file: string, what: string): Promise<string> {
  const info = await lstat(file);
  if (!info.isFile()) refuse(`${what} is not a regular file.`);
  if (info.size > maxDockerfileBytes) refuse(`${what} is larger than ${maxDockerfileBytes / 1024} KiB.`);
  return readFile(file, 'utf8');
}

interface ContextEntry {
  readonly name: string;
  readonly absolute: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly linkname?: string;
}

/** The build context's files (`.dockerignore` honoured, `.git` left out), in a stable order. */
async function listContext(context: string): Promise<ContextEntry[]> {
  const rules = ignore().add('.git');
  try {
    rules.add(await readFile(path.join(context, '.dockerignore'), 'utf8'));
  } catch {
    // No .dockerignore: everything but .git goes.
  }
  const entries: ContextEntry[] = [];
  let bytes = 0;
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(path.join(context, relative))).sort();
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const absolute = path.join(context, rel);
      const info = await lstat(absolute);
      if (info.isDirectory()) {
        if (rules.ignores(`${rel}/`)) continue;
        entries.push({ name: rel, absolute, type: 'directory', mode: info.mode & 0o777, size: 0 });
        await walk(rel);
      } else if (rules.ignores(rel)) {
        continue;
      } else if (info.isFile()) {
        bytes += info.size;
        entries.push({ name: rel, absolute, type: 'file', mode: info.mode & 0o777, size: info.size });
      } else if (info.isSymbolicLink()) {
        entries.push({ name: rel, absolute, type: 'symlink', mode: 0o777, size: 0, linkname: await readlink(absolute) });
      }
      if (entries.length > maxContextFiles || bytes > maxContextBytes) {
        refuse(`The build context has more than ${maxContextFiles} files or ${maxContextBytes / 1024 / 1024} MiB: list what the image does not need in a .dockerignore.`);
      }
    }
  };
  await walk('');
  return entries;
}

async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** The Dockerfile goes into the context under this name, wherever it lies in the workspace. */
const contextDockerfile = '.sophia-sandbox.Dockerfile';

/**
 * The hash of everything that decides the image: the plan, the Dockerfile, every context
 * file, the base images' ids, the hardening. Its first 16 hex digits are the tag.
 */
async function inputsHash(docker: Docker, workspace: string, plan: WorkspaceImagePlan, entries: readonly ContextEntry[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: workspaceHardeningFormat, recipe: sandboxRecipe.users, changes: sandboxRecipe.changes, plan }));
  if (plan.dockerfile !== undefined) hash.update(`\0dockerfile\0${await fileHash(path.join(workspace, plan.dockerfile))}`);
  for (const entry of entries) {
    hash.update(`\0${entry.type}\0${entry.name}\0${entry.mode.toString(8)}\0${entry.linkname ?? ''}`);
    if (entry.type === 'file') hash.update(await fileHash(entry.absolute));
  }
  for (const base of plan.baseImages) {
    if (base.includes('$')) continue;
    const id = await docker
      .getImage(base)
      .inspect()
      .then((info) => info.Id)
      .catch(() => 'absent');
    hash.update(`\0base\0${base}\0${id}`);
  }
  return hash.digest('hex');
}

function missingBaseMessage(image: string): string {
  return `The base image ${image} is not on this machine, and Sophia does not pull images (the workspace image is built with no network, and no registry may be reachable). Load it first (docker load, or docker pull where a registry is reachable), or start the Dockerfile FROM the default sandbox image.`;
}

/** The name the workspace image would have now (hashing its inputs), and the plan; builds nothing. */
export async function workspaceImageName(docker: Docker, workspaceInput: string, source: WorkspaceImageSource): Promise<{ image: string; plan: WorkspaceImagePlan; entries: ContextEntry[] }> {
  const workspace = await realpath(workspaceInput);
  const plan = await readWorkspaceImagePlan(workspace, source);
  const entries = plan.context === undefined ? [] : await listContext(path.join(workspace, plan.context));
  const hash = await inputsHash(docker, workspace, plan, entries);
  return { image: `${workspaceImageRepository}:${hash.slice(0, 16)}`, plan, entries };
}

const inFlight = new Map<string, Promise<EnsureWorkspaceImageResult>>();
/** Builds that failed, by the tag their inputs give: not tried again (by the pool, say) until an input changes. */
const failed = new Map<string, Error>();

/**
 * The workspace's hardened image exists afterwards (built when its inputs changed), or this
 * throws with a plain reason. Two callers asking for the same inputs share one build.
 */
export async function ensureWorkspaceImage(
  docker: Docker,
  workspaceInput: string,
  source: WorkspaceImageSource,
  options: EnsureWorkspaceImageOptions = {},
): Promise<EnsureWorkspaceImageResult> {
  const workspace = await realpath(workspaceInput);
  const { image, plan, entries } = await workspaceImageName(docker, workspace, source);
  if (await imageExists(docker, image)) return { image, built: false, plan };
  const running = inFlight.get(image);
  if (running) return running;
  const earlier = failed.get(image);
  if (earlier) throw earlier;
  const build = buildAndHarden(docker, workspace, image, plan, entries, options)
    .catch((error: unknown) => {
      const stopped = options.signal?.aborted === true || (error instanceof SophiaError && error.code === 'stopped');
      if (!stopped && error instanceof Error) {
        failed.set(image, error);
        if (failed.size > 100) failed.delete(failed.keys().next().value as string);
      }
      throw error;
    })
    .finally(() => inFlight.delete(image));
  inFlight.set(image, build);
  return build;
}

async function buildAndHarden(
  docker: Docker,
  workspace: string,
  image: string,
  plan: WorkspaceImagePlan,
  entries: readonly ContextEntry[],
  options: EnsureWorkspaceImageOptions,
): Promise<EnsureWorkspaceImageResult> {
  const progress = options.onProgress ?? (() => undefined);
  const started = performance.now();
  for (const base of plan.baseImages) {
    if (!base.includes('$') && !(await imageExists(docker, base))) throw new SophiaError('unavailable', missingBaseMessage(base));
  }
  const raw = `${workspaceImageRepository}-unhardened:${image.split(':')[1] ?? 'latest'}`;
  let rawImage: string;
  if (plan.image !== undefined) {
    rawImage = plan.image;
    progress(`Using ${plan.image} from ${plan.file}; hardening it…`);
  } else {
    progress(`Building ${plan.dockerfile ?? dockerfilePath} (context ${plan.context ?? '.'}) with no network…`);
    await buildRaw(docker, workspace, raw, plan, entries, progress, options.signal);
    rawImage = raw;
  }
  try {
    options.signal?.throwIfAborted();
    progress('Hardening the image: the sandbox users, no setuid/setgid bits, no file capabilities, USER keeper…');
    await harden(docker, rawImage, image, plan, options.signal);
  } finally {
    if (rawImage === raw) await docker.getImage(raw).remove({ force: true }).catch((error: unknown) => log.warn('could not remove the unhardened image', { raw, error }));
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  progress(`Built and hardened ${image} in ${seconds} s.`);
  log.info('workspace sandbox image built', { image, source: plan.source, seconds });
  return { image, built: true, plan };
}

/** The context as a tar stream: the listed entries, and the Dockerfile under a fixed name. */
function contextTar(workspace: string, plan: WorkspaceImagePlan, entries: readonly ContextEntry[]): tarStream.Pack {
  const pack = tarStream.pack();
  void (async () => {
    const dockerfile = await readFile(path.join(workspace, plan.dockerfile ?? dockerfilePath));
    pack.entry({ name: contextDockerfile, mode: 0o644, size: dockerfile.length }, dockerfile);
    for (const entry of entries) {
      if (entry.type === 'directory') pack.entry({ name: entry.name, type: 'directory', mode: entry.mode });
      else if (entry.type === 'symlink') pack.entry({ name: entry.name, type: 'symlink', linkname: entry.linkname ?? '', mode: 0o777 });
      else {
        const data = await readFile(entry.absolute);
        pack.entry({ name: entry.name, mode: entry.mode, size: data.length }, data);
      }
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  return pack;
}

async function buildRaw(
  docker: Docker,
  workspace: string,
  raw: string,
  plan: WorkspaceImagePlan,
  entries: readonly ContextEntry[],
  progress: WorkspaceBuildProgress,
  signal: AbortSignal | undefined,
): Promise<void> {
  const timeout = AbortSignal.timeout(buildTimeoutMs);
  const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(contextTar(workspace, plan, entries) as unknown as NodeJS.ReadableStream, {
      t: raw,
      dockerfile: contextDockerfile,
      networkmode: 'none',
      pull: false,
      rm: true,
      forcerm: true,
      nocache: false,
      ...(Object.keys(plan.args).length > 0 ? { buildargs: plan.args } : {}),
      ...(plan.target ? { target: plan.target } : {}),
      abortSignal,
    } as Docker.ImageBuildOptions);
  } catch (error) {
    throw new SophiaError('unavailable', `Docker refused the build: ${(error as Error).message.slice(0, 500)}`);
  }
  let failure: string | undefined;
  let tail: string[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolve()),
      (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
        if (event.error !== undefined) failure = event.errorDetail?.message ?? event.error;
        const text = (event.stream ?? event.status ?? '').trimEnd();
        for (const line of text.split('\n')) {
          if (line.trim() === '') continue;
          tail = [...tail, line].slice(-12);
          progress(line.slice(0, 400));
        }
      },
    );
  }).catch((error: unknown) => {
    if (signal?.aborted) throw new SophiaError('stopped', 'Building the workspace sandbox image was stopped.');
    if (timeout.aborted) throw new SophiaError('unavailable', `Building the workspace sandbox image took longer than ${buildTimeoutMs / 60_000} minutes.`);
    failure ??= (error as Error).message;
  });
  if (failure !== undefined) {
    const pull = /pull access denied|repository does not exist|no such host|dial tcp|lookup .* on|i\/o timeout|not found: manifest unknown|failed to resolve/i.test(failure);
    if (pull) throw new SophiaError('unavailable', `${missingBaseMessage(plan.baseImages.join(', ') || 'the Dockerfile names')} (Docker said: ${failure.slice(0, 300)})`);
    throw new SophiaError('unavailable', `Building ${plan.dockerfile ?? dockerfilePath} failed: ${failure.slice(0, 600)}\n${tail.join('\n').slice(-1500)}`);
  }
  if (!(await imageExists(docker, raw))) throw new SophiaError('unavailable', `The build of ${plan.dockerfile ?? dockerfilePath} finished but made no image.`);
}

const keepLine = (names: ReadonlySet<string>, ids: ReadonlySet<number>) => (line: string) => {
  if (line.trim() === '') return false;
  const [name, , id] = line.split(':');
  return !names.has(name ?? '') && !ids.has(Number(id));
};

/** /etc/passwd and /etc/group with the sandbox users, and nothing else of their names or ids. */
function withSandboxUsers(passwd: string, group: string): { passwd: string; group: string } {
  const names = new Set(sandboxRecipe.users.map((user) => user.name));
  const ids = new Set<number>(sandboxRecipe.users.map((user) => user.uid));
  const lines = (text: string) => text.split('\n').filter(keepLine(names, ids));
  const users = sandboxRecipe.users.map((user) => `${user.name}:x:${user.uid}:${user.uid}:Sophia sandbox:${user.home}:${user.shell}`);
  const groups = sandboxRecipe.users.map((user) => `${user.name}:x:${user.uid}:`);
  const rootPasswd = passwd.includes('root:') ? [] : ['root:x:0:0:root:/root:/bin/sh'];
  const rootGroup = group.includes('root:') ? [] : ['root:x:0:'];
  return { passwd: [...rootPasswd, ...lines(passwd), ...users, ''].join('\n'), group: [...rootGroup, ...lines(group), ...groups, ''].join('\n') };
}

function entryName(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/**
 * The hardening of the default image, applied to a built one: its filesystem is streamed
 * out (docker export), rewritten on the way (users, setuid/setgid bits, file capabilities,
 * device nodes, /workspace and /tmp directories) and imported as a single layer with the
 * default recipe's image settings.
 */
async function harden(docker: Docker, rawImage: string, image: string, plan: WorkspaceImagePlan, signal: AbortSignal | undefined): Promise<void> {
  const info = await docker.getImage(rawImage).inspect();
  const container = await docker.createContainer({ Image: rawImage, Entrypoint: ['/nonexistent'], Cmd: [], NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } });
  try {
    const exported = (await container.export()) as unknown as Readable;
    signal?.addEventListener('abort', () => exported.destroy(new Error('stopped')), { once: true });
    const extract = tarStream.extract();
    const pack = tarStream.pack();
    const rewrite = (async () => {
      let passwd = '';
      let group = '';
      let shell = false;
      const seen = new Set<string>();
      for await (const entry of extract) {
        const header = { ...entry.header };
        const name = entryName(header.name);
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        const data = Buffer.concat(chunks);
        if (name === 'etc/passwd' || name === 'etc/group') {
          // Whatever it was (a file, a link elsewhere), a plain file is written at the end.
          if (header.type === 'file') {
            if (name === 'etc/passwd') passwd = data.toString('utf8');
            else group = data.toString('utf8');
          }
          continue;
        }
        if (header.type === 'character-device' || header.type === 'block-device' || header.type === 'fifo') continue;
        if ((name === 'workspace' || name === 'tmp') && header.type !== 'directory') continue;
        if (name.startsWith('workspace/') && !seen.has('workspace')) continue;
        if (name === 'bin/sh' || name === 'usr/bin/sh') shell = true;
        seen.add(name);
        header.mode = (header.mode ?? 0o644) & ~0o6000;
        if (header.pax) header.pax = Object.fromEntries(Object.entries(header.pax).filter(([key]) => !key.startsWith('SCHILY.xattr.') && !key.startsWith('LIBARCHIVE.xattr.')));
        if (name === 'tmp') header.mode = 0o1777;
        const done = (resolve: () => void, reject: (error: Error) => void) => (error?: Error | null) => (error ? reject(error) : resolve());
        await new Promise<void>((resolve, reject) => {
          if (header.type === 'file') pack.entry({ ...header, size: data.length }, data, done(resolve, reject));
          else pack.entry({ ...header, size: 0 }, done(resolve, reject));
        });
      }
      if (!shell) throw new SophiaError('unavailable', `The image ${plan.image ?? plan.dockerfile ?? ''} has no /bin/sh, which every sandbox needs.`);
      const users = withSandboxUsers(passwd, group);
      const now = new Date();
      if (!seen.has('etc')) pack.entry({ name: 'etc', type: 'directory', mode: 0o755, mtime: now });
      pack.entry({ name: 'etc/passwd', mode: 0o644, mtime: now, uid: 0, gid: 0 }, users.passwd);
      pack.entry({ name: 'etc/group', mode: 0o644, mtime: now, uid: 0, gid: 0 }, users.group);
      pack.entry({ name: 'etc/sophia-sandbox-image', mode: 0o644, mtime: now, uid: 0, gid: 0 }, `${image}\n`);
      if (!seen.has('workspace')) pack.entry({ name: entryName(workspaceMountPoint), type: 'directory', mode: 0o755, mtime: now, uid: 0, gid: 0 });
      if (!seen.has('tmp')) pack.entry({ name: entryName(sandboxHome), type: 'directory', mode: 0o1777, mtime: now, uid: 0, gid: 0 });
      pack.finalize();
    })();
    rewrite.catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
    const copied = pipeline(exported, extract);
    const [repo, tag] = image.split(':') as [string, string];
    const imageEnv = (info.Config.Env ?? []).filter((line) => !/^(HOME|PATH|LANG)=/.test(line));
    const env = [...imageEnv, ...Object.entries(plan.containerEnv).map(([key, value]) => `${key}=${value}`)];
    const changes = [
      ...env.map((line) => {
        const at = line.indexOf('=');
        return `ENV ${line.slice(0, at)}=${JSON.stringify(line.slice(at + 1))}`;
      }),
      ...sandboxRecipe.changes,
      `LABEL ${workspaceImageLabels.hardened}=${workspaceHardeningFormat} ${workspaceImageLabels.inputs}=${tag} ${workspaceImageLabels.source}=${plan.source}`,
    ];
    const body = new PassThrough();
    pack.pipe(body);
    const reply = await docker.importImage(body as unknown as NodeJS.ReadableStream, { repo, tag, changes, message: `Sophia workspace sandbox (${plan.source}), hardened format ${workspaceHardeningFormat}` });
    const text = await new Promise<string>((resolve, reject) => {
      let all = '';
      reply.on('data', (chunk: Buffer) => (all = (all + chunk.toString()).slice(-8000)));
      reply.on('end', () => resolve(all));
      reply.on('error', reject);
    });
    await Promise.all([rewrite, copied]);
    const error = /"error"\s*:\s*"([^"]*)"/.exec(text)?.[1];
    if (error !== undefined) throw new SophiaError('unavailable', `docker import of the hardened image failed: ${error}`);
    if (!(await imageExists(docker, image))) throw new SophiaError('unavailable', `The hardened image ${image} was not made.`);
  } catch (error) {
    if (signal?.aborted) throw new SophiaError('stopped', 'Building the workspace sandbox image was stopped.');
    throw error;
  } finally {
    await container.remove({ force: true }).catch((error: unknown) => {
      if (statusCodeOf(error) !== 404) log.warn('could not remove the export container', { error });
    });
  }
}
