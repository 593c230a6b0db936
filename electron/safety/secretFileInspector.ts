/**
 * A command that names a secret file (`.env`, a private key, a credential
 * file: the rules of `core/workspacePaths.ts`) is at least high risk, so the person sees why
 * on the card. (Path arguments are not read here: the file tools refuse secret files
 * themselves, see `workspacePaths.ts`.) The sandbox hides those files anyway (`sandbox/secretMasks.ts`); this is the
 * reason on the card, not the wall. A glob counts when it would match a secret file's name
 * and is not wildcards alone (`cat .e*` counts, `ls *` does not). A name spelled out by the
 * shell at run time (`cat $(printf .e%s nv)`) is not seen here; the masks still hold.
 */
import { isSecretName } from '../core/workspacePaths';
import type { Finding, Inspector } from './inspectors';

const commandKeys = new Set(['command', 'cmd', 'script', 'shell', 'args', 'argv', 'exec', 'run', 'commands', 'entrypoint']);

/** One name of each kind the secret-file rules cover, for matching globs against. */
const sampleSecretNames = ['.env', '.env.local', '.env.production', 'server.pem', 'server.key', 'cert.p12', 'id_rsa', 'id_ed25519', '.npmrc', '.netrc', '.pgpass', '.git-credentials', 'credentials', 'credentials.json', 'secrets.yaml', 'secret.json'];

function globPattern(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index]!;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = glob.indexOf(']', index + 1);
      if (end < 0) source += '\\[';
      else {
        source += `[${glob.slice(index + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        index = end;
      }
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'i');
}

/** The secret-file name a token names, if it does. */
export function secretNameIn(token: string): string | undefined {
  const base = token.replace(/\\/g, '/').replace(/\/+$/, '').split('/').pop() ?? '';
  if (!base) return undefined;
  if (isSecretName(base)) return base;
  if (!/[*?[]/.test(base) || !/[^*?[\]]/.test(base.replace(/\[[^\]]*\]/g, ''))) return undefined;
  try {
    const pattern = globPattern(base);
    return sampleSecretNames.find((name) => pattern.test(name)) ? base : undefined;
  } catch {
    // A glob that is no pattern at all: the safe reading is that it could name one.
    return base;
  }
}

export const secretFiles: Inspector = {
  name: 'secret-file',
  inspect: (_call, _policy, strings) => {
    const findings: Finding[] = [];
    for (const s of strings) {
      if (!commandKeys.has(s.key)) continue;
      for (const token of s.value.split(/[\s'"=<>|;&()`$]+/)) {
        const name = secretNameIn(token);
        if (name) {
          findings.push({ risk: 'high', reason: `a command names the secret file "${name.slice(0, 60)}"` });
          break;
        }
      }
    }
    return findings;
  },
};
