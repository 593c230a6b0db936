/**
 * Secret files the person opened for the agent. Files such as `.env` are refused to every
 * tool (see workspacePaths.ts) unless the person opens one here, from the renderer: there
 * is no tool for it, so the model cannot open one itself. A grant names one file of one
 * workspace, lasts for this session (it is never stored), lets the agent's read tools read
 * that file and nothing more (writes stay refused), and can be closed again. Opening and
 * closing go to the audit log.
 */
import { SophiaError } from '../../shared/errors';
import type { AuditSink } from '../audit/auditLog';
import { createLogger } from '../log';
import { confinePath, isSecretName, normaliseRelative } from '../core/workspacePaths';

const log = createLogger('secretFiles');

/** Enough for any real workspace; a cap so the list stays readable. */
const maxGrants = 50;

interface Grant {
  /** The path the person gave, workspace-relative. */
  readonly path: string;
  /** Workspace-relative paths it allows: as given and where it really is. */
  readonly allows: ReadonlySet<string>;
}

export class SecretFileGrants {
  /** workspace folder -> path as given -> grant */
  readonly #grants = new Map<string, Map<string, Grant>>();

  constructor(
    private readonly options: {
      readonly workspace: () => string;
      readonly audit: AuditSink;
    },
  ) {}

  /** For `confinePath`: whether the open workspace's `relative` was opened by the person. */
  readonly allows = (relative: string): boolean => {
    const grants = this.#grants.get(this.options.workspace());
    return grants !== undefined && [...grants.values()].some((grant) => grant.allows.has(relative));
  };

  /** The secret files opened in the open workspace, by the paths the person gave. */
  list(): string[] {
    return [...(this.#grants.get(this.options.workspace())?.keys() ?? [])].sort();
  }

  /** The person opens one secret file for the agent's read tools, for this session. */
  async open(raw: string): Promise<string[]> {
    const root = this.options.workspace();
    if (!root) throw new SophiaError('bad_request', 'No workspace is open. Choose a workspace folder in Settings.');
    const normal = normaliseRelative(raw);
    if ('error' in normal) throw new SophiaError('refused', normal.error);
    const given = normal.relative;
    // Confined like any read of this one path, secret or not: no escape, no .git/, no link out.
    const confined = await confinePath(root, given, 'read', { allowSecret: () => true });
    if (!confined.ok) throw new SophiaError('refused', confined.error);
    if (!isSecretName(given) && !isSecretName(confined.relative)) {
      throw new SophiaError('bad_request', `${given} is not a secret file; the agent can read it already.`);
    }
    const grants = this.#grants.get(root) ?? new Map<string, Grant>();
    if (!grants.has(given) && grants.size >= maxGrants) throw new SophiaError('refused', `At most ${maxGrants} secret files can be open at once; close one first.`);
    this.#record(`secret file ${given} opened for the agent's read tools`, { workspace: root, path: given, file: confined.relative, action: 'open' });
    grants.set(given, { path: given, allows: new Set([given, confined.relative]) });
    this.#grants.set(root, grants);
    log.info('secret file opened for the agent', { path: given });
    return this.list();
  }

  /** Closes a file the person opened; the agent is refused it again. */
  close(raw: string): string[] {
    const normal = normaliseRelative(raw);
    if ('error' in normal) throw new SophiaError('refused', normal.error);
    const root = this.options.workspace();
    const grants = this.#grants.get(root);
    if (!grants?.delete(normal.relative)) throw new SophiaError('bad_request', `${normal.relative} is not open.`);
    // Closed even if the audit fails: closing only takes access away.
    this.#record(`secret file ${normal.relative} closed to the agent`, { workspace: root, path: normal.relative, action: 'close' });
    return this.list();
  }

  #record(summary: string, data: Record<string, unknown>): void {
    // A grant that cannot be audited is not given: the caller sees the failure.
    this.options.audit.record({ kind: 'secret', actor: 'user', summary, data });
  }
}
