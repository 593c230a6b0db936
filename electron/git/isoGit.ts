/**
 * isomorphic-git (with pako and its other dependencies) is required with the first git
 * operation, not at start: every git module reaches it through `isoGit()`.
 */
import type * as IsoGit from 'isomorphic-git';
import type { HttpClient } from 'isomorphic-git';
import { requireOnFirstUse } from '../core/lazyRequire';

export const isoGit = requireOnFirstUse<typeof IsoGit>('isomorphic-git');

const nodeHttpModule = requireOnFirstUse<{ default: HttpClient }>('isomorphic-git/http/node');

/** isomorphic-git's HTTP client over Node's `http`/`https`. */
export const nodeHttp = (): HttpClient => nodeHttpModule().default;
