/**
 * Git and GitHub for the open workspace, wired to the rest of Sophia: the author and remote
 * from settings, the GitHub token from the keychain at the moment of use, protected branches
 * from the policy, every operation to the audit log, and pull requests pushed as events so
 * the chat shows their link. Tools and request handlers both go through here.
 */
import path from 'node:path';
import type { HttpClient } from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { AppSettings, CheckpointView, GitStatus, PullRequestView, SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { AuditSink } from '../audit/auditLog';
import { defaultGithubApiUrl, GithubClient, parseRepository, repositoryFromUrl } from '../github/githubClient';
import { createLogger } from '../log';
import type { SecretReader } from '../keychain/secretReader';
import type { OfflineGuard } from '../models/offlineGuard';
import { matchesAny } from '../../shared/glob';
import { CheckpointStore } from './checkpoints';
import { GitRepository, type DiffTexts, type GitAuthor } from './gitRepository';

const log = createLogger('gitService');

export interface GitServiceOptions {
  readonly workspace: () => string;
  readonly settings: () => AppSettings;
  readonly secrets: SecretReader;
  /** The policy's protected branches, read at each push. */
  readonly protectedBranches: () => readonly string[];
  readonly audit: AuditSink;
  readonly publish: (event: SophiaEvent) => void;
  /** Where the checkpoints' shadow repositories live (inside Sophia's data folder). */
  readonly checkpointRoot: string;
  /** isomorphic-git's HTTP client; the Node one by default. */
  readonly http?: HttpClient;
  /** Offline mode: remotes and GitHub off this machine are refused before they are reached. */
  readonly offline?: OfflineGuard;
  /** Throws while the emergency stop is engaged: a rollback rewrites the workspace, so it waits for Resume. */
  readonly guard?: () => void;
}

export class GitService {
  readonly #checkpoints = new Map<string, CheckpointStore>();

  constructor(private readonly options: GitServiceOptions) {}

  settingsHaveWorkspace(): boolean {
    return this.options.workspace() !== '';
  }

  repository(): GitRepository {
    const dir = this.options.workspace();
    if (!dir) throw new SophiaError('bad_request', 'No workspace is open. Choose a workspace folder in Settings.');
    const { http, offline } = this.options;
    // Every git request (push, fetch, anything later) passes the offline check first.
    if (offline) return new GitRepository(dir, { http: offline.gitHttp(http ?? nodeHttp) });
    return new GitRepository(dir, http ? { http } : {});
  }

  async status(): Promise<GitStatus> {
    if (!this.options.workspace()) return { repository: false, branch: null, head: null, files: [], ahead: 0, behind: 0, upstream: null, remotes: [] };
    return this.repository().status();
  }

  diff(file: string): Promise<DiffTexts> {
    return this.repository().diff(file);
  }

  async author(repository: GitRepository): Promise<GitAuthor> {
    const settings = this.options.settings();
    if (settings.gitAuthorName && settings.gitAuthorEmail) return { name: settings.gitAuthorName, email: settings.gitAuthorEmail };
    const configured = await repository.configuredAuthor();
    if (configured) return configured;
    throw new SophiaError('bad_request', 'No commit author is set. Enter your name and email under Settings → Git and GitHub.');
  }

  async remoteUrl(repository: GitRepository): Promise<string> {
    const url = this.options.settings().gitRemoteUrl || (await repository.remoteUrl('origin'));
    if (!url) throw new SophiaError('bad_request', 'The repository has no remote "origin". Set the remote URL under Settings → Git and GitHub.');
    return url;
  }

  isProtected(branch: string): string | undefined {
    return matchesAny(branch, this.options.protectedBranches());
  }

  async commit(input: { branch: string; message: string; paths: readonly string[] }, conversationId: string | null): Promise<{ commit: string; branch: string; created: boolean }> {
    const repository = this.repository();
    const author = await this.author(repository);
    const { created } = await repository.switchToBranch(input.branch);
    const commit = await repository.commit({ message: input.message, paths: input.paths, author });
    this.options.audit.record({
      kind: 'git',
      conversationId,
      risk: 'medium',
      actor: 'agent',
      summary: `Committed ${input.paths.length} file(s) to ${input.branch} (${commit.slice(0, 12)})`,
      data: { operation: 'commit', branch: input.branch, created, commit, paths: input.paths.slice(0, 200), author: author.name, message: input.message },
    });
    return { commit, branch: input.branch, created };
  }

  async push(input: { branch: string }, conversationId: string | null, signal?: AbortSignal): Promise<{ branch: string; commit: string; url: string }> {
    const protectedBy = this.isProtected(input.branch);
    if (protectedBy) {
      this.options.audit.record({
        kind: 'refusal',
        conversationId,
        risk: 'high',
        actor: 'policy',
        summary: `Push to the protected branch ${input.branch} refused`,
        data: { operation: 'push', branch: input.branch, rule: protectedBy },
      });
      throw new SophiaError('refused', `${input.branch} is a protected branch (policy: "${protectedBy}"); Sophia does not push to it. Push a feature branch and open a pull request.`);
    }
    const repository = this.repository();
    const url = await this.remoteUrl(repository);
    this.options.offline?.check(url, 'git push');
    const token = await this.#token();
    const pushed = await repository.push({ branch: input.branch, url, token, ...(signal ? { signal } : {}) });
    this.options.audit.record({
      kind: 'git',
      conversationId,
      risk: 'high',
      actor: 'agent',
      summary: `Pushed ${input.branch} (${pushed.commit.slice(0, 12)}) to ${redactUrl(url)}`,
      data: { operation: 'push', branch: input.branch, commit: pushed.commit, remote: redactUrl(url) },
    });
    return pushed;
  }

  async openPullRequest(
    input: { title: string; body: string; head?: string | undefined; base?: string | undefined; draft?: boolean | undefined },
    conversationId: string | null,
  ): Promise<PullRequestView> {
    const repository = this.repository();
    const head = input.head ?? (await repository.currentBranch());
    if (!head) throw new SophiaError('bad_request', 'The workspace is on no branch; name the head branch.');
    const github = await this.#github(repository);
    const pullRequest = await github.open({ head, base: input.base, title: input.title, body: input.body, draft: input.draft });
    this.options.audit.record({
      kind: 'git',
      conversationId,
      risk: 'medium',
      actor: 'agent',
      summary: `Opened pull request #${pullRequest.number}: ${pullRequest.head} → ${pullRequest.base}`,
      data: { operation: 'pull-request', repository: `${github.repository.owner}/${github.repository.repo}`, ...pullRequest },
    });
    if (conversationId) this.options.publish({ type: 'git.pullRequest', conversationId, pullRequest });
    return pullRequest;
  }

  async revert(input: { commit: string }, conversationId: string | null): Promise<{ commit: string; reverted: string; branch: string | undefined }> {
    const repository = this.repository();
    const author = await this.author(repository);
    const commit = await repository.revert({ commit: input.commit, author });
    const branch = await repository.currentBranch();
    this.options.audit.record({
      kind: 'git',
      conversationId,
      risk: 'high',
      actor: 'agent',
      summary: `Reverted ${input.commit.slice(0, 12)} on ${branch ?? 'a detached HEAD'} (${commit.slice(0, 12)})`,
      data: { operation: 'revert', reverted: input.commit, commit, branch },
    });
    return { commit, reverted: input.commit, branch };
  }

  checkpoints(): CheckpointStore {
    const workspace = this.options.workspace();
    if (!workspace) throw new SophiaError('bad_request', 'No workspace is open, so there are no checkpoints.');
    const key = path.resolve(workspace);
    let store = this.#checkpoints.get(key);
    if (!store) {
      store = CheckpointStore.forWorkspace(this.options.checkpointRoot, workspace);
      this.#checkpoints.set(key, store);
    }
    return store;
  }

  async recordCheckpoint(conversationId: string, label: string): Promise<CheckpointView> {
    const checkpoint = await this.checkpoints().record(conversationId, label);
    this.options.publish({ type: 'checkpoint.created', checkpoint });
    return checkpoint;
  }

  async rollback(conversationId: string, checkpointId: string): Promise<{ restored: CheckpointView; saved: CheckpointView; filesChanged: number }> {
    this.options.guard?.();
    const result = await this.checkpoints().rollback(conversationId, checkpointId);
    this.options.publish({ type: 'checkpoint.created', checkpoint: result.saved });
    this.options.audit.record({
      kind: 'git',
      conversationId,
      risk: 'medium',
      actor: 'user',
      summary: `Rolled the workspace back to step ${result.restored.step} (${result.filesChanged} file(s) changed)`,
      data: { operation: 'rollback', restored: result.restored, saved: result.saved.id, filesChanged: result.filesChanged },
    });
    return result;
  }

  async #token(): Promise<string> {
    const token = await this.options.secrets.get('github-token');
    if (!token) throw new SophiaError('bad_request', 'No GitHub token is stored. Add one in Credentials & role ("github-token"); it is kept in the OS keychain.');
    return token;
  }

  async #github(repository: GitRepository): Promise<GithubClient> {
    const settings = this.options.settings();
    const ref = settings.githubRepository ? parseRepository(settings.githubRepository) : repositoryFromUrl(await this.remoteUrl(repository));
    if (!ref) throw new SophiaError('bad_request', 'Which GitHub repository is this? Set owner/name under Settings → Git and GitHub.');
    log.debug('GitHub client', { repository: `${ref.owner}/${ref.repo}`, api: settings.githubApiUrl });
    const offline = this.options.offline;
    offline?.check(settings.githubApiUrl || defaultGithubApiUrl, 'GitHub');
    return new GithubClient(ref, { token: await this.#token(), baseUrl: settings.githubApiUrl, ...(offline ? { fetch: offline.fetch('GitHub') } : {}) });
  }
}

/** A URL without user info, for logs and the audit. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.slice(0, 200);
  }
}
