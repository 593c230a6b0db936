/**
 * A loopback stand-in for the GitHub REST API, speaking the endpoints Sophia uses with
 * GitHub's real shapes: get a repository, list pull requests, create a pull request, and
 * GitHub's real error bodies and headers (401 Bad credentials, 403 no permission, 404,
 * 422 Validation Failed with "A pull request already exists", 403/429 rate limit with
 * x-ratelimit-* and retry-after). Driven through the real @octokit/rest client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

export interface CreatedPullRequest {
  readonly number: number;
  readonly owner: string;
  readonly repo: string;
  readonly head: string;
  readonly base: string;
  readonly title: string;
  readonly body: string;
  readonly draft: boolean;
}

export interface InjectedFailure {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface GithubStandIn {
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  readonly pulls: CreatedPullRequest[];
  /** The next request (of any kind) gets this answer instead. */
  failNext(failure: InjectedFailure): void;
  close(): Promise<void>;
}

const docs = 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request';

/** GitHub's real error bodies, as it sends them. */
export const githubErrors = {
  badCredentials: { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' } },
  noPermission: { status: 403, body: { message: 'Resource not accessible by personal access token', documentation_url: docs, status: '403' } },
  rateLimited: (resetEpochSeconds: number): InjectedFailure => ({
    status: 403,
    body: { message: 'API rate limit exceeded for user ID 1234567.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api', status: '403' },
    headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': String(resetEpochSeconds), 'x-ratelimit-resource': 'core' },
  }),
  secondaryRateLimited: {
    status: 429,
    body: {
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ABCD:1234.',
      documentation_url: 'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: '429',
    },
    headers: { 'retry-after': '60' },
  },
} as const satisfies Record<string, InjectedFailure | ((reset: number) => InjectedFailure)>;

export async function startGithubStandIn(options: { token: string; defaultBranch?: string; branchExists?: (owner: string, repo: string, branch: string) => boolean }): Promise<GithubStandIn> {
  const requests: RecordedRequest[] = [];
  const pulls: CreatedPullRequest[] = [];
  const failures: InjectedFailure[] = [];
  let baseURL = '';
  const htmlBase = 'https://github.test';

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      requests.push({ method: request.method ?? 'GET', path: url.pathname + url.search, authorization: request.headers.authorization, body });
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-github-media-type': 'github.v3; format=json',
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '4999',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
          ...headers,
        });
        response.end(JSON.stringify(payload));
      };
      const failure = failures.shift();
      if (failure) return send(failure.status, failure.body, failure.headers);
      const auth = request.headers.authorization ?? '';
      if (auth !== `token ${options.token}` && auth !== `Bearer ${options.token}`) return send(githubErrors.badCredentials.status, githubErrors.badCredentials.body);

      const match = /^\/repos\/([^/]+)\/([^/]+)(\/pulls)?$/.exec(url.pathname);
      if (!match) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
      const [, owner = '', repo = '', pullsPath] = match;
      const repository = {
        id: 1,
        name: repo,
        full_name: `${owner}/${repo}`,
        private: true,
        owner: { login: owner, id: 1, type: 'User' },
        html_url: `${htmlBase}/${owner}/${repo}`,
        default_branch: options.defaultBranch ?? 'main',
      };
      if (!pullsPath && request.method === 'GET') return send(200, repository);
      const view = (pull: CreatedPullRequest) => ({
        id: 1000 + pull.number,
        number: pull.number,
        state: 'open',
        title: pull.title,
        body: pull.body,
        draft: pull.draft,
        html_url: `${htmlBase}/${owner}/${repo}/pull/${pull.number}`,
        url: `${baseURL}/repos/${owner}/${repo}/pulls/${pull.number}`,
        merged_at: null,
        head: { ref: pull.head, label: `${owner}:${pull.head}`, sha: '0'.repeat(40), repo },
        base: { ref: pull.base, label: `${owner}:${pull.base}`, sha: '0'.repeat(40), repo },
        user: { login: owner },
      });
      if (pullsPath && request.method === 'GET') {
        const head = url.searchParams.get('head');
        return send(200, pulls.filter((pull) => pull.owner === owner && pull.repo === repo && (!head || `${owner}:${pull.head}` === head)).map(view));
      }
      if (pullsPath && request.method === 'POST') {
        const input = (body ?? {}) as { head?: unknown; base?: unknown; title?: unknown; body?: unknown; draft?: unknown };
        const invalid = (field: string) =>
          send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field, code: 'invalid' }], documentation_url: docs, status: '422' });
        if (typeof input.title !== 'string' || !input.title) return send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'title', code: 'missing_field' }], documentation_url: docs, status: '422' });
        if (typeof input.head !== 'string' || !input.head) return invalid('head');
        if (typeof input.base !== 'string' || !input.base) return invalid('base');
        if (options.branchExists && !options.branchExists(owner, repo, input.head)) return invalid('head');
        if (options.branchExists && !options.branchExists(owner, repo, input.base)) return invalid('base');
        const head = input.head;
        if (pulls.some((pull) => pull.owner === owner && pull.repo === repo && pull.head === head)) {
          return send(422, {
            message: 'Validation Failed',
            errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` }],
            documentation_url: docs,
            status: '422',
          });
        }
        const pull: CreatedPullRequest = { number: pulls.length + 1, owner, repo, head, base: input.base, title: input.title, body: typeof input.body === 'string' ? input.body : '', draft: input.draft === true };
        pulls.push(pull);
        return send(201, view(pull));
      }
      return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseURL,
    requests,
    pulls,
    failNext: (failure) => failures.push(failure),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
