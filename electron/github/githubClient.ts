/**
 * GitHub pull requests through @octokit/rest. The token is handed in by the caller (read from
 * the OS keychain at the moment of use) and never logged. GitHub's errors are turned into
 * plain sentences that say what to do: no permission, a pull request that already exists,
 * validation failed, rate limited.
 */
import type { Octokit } from '@octokit/rest';
import type { PullRequestView } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { onDemand } from '../core/onDemand';
import { createLogger } from '../log';

const log = createLogger('githubClient');

// Octokit loads with the first pull request, not at start.
const octokitModule = onDemand('@octokit/rest', () => import('@octokit/rest'));

export const defaultGithubApiUrl = 'https://api.github.com';

export interface GithubRepositoryRef {
  readonly owner: string;
  readonly repo: string;
}

export interface OpenPullRequest {
  readonly head: string;
  /** The repository's default branch when left out. */
  readonly base?: string | undefined;
  readonly title: string;
  readonly body: string;
  readonly draft?: boolean | undefined;
}

/** `owner/name` from a remote URL (https://github.com/owner/name.git, or any host's last two path parts). */
export function repositoryFromUrl(url: string): GithubRepositoryRef | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    const scp = /^[^@]+@[^:]+:(.+)$/.exec(url);
    if (!scp?.[1]) return undefined;
    pathname = `/${scp[1]}`;
  }
  const parts = pathname.replace(/\.git$/, '').split('/').filter(Boolean);
  const [owner, repo] = parts.slice(-2);
  return owner && repo ? { owner, repo } : undefined;
}

export function parseRepository(value: string): GithubRepositoryRef | undefined {
  const [owner, repo, ...rest] = value.split('/');
  return owner && repo && rest.length === 0 ? { owner, repo } : undefined;
}

interface GithubErrorBody {
  readonly message?: string;
  readonly errors?: readonly { readonly message?: string; readonly field?: string; readonly code?: string; readonly resource?: string }[];
}

interface RequestErrorLike {
  readonly status: number;
  readonly response?: { readonly headers?: Record<string, string | number | undefined>; readonly data?: unknown };
}

function isRequestError(error: unknown): error is RequestErrorLike {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/** GitHub's answer, as a sentence that says what happened and what to do. */
export function explainGithubError(error: unknown, what: string, repository: GithubRepositoryRef): SophiaError {
  // Octokit reports a request that never got an answer as a RequestError without a response.
  if (!isRequestError(error) || error.response === undefined) {
    const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
    log.error('GitHub request failed', { what, error });
    return new SophiaError('unavailable', `${what} failed: GitHub cannot be reached${code ? ` (${code})` : ''}. Check the connection and the GitHub API address in Settings.`);
  }
  const headers = error.response?.headers ?? {};
  const body = (error.response?.data ?? {}) as GithubErrorBody;
  const message = typeof body.message === 'string' ? body.message : '';
  const details = (body.errors ?? []).map((item) => item.message ?? [item.resource, item.field, item.code].filter(Boolean).join(' ')).filter(Boolean);
  const name = `${repository.owner}/${repository.repo}`;
  const remaining = headers['x-ratelimit-remaining'];
  const rateLimited = error.status === 429 || (error.status === 403 && (String(remaining) === '0' || /rate limit/i.test(message)));
  if (rateLimited) {
    const reset = Number(headers['x-ratelimit-reset']);
    const retryAfter = Number(headers['retry-after']);
    const when = Number.isFinite(retryAfter) && retryAfter > 0
      ? `in ${Math.ceil(retryAfter)} seconds`
      : Number.isFinite(reset) && reset > 0
        ? `after ${new Date(reset * 1000).toISOString().slice(11, 16)} UTC`
        : 'in a few minutes';
    return new SophiaError('unavailable', `GitHub's rate limit was reached (${message || 'rate limit exceeded'}). Nothing was created; try again ${when}.`, { status: error.status, kind: 'rate-limit' });
  }
  switch (error.status) {
    case 401:
      return new SophiaError('refused', `GitHub refused the token (${message || 'Bad credentials'}). Set a valid token in Credentials & role ("github-token").`, { status: 401, kind: 'auth' });
    case 403:
      return new SophiaError('refused', `The GitHub token has no permission for ${what.toLowerCase()} on ${name} (${message || 'Forbidden'}). Give it write access to pull requests (fine-grained token: "Pull requests: Read and write") or ask the repository's owner.`, { status: 403, kind: 'permission' });
    case 404:
      return new SophiaError('bad_request', `GitHub does not show ${name} to this token (Not Found). Check the repository name in Settings, and that the token may see it.`, { status: 404, kind: 'not-found' });
    case 422: {
      const existing = details.find((text) => /already exists/i.test(text));
      if (existing) return new SophiaError('refused', `${existing} Open that pull request instead, or push to a new branch.`, { status: 422, kind: 'exists' });
      const noCommits = details.find((text) => /no commits between/i.test(text));
      if (noCommits) return new SophiaError('bad_request', `${noCommits}: push the commits first, or pick another base branch.`, { status: 422, kind: 'no-commits' });
      return new SophiaError('bad_request', `GitHub did not accept it (${message || 'Validation Failed'}${details.length ? `: ${details.join('; ')}` : ''}). Check that the branch was pushed and the base branch exists.`, { status: 422, kind: 'validation' });
    }
    default:
      log.error('GitHub answered with an error', { what, status: error.status, message });
      return new SophiaError('unavailable', `${what} failed: GitHub answered ${error.status}${message ? ` (${message})` : ''}. Try again later.`, { status: error.status, kind: 'server' });
  }
}

export class GithubClient {
  readonly #options: { token: string; baseUrl?: string | undefined; fetch?: typeof globalThis.fetch };
  #octokit: Promise<Octokit> | undefined;

  constructor(
    readonly repository: GithubRepositoryRef,
    options: { token: string; baseUrl?: string | undefined; fetch?: typeof globalThis.fetch },
  ) {
    this.#options = options;
  }

  #client(): Promise<Octokit> {
    const options = this.#options;
    this.#octokit ??= octokitModule().then(
      ({ Octokit }) =>
        new Octokit({
          auth: options.token,
          baseUrl: (options.baseUrl ?? defaultGithubApiUrl).replace(/\/$/, ''),
          userAgent: 'Sophia',
          // Octokit logs failed requests to the console by default; the product logs through its own logger.
          log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
          ...(options.fetch ? { request: { fetch: options.fetch } } : {}),
        }),
    );
    return this.#octokit;
  }

  async defaultBranch(): Promise<string> {
    const octokit = await this.#client();
    try {
      const { data } = await octokit.rest.repos.get({ owner: this.repository.owner, repo: this.repository.repo });
      return data.default_branch;
    } catch (error) {
      throw explainGithubError(error, 'Reading the repository', this.repository);
    }
  }

  /** The open pull request from `head` (a branch of this repository), if there is one. */
  async findOpen(head: string): Promise<PullRequestView | undefined> {
    const octokit = await this.#client();
    try {
      const { data } = await octokit.rest.pulls.list({ owner: this.repository.owner, repo: this.repository.repo, head: `${this.repository.owner}:${head}`, state: 'open', per_page: 1 });
      const first = data[0];
      return first ? view(first) : undefined;
    } catch (error) {
      throw explainGithubError(error, 'Listing pull requests', this.repository);
    }
  }

  async open(request: OpenPullRequest): Promise<PullRequestView> {
    const base = request.base ?? (await this.defaultBranch());
    const octokit = await this.#client();
    try {
      const { data } = await octokit.rest.pulls.create({
        owner: this.repository.owner,
        repo: this.repository.repo,
        head: request.head,
        base,
        title: request.title,
        body: request.body,
        ...(request.draft ? { draft: true } : {}),
      });
      return view(data);
    } catch (error) {
      throw explainGithubError(error, 'Opening a pull request', this.repository);
    }
  }
}

function view(data: { number: number; html_url: string; title: string; state: string; merged_at?: string | null; head: { ref: string }; base: { ref: string } }): PullRequestView {
  return {
    number: data.number,
    url: data.html_url,
    title: data.title.slice(0, 200),
    head: data.head.ref.slice(0, 200),
    base: data.base.ref.slice(0, 200),
    state: data.merged_at ? 'merged' : data.state === 'closed' ? 'closed' : 'open',
  };
}
