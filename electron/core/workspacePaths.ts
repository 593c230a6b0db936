/**
 * Where the agent may read and write: inside the open workspace, after following links,
 * and never git's internals or files that hold secrets (`.env`, private keys, credential
 * files) unless the person opened that secret file (secretFiles.ts). Every refusal says
 * why in plain words; nothing is touched to find out.
 *
 * The checks run twice: on the path as given, and on the real path it resolves to, so a
 * link named `notes.txt` that points at `.git/config` or `.env` is refused like the target.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

export type PathPurpose = 'read' | 'write';

export type Confined =
  | { readonly ok: true; readonly file: string; readonly relative: string; readonly exists: boolean }
  | { readonly ok: false; readonly error: string };

export const maxPathChars = 1024;
const maxNameBytes = 255;

/** Base names that hold credentials; `.env.example` and friends are templates, not secrets. */
const secretNames: readonly RegExp[] = [
  /^\.env$/i,
  /^\.env\.(?!(example|sample|template|dist)$).+$/i,
  /\.(pem|key|p12|pfx|keystore|jks)$/i,
  /^id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$/i,
  /^\.(npmrc|pypirc|netrc|pgpass|git-credentials)$/i,
  /^credentials(\.json)?$/i,
  /^secrets?\.(json|ya?ml|toml)$/i,
];

export function isSecretName(relative: string): boolean {
  const base = relative.split('/').pop() ?? '';
  return secretNames.some((pattern) => pattern.test(base));
}

/** Whether the path is a secret file or lies inside a secret folder (a folder named like one). */
export function isSecretPath(relative: string): boolean {
  return relative.split('/').some((part) => isSecretName(part));
}

/** Why the workspace-relative path (already normalised, `/`-separated) is off limits, if it is. */
function offLimits(relative: string, shown: string, allowSecret: (relative: string) => boolean): string | undefined {
  const parts = relative.split('/');
  if (parts.some((part) => part.toLowerCase() === '.git')) {
    return `${shown} is inside .git/, git's own files; Sophia does not read or write them (the git tools do).`;
  }
  if (isSecretName(relative) && !allowSecret(relative)) {
    return `${shown} looks like a file that holds secrets (${parts[parts.length - 1]}); Sophia does not open it unless you open it yourself (Secret files, below the diff view), and only for reading.`;
  }
  return undefined;
}

/** The path as given, checked without touching the disk: the workspace-relative form, or why not. */
export function normaliseRelative(raw: string): { relative: string } | { error: string } {
  if (raw.includes('\0')) return { error: 'That path contains a NUL byte, so it was refused.' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u001f\u007f]/.test(raw)) return { error: 'That path contains control characters, so it was refused.' };
  if (raw.length > maxPathChars) return { error: `That path is ${raw.length} characters long; at most ${maxPathChars} are accepted.` };
  const shown = JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
  if (path.isAbsolute(raw) || /^[A-Za-z]:[\\/]/.test(raw) || raw.startsWith('~')) {
    return { error: `${shown} is an absolute path; give a path relative to the workspace (e.g. "sql/employees.sql").` };
  }
  const parts: string[] = [];
  for (const part of raw.split(/[\\/]/)) {
    if (part === '' || part === '.') continue;
    if (Buffer.byteLength(part) > maxNameBytes) return { error: `A name in ${shown} is longer than ${maxNameBytes} bytes, so it was refused.` };
    if (part === '..') {
      if (parts.length === 0) return { error: `${shown} leads outside the workspace; only files inside it can be used.` };
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return { relative: parts.join('/') };
}

function inside(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot + path.sep);
}

/**
 * The real file for `raw` inside `root`. For `read` it must exist. For `write` it may not
 * exist yet (its nearest existing folder must be inside), and it may not be a link.
 */
export async function confinePath(
  root: string,
  raw: string,
  purpose: PathPurpose,
  options: { readonly allowSecret?: (relative: string) => boolean } = {},
): Promise<Confined> {
  const allowSecret = options.allowSecret ?? (() => false);
  if (!root) return { ok: false, error: 'No workspace is open. Choose a workspace folder in Settings.' };
  const normal = normaliseRelative(raw);
  if ('error' in normal) return { ok: false, error: normal.error };
  const shown = normal.relative || '.';
  const early = offLimits(normal.relative, shown, allowSecret);
  if (early) return { ok: false, error: early };
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return { ok: false, error: `The workspace folder ${root} cannot be read.` };
  }
  const candidate = path.join(realRoot, normal.relative);
  const info = await lstat(candidate).catch(() => undefined);

  let real: string;
  if (info) {
    if (purpose === 'write' && info.isSymbolicLink()) {
      return { ok: false, error: `${shown} is a symbolic link; Sophia does not write through links.` };
    }
    try {
      real = await realpath(candidate);
    } catch {
      return { ok: false, error: `${shown} is a link to something that does not exist.` };
    }
  } else {
    if (purpose === 'read') return { ok: false, error: `${shown} does not exist in the workspace.` };
    // A new file: its nearest existing folder decides where it would land.
    let ancestor = path.dirname(candidate);
    const rest = [path.basename(candidate)];
    while (!(await lstat(ancestor).catch(() => undefined))) {
      rest.unshift(path.basename(ancestor));
      ancestor = path.dirname(ancestor);
    }
    let realAncestor: string;
    try {
      realAncestor = await realpath(ancestor);
    } catch {
      return { ok: false, error: `${shown} is under a link to something that does not exist.` };
    }
    if (!(await lstat(realAncestor)).isDirectory()) return { ok: false, error: `${shown} cannot be created: ${path.relative(realRoot, ancestor)} is a file.` };
    real = path.join(realAncestor, ...rest);
  }
  if (!inside(realRoot, real)) {
    return { ok: false, error: `${shown} is outside the workspace (through a symbolic link); only files inside it can be used.` };
  }
  const relative = path.relative(realRoot, real).split(path.sep).join('/');
  const late = offLimits(relative, shown, allowSecret);
  if (late) return { ok: false, error: late };
  return { ok: true, file: real, relative, exists: info !== undefined };
}

/** The real path of `file`, following links all the way, also when the file (or a link's target) does not exist yet. */
async function realOf(file: string, hops = 0): Promise<string | undefined> {
  if (hops > 32) return undefined;
  try {
    return await realpath(file);
  } catch {
    // Not there (yet): below.
  }
  const info = await lstat(file).catch(() => undefined);
  if (info?.isSymbolicLink()) {
    // A dangling link: a write through it creates its target.
    const target = await readlink(file).catch(() => undefined);
    return target === undefined ? undefined : realOf(path.resolve(path.dirname(file), target), hops + 1);
  }
  if (info) return undefined;
  const parent = path.dirname(file);
  if (parent === file) return undefined;
  const realParent = await realOf(parent, hops);
  return realParent === undefined ? undefined : path.join(realParent, path.basename(file));
}

/**
 * Where a workspace-relative path really lands once every link on the way is followed (new
 * files and dangling links included): its real workspace-relative path, null when a link
 * leads out of the workspace or cannot be followed (a loop, a folder it may not read), and
 * undefined when it is not a workspace path or no workspace can be read. Touches nothing but
 * `lstat`, `readlink` and `realpath`.
 */
export async function realRelative(root: string, raw: string): Promise<string | null | undefined> {
  if (!root) return undefined;
  const normal = normaliseRelative(raw.trim().replace(/^\/workspace(\/|$)/, ''));
  if ('error' in normal) return undefined;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return undefined;
  }
  const real = await realOf(path.join(realRoot, normal.relative));
  if (real === undefined || !inside(realRoot, real)) return null;
  return path.relative(realRoot, real).split(path.sep).join('/');
}
