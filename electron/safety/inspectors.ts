/**
 * Risk assessment: a chain of inspectors, each looking at one proposed tool call from its
 * own angle, the strictest answer winning. The tool's declared risk is the floor; the
 * arguments can only raise it. Nothing the model says about its own call ("requires
 * approval: false", "risk: low") is read: the model proposes, the policy decides.
 *
 * Arguments are inspected without knowing each tool: every string in them is looked at
 * (bounded), with stricter readings for keys that name a command, a branch, a stack, a
 * query or a path. A false alarm costs one approval; a miss could cost the workspace.
 */
import type { RiskLevel } from '../../shared/contract';
import { maxRisk, riskRank } from '../../shared/risk';
import { matchesAny } from '../../shared/glob';
import type { Policy } from './policy';
import { secretFiles } from './secretFileInspector';

export interface InspectedCall {
  readonly tool: string;
  readonly declaredRisk: RiskLevel;
  readonly input: unknown;
  /**
   * Where the call's paths really land once links are followed (see `pathCandidates`): the
   * path's text -> its real workspace-relative path, or null when a link leads out of the
   * workspace. Absent where nothing was resolved (no workspace open); then the text is all.
   */
  readonly resolvedPaths?: ReadonlyMap<string, string | null>;
}

export interface Finding {
  readonly risk: RiskLevel;
  readonly reason: string;
  /** Touches production infrastructure: admin only. */
  readonly production?: boolean;
  /** Writes a protected path: always asked, never session-approved. */
  readonly protectedPath?: boolean;
  /** On the policy's never-allowed list: refused whoever approves. */
  readonly neverAllowed?: boolean;
}

export interface Assessment {
  readonly risk: RiskLevel;
  readonly reasons: readonly string[];
  readonly production: boolean;
  readonly protectedPath: boolean;
  readonly neverAllowed: boolean;
}

export interface Inspector {
  readonly name: string;
  inspect(call: InspectedCall, policy: Policy, strings: readonly ArgString[]): Finding[];
}

/** One string found in the arguments, with the key it sat under (lower-cased). */
export interface ArgString {
  readonly key: string;
  readonly path: string;
  readonly value: string;
}

/** What the inspectors read of a call's arguments; a call with more is not waved through (see `assess`). */
export const inspectionLimits = { depth: 12, strings: 2000, characters: 200_000, paths: 256 } as const;

/** A key that is not a plain identifier could carry a command itself (outside tools pass unknown keys on). */
const plainKey = /^[A-Za-z_$][A-Za-z0-9_$.-]{0,63}$/;

export interface ScannedArguments {
  readonly strings: ArgString[];
  /** Why the arguments hold more than the inspectors read; undefined when they read all of it. */
  readonly overflow: string | undefined;
}

/**
 * Every string value in the arguments (and `true` flags, as "true"), bounded in depth, count
 * and size. What lies past a bound is not read, and `overflow` says so: the gate treats such
 * a call as critical rather than trusting the part nobody looked at.
 */
export function scanArguments(input: unknown): ScannedArguments {
  const out: ArgString[] = [];
  let budget: number = inspectionLimits.characters;
  let overflow: string | undefined;
  const over = (why: string): void => {
    overflow ??= why;
  };
  const push = (item: ArgString): boolean => {
    if (out.length >= inspectionLimits.strings) {
      over(`they hold more than ${inspectionLimits.strings.toLocaleString('en-US')} values`);
      return false;
    }
    out.push(item);
    return true;
  };
  const walk = (value: unknown, key: string, path: string, depth: number): void => {
    if (value === null || value === undefined || overflow !== undefined) return;
    if (depth > inspectionLimits.depth) {
      over(`they nest deeper than ${inspectionLimits.depth} levels`);
      return;
    }
    if (typeof value === 'string') {
      if (value.length > budget) {
        over(`they hold more than ${inspectionLimits.characters.toLocaleString('en-US')} characters of text`);
        return;
      }
      budget -= value.length;
      push({ key, path, value });
    } else if (typeof value === 'boolean' || typeof value === 'number') {
      push({ key, path, value: String(value) });
    } else if (Array.isArray(value)) {
      // An argv array is one command: also offer it joined (a second view of text already counted).
      if (value.length > 0 && value.every((item) => typeof item === 'string')) {
        if (!push({ key, path, value: value.join(' ').slice(0, inspectionLimits.characters) })) return;
      }
      value.forEach((item, index) => walk(item, key, `${path}[${index}]`, depth + 1));
    } else if (typeof value === 'object') {
      for (const [childKey, child] of Object.entries(value as Record<string, unknown>)) {
        const childPath = path ? `${path}.${childKey}` : childKey;
        if (!plainKey.test(childKey)) {
          if (childKey.length > budget) {
            over(`they hold more than ${inspectionLimits.characters.toLocaleString('en-US')} characters of text`);
            return;
          }
          budget -= childKey.length;
          if (!push({ key: '', path: childPath, value: childKey })) return;
        }
        walk(child, childKey.toLowerCase(), childPath, depth + 1);
      }
    } else {
      over(`they hold a value that is not JSON (${typeof value})`);
    }
  };
  walk(input, '', '', 0);
  return { strings: out, overflow };
}

/** Every string value in the arguments, bounded (see `scanArguments`). */
export function collectStrings(input: unknown): ArgString[] {
  return scanArguments(input).strings;
}

const commandKeys = new Set(['command', 'cmd', 'script', 'shell', 'args', 'argv', 'exec', 'run', 'commands', 'entrypoint']);
const branchKeys = new Set(['branch', 'ref', 'refspec', 'remoteref', 'remote_ref', 'target', 'targetbranch', 'target_branch', 'base', 'head', 'into', 'to']);
const stackKeys = new Set(['stack', 'stackname', 'stack_name', 'environment', 'env', 'target', 'deployment']);
const sqlKeys = new Set(['sql', 'query', 'statement', 'statements', 'ddl']);
const pathKeys = new Set(['path', 'paths', 'file', 'files', 'filepath', 'file_path', 'filename', 'target', 'destination', 'dest', 'to', 'from', 'source', 'directory', 'dir']);
const forceKeys = new Set(['force', 'forcepush', 'force_push', 'forcewithlease', 'force_with_lease']);
const hostKeys = new Set(['onhost', 'on_host', 'runonhost', 'run_on_host', 'host', 'outsidesandbox', 'outside_sandbox', 'nosandbox', 'no_sandbox']);

const normalise = (text: string): string => text.toLowerCase().replace(/\s+/g, ' ').trim();

/** 1. The tool's own declared risk: the floor for every call. */
const declaredRisk: Inspector = {
  name: 'declared-risk',
  inspect: (call) => [{ risk: call.declaredRisk, reason: `${call.tool} is declared ${call.declaredRisk}` }],
};

function branchOf(value: string): string {
  return value.trim().replace(/^\+/, '').replace(/^refs\/heads\//, '').replace(/^(origin|upstream)\//, '');
}

/** 2. Pushes and merges that touch a protected branch, and force flags. */
const protectedBranches: Inspector = {
  name: 'protected-branch',
  inspect: (call, policy, strings) => {
    const findings: Finding[] = [];
    const forced = strings.some((s) => forceKeys.has(s.key) && s.value === 'true');
    for (const s of strings) {
      if (branchKeys.has(s.key) && call.declaredRisk !== 'read-only') {
        // A refspec `src:dst` pushes to dst.
        const destination = branchOf(s.value.includes(':') ? s.value.slice(s.value.lastIndexOf(':') + 1) : s.value);
        const hit = matchesAny(destination, policy.protectedBranches);
        if (hit) {
          findings.push({ risk: forced || s.value.startsWith('+') ? 'critical' : 'high', reason: `writes to the protected branch "${destination.slice(0, 60)}"` });
        }
      }
      if (commandKeys.has(s.key) || s.key === '') {
        for (const match of s.value.matchAll(/git\s+push\b([^;&|\n]*)/gi)) {
          const rest = match[1] ?? '';
          const words = rest.split(/\s+/).filter((word) => word && !word.startsWith('-'));
          const force = /(^|\s)(-f|--force|--force-with-lease)\b/.test(rest) || words.some((word) => word.startsWith('+'));
          const targets = words.slice(1).map((word) => branchOf(word.includes(':') ? word.slice(word.lastIndexOf(':') + 1) : word));
          const hit = targets.find((target) => matchesAny(target, policy.protectedBranches));
          if (hit) findings.push({ risk: force ? 'critical' : 'high', reason: `a command pushes to the protected branch "${hit.slice(0, 60)}"` });
          else findings.push({ risk: force ? 'high' : 'medium', reason: force ? 'a command force-pushes' : 'a command pushes to a remote' });
        }
      }
    }
    if (forced && call.declaredRisk !== 'read-only') findings.push({ risk: 'high', reason: 'asks for a forced operation' });
    return findings;
  },
};

/** 3. Infrastructure: a production stack is critical and needs the admin role. */
const productionStacks: Inspector = {
  name: 'production-stack',
  inspect: (call, policy, strings) => {
    const findings: Finding[] = [];
    for (const s of strings) {
      if (stackKeys.has(s.key)) {
        const stack = s.value.trim().split('/').pop() ?? '';
        const hit = matchesAny(stack, policy.protectedStacks);
        if (hit) findings.push({ risk: 'critical', reason: `targets the production stack "${stack.slice(0, 60)}"`, production: true });
      }
      if (commandKeys.has(s.key)) {
        for (const match of s.value.matchAll(/pulumi\b[^;&|\n]*?(?:--stack|-s)[\s=]+([^\s;&|]+)/gi)) {
          const stack = (match[1] ?? '').split('/').pop() ?? '';
          if (matchesAny(stack, policy.protectedStacks)) {
            findings.push({ risk: 'critical', reason: `a command targets the production stack "${stack.slice(0, 60)}"`, production: true });
          }
        }
        if (/\b(pulumi\s+(up|destroy|refresh|import|state)|terraform\s+(apply|destroy)|kubectl\s+(apply|delete))\b/i.test(s.value)) {
          findings.push({ risk: 'high', reason: 'a command changes infrastructure' });
        }
      }
    }
    void call;
    return findings;
  },
};

/** 4. SQL: DROP and TRUNCATE are critical, schema and permission changes high, unbounded writes high. */
const sqlStatements: Inspector = {
  name: 'sql',
  inspect: (_call, _policy, strings) => {
    const findings: Finding[] = [];
    for (const s of strings) {
      if (!sqlKeys.has(s.key) && !commandKeys.has(s.key)) continue;
      const text = s.value.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
      if (/\b(drop|truncate)\s+(table|schema|database|view|warehouse|stage|user|role)\b/i.test(text) || /\btruncate\b/i.test(text)) {
        findings.push({ risk: 'critical', reason: 'runs a DROP or TRUNCATE' });
      }
      if (/\b(alter|grant|revoke|create\s+or\s+replace)\b/i.test(text)) findings.push({ risk: 'high', reason: 'changes a schema or permissions' });
      for (const statement of text.split(';')) {
        if (/^\s*(delete\s+from|update)\b/i.test(statement) && !/\bwhere\b/i.test(statement)) {
          findings.push({ risk: 'high', reason: 'a DELETE or UPDATE without WHERE' });
        } else if (/^\s*(insert|delete|update|merge|copy\s+into|create)\b/i.test(statement)) {
          findings.push({ risk: 'medium', reason: 'writes data' });
        }
      }
    }
    return findings;
  },
};

/** 5. Shell commands: destruction, privilege, piping downloads into a shell, leaving the sandbox. */
const dangerousCommands: { pattern: RegExp; risk: RiskLevel; reason: string }[] = [
  { pattern: /\brm\s+(-[a-z]*r[a-z]*f|-[a-z]*f[a-z]*r|-r\s+-f|-f\s+-r|--recursive\s+--force|--force\s+--recursive)\b\s*(\/(workspace)?\/?(\s|$|\*)|~|\*|\.\s|\.$|\$home)/i, risk: 'critical', reason: 'deletes the workspace or more (rm -rf)' },
  { pattern: /\brm\s+-[a-z]*r/i, risk: 'high', reason: 'deletes recursively' },
  { pattern: /\b(sudo|su\s|doas)\b/i, risk: 'critical', reason: 'asks for root' },
  { pattern: /\b(mkfs|fdisk|parted|dd\s+if=)/i, risk: 'critical', reason: 'writes a disk or file system' },
  { pattern: /\b(nsenter|chroot|mount|umount|insmod|modprobe)\b|\/var\/run\/docker\.sock|--privileged|\bdocker\s+(run|exec)\b/i, risk: 'critical', reason: 'reaches outside the sandbox' },
  { pattern: /(^|[\s'"=])(\/etc|\/root|\/home|\/usr|\/var|\/proc|\/sys|\/boot|\/dev\/(sd|nvme|disk))\b/i, risk: 'high', reason: 'touches a path outside the workspace' },
  { pattern: /(^|[\s'"/])\.\.\/\.\.\//, risk: 'high', reason: 'climbs out of the workspace (../..)' },
  { pattern: /\bchmod\s+(-r\s+)?[0-7]*7[0-7]{0,2}\b.*\/(\s|$)|\bchown\s+-r\b/i, risk: 'high', reason: 'changes permissions broadly' },
  { pattern: /\bgit\s+(reset\s+--hard|clean\s+-[a-z]*f|branch\s+-d|checkout\s+--\s|filter-branch|update-ref\s+-d)/i, risk: 'high', reason: 'discards git history or work' },
  { pattern: /\b(curl|wget|nc|ncat|scp|rsync|ssh)\b/i, risk: 'medium', reason: 'talks to the network' },
];

/**
 * A download piped into a shell, within one command (between `;`, `&` and newlines). Read
 * in two linear passes: the one-regex form (`curl[^|;&]*\|\s*sh`) backtracks over the whole
 * text at every "curl", which froze the main process for seconds on 200,000 characters.
 */
function pipesDownloadIntoShell(text: string): boolean {
  const download = /\b(curl|wget)\b/i.exec(text);
  if (!download) return false;
  return text
    .slice(download.index)
    .split(/[;&\n]/)
    .some((command) => /\b(curl|wget)\b/i.test(command) && /\|\s*(sudo\s+)?(ba|z|da)?sh\b/i.test(command));
}

const shellCommands: Inspector = {
  name: 'shell-command',
  inspect: (_call, _policy, strings) => {
    const findings: Finding[] = [];
    for (const s of strings) {
      if (pipesDownloadIntoShell(s.value)) {
        findings.push({ risk: 'critical', reason: `pipes a download into a shell${commandKeys.has(s.key) ? '' : ` (in the argument "${s.path.slice(0, 40)}")`}` });
      }
      for (const rule of dangerousCommands) {
        if (rule.pattern.test(s.value)) {
          const where = commandKeys.has(s.key) ? '' : ` (in the argument "${s.path.slice(0, 40)}")`;
          findings.push({ risk: rule.risk, reason: `${rule.reason}${where}` });
        }
      }
      if (hostKeys.has(s.key) && (s.value === 'true' || s.value === 'host')) {
        findings.push({ risk: 'critical', reason: 'asks to run outside the sandbox' });
      }
      if (s.key === 'sandbox' && s.value === 'false') findings.push({ risk: 'critical', reason: 'asks to run outside the sandbox' });
    }
    return findings;
  },
};

/** 6. A command smuggled into an argument that is not a command: a name, a path, a message. */
const contentKeys = new Set(['content', 'contents', 'text', 'body', 'patch', 'diff', 'description', 'code', 'data', 'new_string', 'old_string', 'newtext', 'oldtext', 'replacement']);
const smuggled = /\$\(|`[^`]*`|(;|&&|\|\||\|)\s*(rm|curl|wget|sh|bash|zsh|git|sudo|chmod|chown|dd|mkfs|python3?|node|perl|nc|eval|exec)\b|\n\s*(rm|curl|wget|sudo|git\s+push)\b/i;

const smuggledCommands: Inspector = {
  name: 'smuggled-command',
  inspect: (_call, _policy, strings) => {
    const findings: Finding[] = [];
    for (const s of strings) {
      if (commandKeys.has(s.key) || contentKeys.has(s.key) || sqlKeys.has(s.key)) continue;
      if (smuggled.test(s.value)) findings.push({ risk: 'high', reason: `shell syntax in the argument "${s.path.slice(0, 40)}" could run a command` });
    }
    return findings;
  },
};

/** Workspace-relative form of a path; undefined when it leaves the workspace. */
export function workspacePath(raw: string): string | undefined {
  let value = raw.trim().replace(/\\/g, '/');
  value = value.replace(/^\/workspace(\/|$)/, '');
  if (value.startsWith('/') || value.startsWith('~')) return undefined;
  const parts: string[] = [];
  for (const part of value.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join('/');
}

function protectedHit(relative: string, globs: readonly string[]): string | undefined {
  for (const glob of globs) {
    const directory = glob.endsWith('/**') ? glob.slice(0, -3) : undefined;
    if (matchesAny(relative, [glob])) return glob;
    if (directory !== undefined && relative.toLowerCase() === directory.toLowerCase()) return glob;
  }
  return undefined;
}

/** The tokens of a command that read as workspace paths. */
function commandPaths(command: string): string[] {
  return command.split(/[\s'"=<>|;&()]+/).filter((token) => token !== '' && !token.startsWith('-') && workspacePath(token));
}

/**
 * The path texts of a call that the gate resolves on disk before the inspectors run (links
 * followed): the values under path keys, and the path-like tokens of commands. At most
 * `inspectionLimits.paths`; `overflow` says when there were more.
 */
export function pathCandidates(strings: readonly ArgString[]): { readonly paths: string[]; readonly overflow: boolean } {
  const found = new Set<string>();
  for (const s of strings) {
    if (pathKeys.has(s.key)) found.add(s.value);
    else if (commandKeys.has(s.key)) for (const token of commandPaths(s.value)) found.add(token);
  }
  const paths = [...found];
  return { paths: paths.slice(0, inspectionLimits.paths), overflow: paths.length > inspectionLimits.paths };
}

/** 7. Writes to protected paths: the agent's policy, git's internals, CI configuration; by name and by where links lead. */
const protectedPaths: Inspector = {
  name: 'protected-path',
  inspect: (call, policy, strings) => {
    if (call.declaredRisk === 'read-only') return [];
    const findings: Finding[] = [];
    /** The path as written and, when a link makes it land elsewhere, the real one: either may be protected. */
    const check = (text: string, relative: string, how: string): boolean => {
      const real = call.resolvedPaths?.get(text);
      if (real === null) {
        findings.push({ risk: 'critical', reason: `${how} "${text.slice(0, 60)}", which leads outside the workspace through a link (or through links that cannot be followed)` });
        return true;
      }
      for (const candidate of real === undefined || real === relative ? [relative] : [relative, real]) {
        if (protectedHit(candidate, policy.protectedPaths)) {
          const through = candidate === relative ? '' : ` (through a link at "${relative.slice(0, 60)}")`;
          findings.push({ risk: 'high', reason: `${how} the protected path "${candidate.slice(0, 60)}"${through}`, protectedPath: true });
          return true;
        }
      }
      return false;
    };
    for (const s of strings) {
      if (pathKeys.has(s.key)) {
        const relative = workspacePath(s.value);
        if (relative === undefined) {
          findings.push({ risk: 'critical', reason: `writes outside the workspace ("${s.value.slice(0, 60)}")` });
          continue;
        }
        check(s.value, relative, 'writes');
      } else if (commandKeys.has(s.key)) {
        for (const token of commandPaths(s.value)) {
          const relative = workspacePath(token);
          if (relative && check(token, relative, 'a command touches')) break;
        }
      }
    }
    return findings;
  },
};

/** 8. The policy's never-allowed commands: refused outright. */
const neverAllowed: Inspector = {
  name: 'never-allowed',
  inspect: (_call, policy, strings) => {
    const findings: Finding[] = [];
    const fragments = policy.neverAllowCommands.map(normalise).filter(Boolean);
    for (const s of strings) {
      const text = normalise(s.value);
      const hit = fragments.find((fragment) => {
        const at = text.indexOf(fragment);
        if (at < 0) return false;
        // "rm -rf /" must not match "rm -rf /workspace/build": the fragment ends at a word edge.
        const next = text[at + fragment.length];
        return next === undefined || !/[\w/-]/.test(next);
      });
      if (hit) findings.push({ risk: 'critical', reason: `"${hit.slice(0, 60)}" is never allowed by the policy`, neverAllowed: true });
    }
    return findings;
  },
};

/**
 * What a call asks for beyond its sandbox: network egress (`egress`: host:port pairs) and run
 * secrets (`secrets`: names), read from the top level of its arguments whatever the tool.
 * The approval card names each; undefined when the call asks for neither.
 */
export function sandboxGrants(input: unknown): { readonly hosts: string[]; readonly secrets: string[] } | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const record = input as Record<string, unknown>;
  const list = (value: unknown): string[] | undefined => (value === undefined ? undefined : Array.isArray(value) ? value.map((item) => String(item)) : [String(value)]);
  const hosts = list(record['egress']);
  const secrets = list(record['secrets']);
  if ((hosts === undefined || hosts.length === 0) && (secrets === undefined || secrets.length === 0)) return undefined;
  return { hosts: hosts ?? [], secrets: secrets ?? [] };
}

/**
 * 10. Egress and run secrets: a sandboxed run that may reach hosts outside, or gets a
 * credential, can send the workspace (or the credential) anywhere its granted hosts accept
 * it. At least high: the person reads the hosts and names on the card, every time.
 */
const sandboxGrantsInspector: Inspector = {
  name: 'sandbox-grants',
  inspect: (call) => {
    const grants = sandboxGrants(call.input);
    if (!grants) return [];
    const findings: Finding[] = [];
    if (grants.hosts.length > 0) findings.push({ risk: 'high', reason: `opens network egress to ${grants.hosts.slice(0, 8).join(', ').slice(0, 150)}` });
    if (grants.secrets.length > 0) findings.push({ risk: 'high', reason: `gives the command the run secret${grants.secrets.length > 1 ? 's' : ''} ${grants.secrets.slice(0, 8).join(', ').slice(0, 150)}` });
    return findings;
  },
};

export const defaultInspectors: readonly Inspector[] = [
  declaredRisk,
  protectedBranches,
  productionStacks,
  sqlStatements,
  shellCommands,
  smuggledCommands,
  protectedPaths,
  neverAllowed,
  secretFiles,
  sandboxGrantsInspector,
];

/** Runs every inspector; the strictest finding wins. An inspector that throws makes the call critical. */
export function assess(call: InspectedCall, policy: Policy, inspectors: readonly Inspector[] = defaultInspectors): Assessment {
  const { strings, overflow } = scanArguments(call.input);
  const findings: Finding[] = [];
  if (call.resolvedPaths !== undefined && pathCandidates(strings).overflow) {
    findings.push({ risk: 'critical', reason: `not fully inspected: the call names more than ${inspectionLimits.paths} paths, more than the safety checks follow on disk` });
  }
  if (overflow !== undefined) {
    // Fail closed: what the inspectors did not read could hold anything, so no policy, pin or grant spares the card.
    findings.push({ risk: 'critical', reason: `not fully inspected: the arguments are larger than the safety checks read (${overflow}); read all of them before approving` });
  }
  for (const inspector of inspectors) {
    try {
      findings.push(...inspector.inspect(call, policy, strings));
    } catch (error) {
      findings.push({ risk: 'critical', reason: `the ${inspector.name} inspector failed (${error instanceof Error ? error.message.slice(0, 80) : 'error'})` });
    }
  }
  const risk = maxRisk(call.declaredRisk, ...findings.map((finding) => finding.risk));
  const protectedPath = findings.some((finding) => finding.protectedPath === true);
  // The reasons that set the level come first.
  const ordered = [...findings].sort((a, b) => riskRank(b.risk) - riskRank(a.risk));
  const reasons = [...new Set(ordered.map((finding) => finding.reason))].slice(0, 12);
  return {
    risk: protectedPath ? maxRisk(risk, 'high') : risk,
    reasons,
    production: findings.some((finding) => finding.production === true),
    protectedPath,
    neverAllowed: findings.some((finding) => finding.neverAllowed === true),
  };
}
