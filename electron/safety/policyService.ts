/**
 * The effective policy, kept current: the four layers are re-read when a file changes (or
 * the workspace does), and each new set of notices is written to the audit log once.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PolicyNotice, RoleName, SafetyStatus } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { AuditSink } from '../audit/auditLog';
import type { KeychainStatus } from '../keychain/keychain';
import { createLogger } from '../log';
import { emptyLayer, mergePolicy, parsePolicyLayer, readPolicyLayer, roleRank, yaml, type EffectivePolicy, type LoadedLayer, type Policy } from './policy';

const log = createLogger('policyService');

export const workspacePolicyPath = path.join('.sophia', 'policy.yaml');

/** Where an administrator puts the managed policy: outside what a user account can write. */
export function defaultManagedPolicyFile(): string {
  switch (process.platform) {
    case 'darwin':
      return '/Library/Application Support/Sophia/policy.yaml';
    case 'win32':
      return path.join(process.env['ProgramData'] ?? 'C:\\ProgramData', 'Sophia', 'policy.yaml');
    default:
      return '/etc/sophia/policy.yaml';
  }
}

export interface PolicySources {
  /** The user's layer (app settings); none keeps it in memory. */
  readonly userFile?: string | undefined;
  readonly managedFile?: string | undefined;
  /** The open workspace folder; '' when none. */
  readonly workspace: () => string;
}

const stamp = (file: string | undefined): string => {
  if (!file) return '-';
  try {
    const stats = statSync(file);
    return `${stats.mtimeMs}:${stats.size}`;
  } catch {
    return 'none';
  }
};

export class PolicyService {
  #key = '';
  #effective: EffectivePolicy | undefined;
  #userText = '';
  readonly #listeners = new Set<() => void>();

  constructor(
    private readonly sources: PolicySources,
    private readonly audit?: AuditSink,
  ) {}

  files(): { user?: string | undefined; workspace?: string | undefined; managed?: string | undefined } {
    const workspace = this.sources.workspace();
    return {
      user: this.sources.userFile,
      workspace: workspace ? path.join(workspace, workspacePolicyPath) : undefined,
      managed: this.sources.managedFile,
    };
  }

  current(): EffectivePolicy {
    const files = this.files();
    const key = [files.user, stamp(files.user), files.workspace ?? '', stamp(files.workspace), files.managed ?? '', stamp(files.managed), this.#userText].join('|');
    if (this.#effective && key === this.#key) return this.#effective;
    const layers: { user?: LoadedLayer; workspace?: LoadedLayer; managed?: LoadedLayer } = {
      user: files.user ? readPolicyLayer('user', files.user) : this.#userText ? parsePolicyLayer('user', 'settings', this.#userText) : emptyLayer('user', 'settings'),
    };
    if (files.workspace) layers.workspace = readPolicyLayer('workspace', files.workspace);
    if (files.managed) layers.managed = readPolicyLayer('managed', files.managed);
    const effective = mergePolicy(layers);
    const changed = this.#effective === undefined || noticeKey(effective.notices) !== noticeKey(this.#effective.notices) || policyKey(effective.policy) !== policyKey(this.#effective.policy);
    this.#effective = effective;
    this.#key = key;
    if (changed) this.#announce(effective);
    return effective;
  }

  policy(): Policy {
    return this.current().policy;
  }

  status(keychain: KeychainStatus): Omit<SafetyStatus, 'audit'> {
    const { policy, notices } = this.current();
    return {
      role: policy.role,
      maxRole: policy.maxRole,
      approvalThreshold: policy.approvalThreshold,
      keychain: { available: keychain.available, message: keychain.message.slice(0, 2000) },
      notices: notices.slice(0, 50).map((notice) => ({ ...notice, message: notice.message.slice(0, 2000), source: notice.source.slice(0, 4096) })),
    };
  }

  /** Sets the role in the user's layer; above the allowed maximum is refused. */
  setRole(role: RoleName): void {
    const { policy } = this.current();
    if (roleRank(role) > roleRank(policy.maxRole)) {
      throw new SophiaError('refused', `The ${role} role is not allowed here; the highest allowed is ${policy.maxRole}.`);
    }
    const file = this.sources.userFile;
    const doc = yaml().parseDocument(file ? readText(file) : this.#userText);
    if (doc.errors.length > 0) throw new SophiaError('bad_request', 'Your policy file is not valid YAML; fix it before changing the role.');
    doc.set('role', role);
    const text = doc.toString();
    if (file) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text, { mode: 0o600 });
    } else {
      this.#userText = text;
    }
    this.audit?.record({ kind: 'policy', actor: 'user', summary: `Role set to ${role}`, data: { role } });
    this.current();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #announce(effective: EffectivePolicy): void {
    for (const notice of effective.notices) log.warn('policy notice', { layer: notice.layer, line: notice.line, key: notice.key, message: notice.message });
    this.audit?.record({
      kind: 'policy',
      actor: 'system',
      summary: `Policy loaded: role ${effective.policy.role}, approval from ${effective.policy.approvalThreshold} risk${effective.notices.length ? `, ${effective.notices.length} line(s) not applied` : ''}`,
      data: { policy: effective.policy, notices: effective.notices },
    });
    for (const listener of this.#listeners) listener();
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

const noticeKey = (notices: readonly PolicyNotice[]): string => JSON.stringify(notices);
const policyKey = (policy: Policy): string => JSON.stringify(policy);
