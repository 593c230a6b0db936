/**
 * The real @octokit/rest client against the GitHub stand-in: pull requests opened with the
 * right fields, and GitHub's errors (bad token, no permission, already exists, validation
 * failed, rate limits) turned into sentences that say what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GithubClient, parseRepository, repositoryFromUrl } from '../../../electron/github/githubClient';
import { SophiaError } from '../../../shared/errors';
import { githubErrors, startGithubStandIn, type GithubStandIn } from '../../support/standIns/githubStandIn';

const token = 'ghp_client_test_token_000111';
let github: GithubStandIn;
let client: GithubClient;

beforeAll(async () => {
  github = await startGithubStandIn({ token, defaultBranch: 'trunk' });
  client = new GithubClient({ owner: 'acme', repo: 'payroll' }, { token, baseUrl: github.baseURL });
});

afterAll(async () => {
  await github?.close();
});

async function failure(promise: Promise<unknown>): Promise<SophiaError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SophiaError);
  return error as SophiaError;
}

describe('GitHub pull requests through @octokit/rest', () => {
  it("opens a pull request into the repository's default branch and finds it again", async () => {
    const pr = await client.open({ head: 'feature/a', title: 'Add a', body: 'Body' });
    expect(pr).toEqual({ number: 1, url: 'https://github.test/acme/payroll/pull/1', title: 'Add a', head: 'feature/a', base: 'trunk', state: 'open' });
    expect(github.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /repos/acme/payroll', 'POST /repos/acme/payroll/pulls']);
    expect(github.requests[1]?.body).toEqual({ head: 'feature/a', base: 'trunk', title: 'Add a', body: 'Body' });
    expect(await client.findOpen('feature/a')).toMatchObject({ number: 1 });
    expect(await client.findOpen('feature/none')).toBeUndefined();
  });

  it('says what to do for each of GitHub’s errors', async () => {
    const open = () => client.open({ head: 'feature/b', base: 'main', title: 'B', body: '' });

    const bad = await failure(new GithubClient({ owner: 'acme', repo: 'payroll' }, { token: 'ghp_wrong', baseUrl: github.baseURL }).open({ head: 'x', base: 'main', title: 't', body: '' }));
    expect(bad.message).toBe('GitHub refused the token (Bad credentials). Set a valid token in Credentials & role ("github-token").');

    github.failNext(githubErrors.noPermission);
    const denied = await failure(open());
    expect(denied.message).toMatch(/^The GitHub token has no permission for opening a pull request on acme\/payroll \(Resource not accessible by personal access token\)\. Give it write access/);
    expect(denied.data).toMatchObject({ status: 403, kind: 'permission' });

    const exists = await failure(client.open({ head: 'feature/a', base: 'main', title: 'Again', body: '' }));
    expect(exists.message).toBe('A pull request already exists for acme:feature/a. Open that pull request instead, or push to a new branch.');

    const invalid = await failure(client.open({ head: 'feature/c', base: 'main', title: '', body: '' }));
    expect(invalid.message).toMatch(/^GitHub did not accept it \(Validation Failed: PullRequest title missing_field\)/);

    const reset = Math.floor(Date.UTC(2030, 0, 1, 14, 5) / 1000);
    github.failNext(githubErrors.rateLimited(reset));
    const limited = await failure(open());
    expect(limited.message).toBe("GitHub's rate limit was reached (API rate limit exceeded for user ID 1234567.). Nothing was created; try again after 14:05 UTC.");

    github.failNext(githubErrors.secondaryRateLimited);
    const secondary = await failure(open());
    expect(secondary.message).toMatch(/^GitHub's rate limit was reached \(You have exceeded a secondary rate limit.*try again in 60 seconds\.$/);

    const unreachable = await failure(new GithubClient({ owner: 'a', repo: 'b' }, { token, baseUrl: 'http://127.0.0.1:9' }).open({ head: 'x', base: 'main', title: 't', body: '' }));
    expect(unreachable.message).toMatch(/GitHub cannot be reached/);
    expect(github.pulls).toHaveLength(1);
  });

  it('reads owner/name from remote URLs and settings', () => {
    expect(repositoryFromUrl('https://github.com/acme/payroll.git')).toEqual({ owner: 'acme', repo: 'payroll' });
    expect(repositoryFromUrl('git@github.com:acme/payroll.git')).toEqual({ owner: 'acme', repo: 'payroll' });
    expect(repositoryFromUrl('http://127.0.0.1:4000/acme/payroll.git')).toEqual({ owner: 'acme', repo: 'payroll' });
    expect(parseRepository('acme/payroll')).toEqual({ owner: 'acme', repo: 'payroll' });
    expect(parseRepository('acme')).toBeUndefined();
  });
});
