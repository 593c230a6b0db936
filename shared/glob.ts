/** Glob patterns as the policy writes them (branches, stacks, paths): pure matching, shared by every layer. */

/** `*` matches any run of characters except `/` unless it is `**`. Case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i]!;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        source += '.*';
        i += 1;
      } else {
        source += '[^/]*';
      }
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'i');
}

/** Compiled globs: the inspectors match every path-like word of a call against every pattern. */
const compiledGlobs = new Map<string, RegExp>();

export function matchesAny(value: string, globs: readonly string[]): string | undefined {
  return globs.find((glob) => {
    let compiled = compiledGlobs.get(glob);
    if (!compiled) {
      compiled = globToRegExp(glob);
      if (compiledGlobs.size < 5000) compiledGlobs.set(glob, compiled);
    }
    return compiled.test(value);
  });
}
