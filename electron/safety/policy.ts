/**
 * The approval policy in layers: built-in defaults, the user's policy (app settings), the
 * workspace's `.sophia/policy.yaml`, and an optional managed policy an administrator
 * places outside the user's reach. The user may loosen the defaults within hard limits;
 * the workspace and managed layers can only tighten. A cloned repository therefore cannot
 * grant itself auto-approval, and nothing weakens the managed layer. Every line a layer
 * could not apply is reported with its line number, so the app can say what it ignored.
 */
import { readFileSync } from 'node:fs';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { riskLevel, roleNames, type PolicyNotice, type RiskLevel, type RoleName } from '../../shared/contract';
import { riskRank } from '../../shared/risk';
import { requireOnFirstUse } from '../core/lazyRequire';

type YamlNode = Yaml.Node;

/** yaml (seventy-odd modules) is required with the first policy file that exists, not at start. */
export const yaml = requireOnFirstUse<typeof Yaml>('yaml');

export type Role = RoleName;

export function roleRank(role: Role): number {
  return roleNames.indexOf(role);
}

export const policyLayers = ['default', 'user', 'workspace', 'managed'] as const;
export type PolicyLayer = (typeof policyLayers)[number];

export interface Policy {
  /** Calls at or above this risk wait for a human. High and critical always do, whatever this says. */
  readonly approvalThreshold: RiskLevel;
  /** Branch name patterns (`*` matches within a name) that a push may not touch unapproved. */
  readonly protectedBranches: readonly string[];
  /** Infrastructure stacks that count as production: critical, and admin only. */
  readonly protectedStacks: readonly string[];
  /** Command fragments that are refused outright, approved or not. */
  readonly neverAllowCommands: readonly string[];
  /** Workspace paths a write to which is at least high risk and never session-approved. */
  readonly protectedPaths: readonly string[];
  /** The active role. */
  readonly role: Role;
  /** The highest role any layer allows. */
  readonly maxRole: Role;
  /** Tools whose calls up to medium risk run without asking (the user's and the admin's choice only). */
  readonly autoApprove: readonly string[];
  readonly allowSessionApproval: boolean;
  readonly approvalTimeoutSeconds: number;
}

/** The paths an agent may never quietly rewrite: its own policy, git's internals, CI. */
export const builtInProtectedPaths: readonly string[] = [
  '.sophia/**',
  '.git/**',
  '.github/workflows/**',
  '.github/actions/**',
  '.gitlab-ci.yml',
  '.circleci/**',
  '.buildkite/**',
  '.ci/**',
  '.travis.yml',
  'azure-pipelines.yml',
  'bitbucket-pipelines.yml',
  'Jenkinsfile',
];

export const defaultPolicy: Policy = {
  approvalThreshold: 'low',
  protectedBranches: ['main', 'master', 'release/*', 'production', 'prod'],
  protectedStacks: ['prod', 'production', 'prod-*', '*-prod', '*-production', 'live'],
  neverAllowCommands: ['rm -rf /', 'rm -rf /*', 'mkfs', ':(){ :|:& };:', 'dd if=/dev/zero of=/dev/', 'chmod -r 777 /'],
  protectedPaths: builtInProtectedPaths,
  role: 'developer',
  maxRole: 'admin',
  autoApprove: [],
  allowSessionApproval: true,
  approvalTimeoutSeconds: 600,
};

/** What a broken managed policy means: the administrator wanted limits we cannot read. */
const unreadableManagedPolicy: Partial<Policy> = {
  approvalThreshold: 'low',
  autoApprove: [],
  allowSessionApproval: false,
  maxRole: 'developer',
};

const pattern = z.string().trim().min(1).max(200);
const patternList = z.array(pattern).max(200);

/** One schema per key, so a bad key is reported on its line and only that key falls back. */
const keySchemas = {
  version: z.literal(1),
  approvalThreshold: riskLevel,
  protectedBranches: patternList,
  protectedStacks: patternList,
  neverAllowCommands: patternList,
  protectedPaths: patternList,
  role: z.enum(roleNames),
  maxRole: z.enum(roleNames),
  autoApprove: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a tool name')).max(200),
  allowSessionApproval: z.boolean(),
  approvalTimeoutSeconds: z.number().int().min(5).max(3600),
} as const;
type PolicyKey = keyof typeof keySchemas;
const policyKeys = Object.keys(keySchemas) as PolicyKey[];

export type LayerValues = { -readonly [K in Exclude<PolicyKey, 'version'>]?: z.output<(typeof keySchemas)[K]> };

/** A layer as read from its file: the values that passed, and where each came from. */
export interface LoadedLayer {
  readonly layer: PolicyLayer;
  readonly source: string;
  readonly values: LayerValues;
  /** Line of each key, and of each list entry, for the notices. */
  readonly lines: ReadonlyMap<string, number>;
  readonly errors: readonly PolicyNotice[];
  /** The file existed but could not be used at all. */
  readonly unreadable: boolean;
}

export function emptyLayer(layer: PolicyLayer, source: string): LoadedLayer {
  return { layer, source, values: {}, lines: new Map(), errors: [], unreadable: false };
}

const maxPolicyBytes = 256 * 1024;

/** Parses one layer's YAML. Never throws: a bad file becomes notices and falls back. */
export function parsePolicyLayer(layer: PolicyLayer, source: string, text: string): LoadedLayer {
  const errors: PolicyNotice[] = [];
  const lines = new Map<string, number>();
  const notice = (line: number | undefined, key: string | undefined, message: string): PolicyNotice => ({
    layer,
    source,
    ...(line === undefined ? {} : { line }),
    ...(key === undefined ? {} : { key }),
    message,
  });
  if (text.length > maxPolicyBytes) {
    return { ...emptyLayer(layer, source), errors: [notice(undefined, undefined, `The policy is larger than ${maxPolicyBytes} bytes; none of it was applied.`)], unreadable: true };
  }
  const { isMap, isSeq, LineCounter, parseDocument } = yaml();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true });
  const lineOf = (node: YamlNode | null | undefined): number | undefined =>
    node?.range ? counter.linePos(node.range[0]).line : undefined;
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    const message = first.message.split('\n')[0] ?? first.message;
    return { ...emptyLayer(layer, source), errors: [notice(line, undefined, `Not valid YAML: ${message}. None of this file was applied; the stricter defaults hold.`)], unreadable: true };
  }
  if (doc.contents === null) return emptyLayer(layer, source);
  if (!isMap(doc.contents)) {
    return { ...emptyLayer(layer, source), errors: [notice(lineOf(doc.contents), undefined, 'A policy is a mapping of keys to values. None of this file was applied.')], unreadable: true };
  }
  const values: LayerValues = {};
  for (const pair of doc.contents.items) {
    const keyNode = pair.key as YamlNode | null;
    const key = String((keyNode as { value?: unknown } | null)?.value ?? '');
    const line = lineOf(keyNode);
    if (!(policyKeys as string[]).includes(key)) {
      errors.push(notice(line, key, `Unknown key "${key.slice(0, 60)}"; it was ignored. Known keys: ${policyKeys.join(', ')}.`));
      continue;
    }
    const policyKey = key as PolicyKey;
    if (line !== undefined) lines.set(policyKey, line);
    const valueNode = pair.value as YamlNode | null;
    if (isSeq(valueNode)) {
      valueNode.items.forEach((item, index) => {
        const itemLine = lineOf(item as YamlNode);
        if (itemLine !== undefined) lines.set(`${policyKey}[${index}]`, itemLine);
      });
    }
    const raw: unknown = valueNode === null ? null : (valueNode as { toJSON(): unknown }).toJSON();
    const parsed = keySchemas[policyKey].safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` (entry ${issue.path.join('.')})` : '';
      errors.push(notice(line, policyKey, `"${policyKey}" is not valid${where}: ${issue?.message ?? 'bad value'}. The stricter value from the other layers holds.`));
      continue;
    }
    if (policyKey === 'version') continue;
    (values as Record<string, unknown>)[policyKey] = parsed.data;
  }
  return { layer, source, values, lines, errors, unreadable: false };
}

/** Reads a layer's file; a missing file is an empty layer, an unreadable one is reported. */
export function readPolicyLayer(layer: PolicyLayer, file: string): LoadedLayer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyLayer(layer, file);
    return {
      ...emptyLayer(layer, file),
      errors: [{ layer, source: file, message: `The policy file could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); the stricter defaults hold.` }],
      unreadable: true,
    };
  }
  return parsePolicyLayer(layer, file, text);
}

export interface EffectivePolicy {
  readonly policy: Policy;
  /** Parse errors and every line a layer tried and was not allowed to apply. */
  readonly notices: readonly PolicyNotice[];
}

const minRisk = (a: RiskLevel, b: RiskLevel): RiskLevel => (riskRank(a) <= riskRank(b) ? a : b);
const minRole = (a: Role, b: Role): Role => (roleRank(a) <= roleRank(b) ? a : b);
const union = (base: readonly string[], extra: readonly string[]): string[] => [...new Set([...base, ...extra])];

/**
 * Merges the layers in order. The user layer may loosen the defaults (threshold, role up to
 * the max, auto-approval, session approval) but lists only grow, except for `!entry` which
 * lets a user unprotect a default. The workspace and managed layers are tighten-only:
 * anything looser is ignored and reported on its line.
 */
export function mergePolicy(layers: { user?: LoadedLayer; workspace?: LoadedLayer; managed?: LoadedLayer }): EffectivePolicy {
  const notices: PolicyNotice[] = [];
  let policy: Policy = { ...defaultPolicy };
  const user = layers.user;
  if (user) {
    notices.push(...user.errors);
    policy = applyUser(policy, user.values);
  }
  // Managed caps apply before the workspace so that a workspace line is judged against them,
  // and again after so that nothing the workspace does can undo them.
  const managed = layers.managed;
  if (managed) {
    notices.push(...managed.errors);
    const values: LayerValues = managed.unreadable ? { ...unreadableManagedPolicy } as LayerValues : managed.values;
    policy = tighten(policy, values, managed, notices, { managed: true });
  }
  const workspace = layers.workspace;
  if (workspace) {
    notices.push(...workspace.errors);
    policy = tighten(policy, workspace.values, workspace, notices, { managed: false });
  }
  return { policy, notices };
}

function applyUser(base: Policy, values: LayerValues): Policy {
  const lists = (key: 'protectedBranches' | 'protectedStacks' | 'neverAllowCommands' | 'protectedPaths'): string[] => {
    const given = values[key];
    if (!given) return [...base[key]];
    const removed = new Set(given.filter((entry) => entry.startsWith('!')).map((entry) => entry.slice(1)));
    // Built-in protected paths stay protected whatever the user says.
    const kept = base[key].filter((entry) => !removed.has(entry) || (key === 'protectedPaths' && builtInProtectedPaths.includes(entry)));
    return union(kept, given.filter((entry) => !entry.startsWith('!')));
  };
  const maxRole = values.maxRole ? minRole(values.maxRole, base.maxRole) : base.maxRole;
  return {
    approvalThreshold: values.approvalThreshold ?? base.approvalThreshold,
    protectedBranches: lists('protectedBranches'),
    protectedStacks: lists('protectedStacks'),
    neverAllowCommands: lists('neverAllowCommands'),
    protectedPaths: lists('protectedPaths'),
    maxRole,
    role: minRole(values.role ?? base.role, maxRole),
    autoApprove: values.autoApprove ?? base.autoApprove,
    allowSessionApproval: values.allowSessionApproval ?? base.allowSessionApproval,
    approvalTimeoutSeconds: values.approvalTimeoutSeconds ?? base.approvalTimeoutSeconds,
  };
}

function tighten(base: Policy, values: LayerValues, layer: LoadedLayer, notices: PolicyNotice[], options: { managed: boolean }): Policy {
  const ignore = (key: string, message: string, entry?: number): void => {
    const line = layer.lines.get(entry === undefined ? key : `${key}[${entry}]`) ?? layer.lines.get(key);
    notices.push({ layer: layer.layer, source: layer.source, ...(line === undefined ? {} : { line }), key, message, ignored: true });
  };
  const next: { -readonly [K in keyof Policy]: Policy[K] } = { ...base };

  if (values.approvalThreshold !== undefined) {
    if (riskRank(values.approvalThreshold) > riskRank(base.approvalThreshold)) {
      ignore('approvalThreshold', `Ignored: "${values.approvalThreshold}" would lower the approval threshold below "${base.approvalThreshold}"; this layer can only tighten.`);
    }
    next.approvalThreshold = minRisk(base.approvalThreshold, values.approvalThreshold);
  }
  for (const key of ['protectedBranches', 'protectedStacks', 'neverAllowCommands', 'protectedPaths'] as const) {
    const given = values[key];
    if (!given) continue;
    given.forEach((entry, index) => {
      if (entry.startsWith('!')) ignore(key, `Ignored: "${entry}" would remove a protection; this layer can only add.`, index);
    });
    next[key] = union(base[key], given.filter((entry) => !entry.startsWith('!')));
  }
  if (values.maxRole !== undefined) {
    if (roleRank(values.maxRole) > roleRank(base.maxRole)) ignore('maxRole', `Ignored: "${values.maxRole}" is above the allowed "${base.maxRole}".`);
    next.maxRole = minRole(base.maxRole, values.maxRole);
  }
  if (values.role !== undefined) {
    if (roleRank(values.role) > roleRank(base.role)) ignore('role', `Ignored: the role "${values.role}" is above the active "${base.role}"; this layer can only lower it.`);
    next.role = minRole(base.role, values.role);
  }
  next.role = minRole(next.role, next.maxRole);
  if (values.autoApprove !== undefined) {
    if (options.managed) {
      // The administrator's list is an allowlist: auto-approval only for tools on it.
      next.autoApprove = base.autoApprove.filter((tool) => values.autoApprove?.includes(tool));
    } else {
      values.autoApprove.forEach((tool, index) => {
        if (!base.autoApprove.includes(tool)) ignore('autoApprove', `Ignored: a workspace cannot auto-approve "${tool}"; only you (in Settings) or an administrator can.`, index);
      });
    }
  }
  if (values.allowSessionApproval !== undefined) {
    if (values.allowSessionApproval && !base.allowSessionApproval) ignore('allowSessionApproval', 'Ignored: session approval is switched off by a stricter layer.');
    next.allowSessionApproval = base.allowSessionApproval && values.allowSessionApproval;
  }
  if (values.approvalTimeoutSeconds !== undefined) {
    if (values.approvalTimeoutSeconds > base.approvalTimeoutSeconds) ignore('approvalTimeoutSeconds', `Ignored: a longer approval timeout than ${base.approvalTimeoutSeconds} s.`);
    next.approvalTimeoutSeconds = Math.min(base.approvalTimeoutSeconds, values.approvalTimeoutSeconds);
  }
  return next;
}
