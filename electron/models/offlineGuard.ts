/**
 * Offline mode holds for every tool, not only the model. When the settings select a model
 * on this machine (`isOfflineMode`), anything that would open a connection off this machine
 * (git push and fetch, GitHub, Snowflake, Pulumi with a backend that is not local, an
 * outside MCP server at a URL) is refused with a plain reason before it connects.
 *
 * "This machine" is a loopback address: `localhost`, 127.0.0.0/8, `::1`. So a git remote or
 * an MCP server on 127.0.0.1 stays allowed, and so does a Pulumi backend in a local folder
 * (`file://`). The check reads the mode at each call, so switching models in Settings takes
 * effect at once, also for clients made before the switch.
 *
 * What this cannot see: programs Sophia starts that open their own connections (an outside
 * stdio MCP server, a Pulumi program's resource providers) run with this machine's network.
 */
import type { HttpClient } from 'isomorphic-git';
import type { AppSettings } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { isOfflineMode } from './providerFactory';

/** Whether a host name (as `URL.hostname` gives it) is this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '::1' ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host)
  );
}

export class OfflineGuard {
  constructor(private readonly settings: () => Pick<AppSettings, 'provider' | 'openaiBaseUrl'>) {}

  get offline(): boolean {
    return isOfflineMode(this.settings());
  }

  /** Throws when offline mode is on and `target` (a URL) is not on this machine. */
  check(target: string | URL, what: string): void {
    if (!this.offline) return;
    let host: string;
    try {
      host = (typeof target === 'string' ? new URL(target) : target).hostname;
    } catch {
      throw refusal(what, 'an address Sophia cannot read');
    }
    if (!isLoopbackHost(host)) throw refusal(what, host);
  }

  /** Pulumi's backend: in offline mode only a local folder (`file://`) or a loopback URL. */
  checkPulumiBackend(backendUrl: string): void {
    if (!this.offline) return;
    if (!backendUrl) {
      throw new SophiaError(
        'refused',
        'Offline mode: Pulumi has no backend set, so it would use its own login (Pulumi Cloud by default), off this machine. Set a local backend (file://...) in Settings, or choose a cloud model to go online.',
        { offline: true },
      );
    }
    if (/^file:\/\//i.test(backendUrl)) return;
    this.check(backendUrl, 'Pulumi (its backend)');
  }

  /** `fetch` that checks each request's address first. */
  fetch(what: string, inner: typeof globalThis.fetch = globalThis.fetch): typeof globalThis.fetch {
    return async (input, init) => {
      this.check(input instanceof Request ? input.url : input, what);
      return inner(input, init);
    };
  }

  /** isomorphic-git's HTTP client, checking each request's address first. */
  gitHttp(inner: HttpClient): HttpClient {
    return {
      request: async (request) => {
        this.check(request.url, 'git');
        return inner.request(request);
      },
    };
  }
}

function refusal(what: string, host: string): SophiaError {
  return new SophiaError(
    'refused',
    `Offline mode: ${what} would connect to ${host.slice(0, 200)}, which is not this machine, so Sophia did not start it. Choose a cloud model in Settings to go online, or use a server on this machine (127.0.0.1).`,
    { offline: true },
  );
}
