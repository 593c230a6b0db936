/**
 * A CommonJS package required on its first use, synchronously: for libraries that sync code
 * paths need (a policy file parsed while a call is classified, a diff drawn for a proposal),
 * which would otherwise load at start with everything that imports their module. Outside
 * clients that can wait load asynchronously instead (onDemand.ts).
 */
import { createRequire } from 'node:module';

// Not named `require`: the bundler declares that name in the chunk this lands in.
const requireCommonJs = createRequire(import.meta.url);

export function requireOnFirstUse<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= requireCommonJs(name) as T;
    return loaded;
  };
}
