/**
 * The one contract between the main process and the renderer. Every request channel
 * with its input and output schema, and every event the main process pushes. The main
 * process validates every input against it; the preload and the browser host derive
 * their facades from it. A channel name is written here and nowhere else.
 */
import { z } from 'zod';
import { codeLimits, findingsReport, proposalAnswer, proposalView, workspaceRelativePath } from './code';
import { metricsQuery, metricsReport } from './metrics';
import type { Result } from './errors';
import { hooksConfig, hooksListing } from './hooks';
import { intent } from './intents';
import { logSource, logSourceList } from './logSources';
import { mcpPin, outsideMcpServer, outsideServerId, outsideToolName } from './mcp';
import { infraStateView, memoryEntryView, memoryListOutput, memoryRemoveInput, memoryUpdateInput } from './memory';
import { toolOutputLimits } from './toolOutput';

/** Bounds that keep a hostile payload from costing memory or time. */
export const limits = {
  id: 64,
  messageText: 100_000,
  label: 200,
  outputChunk: 64 * 1024,
  command: 8 * 1024,
  notice: 2000,
} as const;

const id = z.string().min(1).max(limits.id).regex(/^[A-Za-z0-9_-]+$/, 'ids are letters, digits, _ and -');
const label = z.string().max(limits.label);
const timestamp = z.number().int().nonnegative();
const empty = z.object({}).strict();

export const riskLevels = ['read-only', 'low', 'medium', 'high', 'critical'] as const;
export const riskLevel = z.enum(riskLevels);
export type RiskLevel = z.infer<typeof riskLevel>;

/** Roles, least to most privileged: viewer (read-only tools), developer, admin (production, with approval). */
export const roleNames = ['viewer', 'developer', 'admin'] as const;
export const roleName = z.enum(roleNames);
export type RoleName = z.infer<typeof roleName>;

/** A policy line that was not applied: a parse error, or a layer trying to loosen a stricter one. */
export const policyNotice = z.object({
  layer: z.enum(['default', 'user', 'workspace', 'managed']),
  source: z.string().max(4096),
  line: z.number().int().positive().optional(),
  key: label.optional(),
  message: z.string().max(2000),
  /** True when the line was valid but looser than a stricter layer allows. */
  ignored: z.boolean().optional(),
});
export type PolicyNotice = z.infer<typeof policyNotice>;

export const safetyStatus = z.object({
  role: roleName,
  maxRole: roleName,
  approvalThreshold: riskLevel,
  keychain: z.object({ available: z.boolean(), message: z.string().max(2000) }),
  /** Whether the audit log's head is signed now; without the keychain it is not, and the UI says so. */
  audit: z.object({ signed: z.boolean(), message: z.string().max(2000) }),
  notices: z.array(policyNotice),
});
export type SafetyStatus = z.infer<typeof safetyStatus>;

/** Credentials kept in the OS keychain. Their values go in, never back out to a renderer. */
export const secretNames = [
  'anthropic-api-key',
  /** The bearer key of an OpenAI-compatible server (OpenAI, Azure OpenAI, LiteLLM...); local servers need none. */
  'openai-api-key',
  /** A Snowflake programmatic access token, the bearer for Cortex's Chat Completions API. */
  'snowflake-cortex-token',
  'github-token',
  'snowflake-password',
  'snowflake-private-key',
  'pulumi-access-token',
  'pulumi-config-passphrase',
  /** Headers for the OTLP telemetry endpoint, `Name=value,Name2=value2` (an API key, say). */
  'otlp-headers',
] as const;
export const secretName = z.enum(secretNames);
/** A run secret's name: the environment variable a sandboxed command sees it as. */
export const runSecretName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/, 'A run secret name is capitals, digits and _, starting with a letter or _ (say NOTION_TOKEN).');
export type SecretName = z.infer<typeof secretName>;

export const auditKinds = [
  'request',
  'model.call',
  'tool.call',
  'approval',
  'refusal',
  'container',
  'git',
  'infrastructure',
  'stop',
  'resume',
  'secret',
  'policy',
  'audit',
  /** A conversation deleted by the person. */
  'conversation',
  /** A hook command run (UserPromptSubmit, PreToolUse, PostToolUse, Stop): its source, outcome, exit code, duration. */
  'hook.run',
  /** A memory entry kept, edited or deleted. */
  'memory',
  /** A connection through a sandboxed run's egress proxy, allowed or refused. */
  'egress',
] as const;
export const auditKind = z.enum(auditKinds);
export type AuditKind = z.infer<typeof auditKind>;

export const auditEntryView = z.object({
  seq: z.number().int().positive(),
  at: timestamp,
  kind: auditKind,
  conversationId: z.string().max(limits.id).nullable(),
  risk: riskLevel.nullable(),
  actor: label,
  summary: z.string().max(2000),
  data: z.string().max(limits.outputChunk),
  hash: z.string().max(128),
});
export type AuditEntryView = z.infer<typeof auditEntryView>;

export const auditVerifyResult = z.object({
  ok: z.boolean(),
  entries: z.number().int().nonnegative(),
  headSigned: z.boolean(),
  firstBad: z.object({ seq: z.number().int().nonnegative(), reason: z.string().max(2000) }).optional(),
  message: z.string().max(2000),
});
export type AuditVerifyResult = z.infer<typeof auditVerifyResult>;

/** A tool call waiting for a human: what it does, how risky and why, and what it would change. */
export const approvalRequestEvent = z.object({
  type: z.literal('approval.request'),
  approvalId: id,
  conversationId: id,
  operation: label,
  risk: riskLevel,
  reasons: z.array(label),
  preview: z.string().max(limits.messageText),
  tool: label,
  /** The call's arguments as JSON, for Modify. */
  args: z.string().max(limits.messageText),
  /** Whether "approve for this session" is offered: low risk, no protected path, allowed by policy. */
  sessionApproval: z.boolean(),
  expiresAt: timestamp,
  /** The tool call asked about (unique within the conversation): what ties an edit's card to its proposal. */
  callId: id,
  /** Who asked from outside: an MCP client, by the name it gave in `initialize`. Absent: the agent, in `conversationId`. */
  client: label.optional(),
  /**
   * An edit (a proposal): shown and answered in the diff panel only. The card summarises it
   * with these counts and points to the panel; it offers no approve of its own.
   */
  edit: z
    .array(z.object({ path: z.string().max(codeLimits.path), added: z.number().int().nonnegative(), removed: z.number().int().nonnegative(), isNew: z.boolean() }))
    .max(codeLimits.filesPerProposal)
    .optional(),
  /**
   * What a sandboxed command is granted beyond its sandbox, named on the card: network egress
   * to these host:port pairs, and these run secrets as environment variables (names only).
   */
  grants: z.object({ hosts: z.array(label).max(8), secrets: z.array(label).max(8) }).optional(),
});
export type ApprovalRequest = z.infer<typeof approvalRequestEvent>;

export const chatRole = z.enum(['user', 'assistant', 'system']);

/**
 * What a notice is about, so the chat can offer the action that fixes it: a missing or
 * refused key (Credentials & role), a model setting the server refused (Settings), a model
 * server that could not be reached or answered with an error (Retry, Settings), Docker not
 * running (Retry, which checks Docker again).
 */
export const noticeKinds = ['credentials', 'model-settings', 'model-unreachable', 'docker'] as const;
export const noticeKind = z.enum(noticeKinds);
export type NoticeKind = z.infer<typeof noticeKind>;

export const chatMessage = z.object({
  id,
  conversationId: id,
  role: chatRole,
  text: z.string().max(limits.messageText),
  createdAt: timestamp,
  /** A system notice's kind; absent for plain information. */
  notice: noticeKind.optional(),
});
export type ChatMessage = z.infer<typeof chatMessage>;

export const stoppedItem = z.object({
  /** `engine`: a whole sandbox engine (Settings → Engines), reported when the stop could not reach it. */
  kind: z.enum(['model-stream', 'approval', 'container', 'deployment', 'ddl', 'task', 'engine']),
  id: label,
  label,
  /** `unreachable`: a remote engine that did not answer the stop in time; its containers may still run. */
  outcome: z.enum(['stopped', 'already-ended', 'stuck', 'unreachable']),
});
export type StoppedItem = z.infer<typeof stoppedItem>;

export const stopReport = z.object({
  at: timestamp,
  stopped: z.array(stoppedItem),
});
export type StopReport = z.infer<typeof stopReport>;

export const appStatus = z.object({
  version: label,
  host: z.enum(['electron', 'browser']),
  platform: label,
  locked: z.boolean(),
  model: z.object({ provider: z.enum(['none', 'anthropic', 'openai', 'cortex', 'ollama']), name: label, offline: z.boolean() }),
  /** The open workspace folder, shown in the status bar; absent when none is open. */
  workspace: z.string().max(4096).optional(),
  /** Outside-system clients loading on their first use, when that is taking a while (`snowflake-sdk`). */
  loading: z.array(label).max(20).optional(),
});
export type AppStatus = z.infer<typeof appStatus>;

/**
 * The Docker sandbox, as the renderer sees it. `message` says in plain words what is
 * wrong and how to fix it (for example how to start Docker).
 */
export const sandboxStates = ['checking', 'docker-unavailable', 'image-missing', 'building-image', 'ready', 'failed'] as const;
export const sandboxStatus = z.object({
  state: z.enum(sandboxStates),
  message: z.string().max(limits.notice),
  image: label,
  pool: z.object({ size: z.number().int().nonnegative(), warm: z.number().int().nonnegative() }),
  containers: z.number().int().nonnegative(),
});
export type SandboxStatus = z.infer<typeof sandboxStatus>;

export const planStepStatuses = ['pending', 'done', 'failed'] as const;
export const planStep = z.object({ text: z.string().trim().min(1).max(limits.label), status: z.enum(planStepStatuses) });
export type PlanStep = z.infer<typeof planStep>;

export const usage = z.object({
  /** Uncached input tokens. */
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  /** Input tokens read from, and written to, the model's prompt cache (priced apart). */
  cacheReadTokens: z.number().int().nonnegative().optional(),
  cacheWriteTokens: z.number().int().nonnegative().optional(),
  /** The cost of the priced calls. */
  costUsd: z.number().nonnegative(),
  /** Model calls whose model has no price in the table: the total is then "price unknown", not $0. */
  unpricedCalls: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof usage>;

export const conversationSummary = z.object({
  id,
  title: z.string().max(limits.label),
  createdAt: timestamp,
  updatedAt: timestamp,
  usage,
});
export type ConversationSummary = z.infer<typeof conversationSummary>;

/** One changed file of the workspace's git repository, HEAD against the working tree and index. */
export const gitFileChange = z.object({
  path: z.string().max(4096),
  change: z.enum(['added', 'modified', 'deleted', 'untracked']),
  /** The index differs from HEAD for this file (part of it is staged). */
  staged: z.boolean(),
});
export type GitFileChange = z.infer<typeof gitFileChange>;

export const gitStatus = z.object({
  /** False when the workspace is not a git repository (or none is open). */
  repository: z.boolean(),
  branch: label.nullable(),
  head: z.string().max(64).nullable(),
  files: z.array(gitFileChange),
  ahead: z.number().int().nonnegative(),
  behind: z.number().int().nonnegative(),
  /** The remote-tracking branch ahead/behind count against, e.g. `origin/feature/x`. */
  upstream: label.nullable(),
  /** The repository's remotes by name (`origin`); empty when it has none, so nothing can be pushed yet. */
  remotes: z.array(label).max(50),
});
export type GitStatus = z.infer<typeof gitStatus>;

/** A recorded state of the workspace, taken before a change was applied. */
export const checkpointView = z.object({
  id,
  conversationId: id,
  /** 1 for the conversation's first checkpoint. */
  step: z.number().int().positive(),
  label,
  at: timestamp,
});
export type CheckpointView = z.infer<typeof checkpointView>;

export const pullRequestView = z.object({
  number: z.number().int().positive(),
  url: z.string().max(2000),
  title: z.string().max(limits.label),
  head: label,
  base: label,
  state: z.enum(['open', 'closed', 'merged']),
});
export type PullRequestView = z.infer<typeof pullRequestView>;

/** What a deployment does: Pulumi's preview, update, refresh and rollback; Snowflake DDL. */
export const deploymentPhases = ['preview', 'update', 'destroy', 'rollback', 'refresh', 'ddl'] as const;
export type DeploymentPhase = (typeof deploymentPhases)[number];

export const deploymentCounts = z.object({
  create: z.number().int().nonnegative(),
  update: z.number().int().nonnegative(),
  delete: z.number().int().nonnegative(),
  replace: z.number().int().nonnegative(),
  same: z.number().int().nonnegative(),
});
export type DeploymentCounts = z.infer<typeof deploymentCounts>;

/** One resource of a plan or a running update. `op` is the engine's own (create, update, replace, delete, same, refresh...). */
export const deploymentStep = z.object({
  urn: z.string().max(2000),
  type: label,
  name: label,
  op: z.string().max(40),
  status: z.enum(['planned', 'running', 'done', 'failed']),
  /** The properties that change. */
  diffs: z.array(label).max(100),
  durationMs: z.number().nonnegative().optional(),
  message: z.string().max(limits.notice).optional(),
});
export type DeploymentStep = z.infer<typeof deploymentStep>;

/** The estimated monthly cost change, from the user's pricing table; `monthlyDelta` is null when nothing changed has a price. */
export const costEstimate = z.object({
  currency: z.string().max(10),
  monthlyDelta: z.number().nullable(),
  /** Resource types that change but have no price: the estimate leaves them out and says so. */
  unpriced: z.array(label).max(100),
  text: z.string().max(limits.notice),
});
export type CostEstimate = z.infer<typeof costEstimate>;

export const deploymentPlan = z.object({
  deploymentId: id,
  phase: z.enum(deploymentPhases),
  target: label,
  at: timestamp,
  counts: deploymentCounts,
  /** "+15 to create, ~3 to update". */
  summary: z.string().max(limits.notice),
  steps: z.array(deploymentStep).max(1000),
  cost: costEstimate.nullable(),
  diagnostics: z.array(z.string().max(limits.notice)).max(50),
});
export type DeploymentPlan = z.infer<typeof deploymentPlan>;

/** `openai`: any OpenAI-compatible Chat Completions server; `cortex`: Snowflake Cortex, a preset of it. */
export const providerIds = ['anthropic', 'openai', 'cortex', 'ollama'] as const;

/** Where the common OpenAI-compatible servers listen by default, offered in Settings (any address may be typed). */
export const openAiCompatibleServers: readonly { readonly label: string; readonly baseUrl: string }[] = [
  { label: 'OpenAI', baseUrl: 'https://api.openai.com/v1' },
  { label: 'Azure OpenAI (your resource)', baseUrl: 'https://RESOURCE.openai.azure.com/openai/v1' },
  { label: 'vLLM', baseUrl: 'http://127.0.0.1:8000/v1' },
  { label: 'LM Studio', baseUrl: 'http://127.0.0.1:1234/v1' },
  { label: "llama.cpp's server", baseUrl: 'http://127.0.0.1:8080/v1' },
  { label: 'LiteLLM proxy', baseUrl: 'http://127.0.0.1:4000/v1' },
];

/**
 * Models Snowflake Cortex's Chat Completions API offers, from Snowflake's "Model availability"
 * page and release notes (read 2026-12-02). What an account may use depends on its region and
 * cross-region setting (`SHOW CORTEX BASE MODELS`); any name may be typed.
 */
export const cortexModels = [
  'claude-sonnet-4-5',
  'claude-opus-4-7',
  'claude-haiku-5-5',
  'openai-gpt-6-astra',
  'openai-gpt-5.6-sol',
  'openai-gpt-5.6-luna',
  'openai-gpt-5.6-terra',
  'llama3.1-70b',
] as const;
/** How hard the model thinks (Anthropic's effort); 'default' sends none and the model's own default applies. */
export const effortSettings = ['default', 'low', 'medium', 'high', 'xhigh', 'max'] as const;
export type EffortSetting = (typeof effortSettings)[number];
const modelName = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._:/-]+$/, 'a model name is letters, digits and . _ : / -');
export const snowflakeEnvironments = ['staging', 'production'] as const;
export type SnowflakeEnvironment = (typeof snowflakeEnvironments)[number];
const snowflakeName = z.string().trim().max(255).regex(/^[A-Za-z0-9_.$"-]*$/, 'a Snowflake identifier');
/** One Snowflake connection; an empty account means the environment is not configured. */
export const snowflakeConnection = z.object({
  account: z.string().trim().max(255).regex(/^[A-Za-z0-9_.-]*$/, 'an account identifier such as myorg-myaccount'),
  username: snowflakeName,
  warehouse: snowflakeName,
  database: snowflakeName,
  schema: snowflakeName,
  role: snowflakeName,
  /** Overrides the address derived from the account (PrivateLink, a proxy); empty by default. */
  accessUrl: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(500)]),
});
export type SnowflakeConnection = z.infer<typeof snowflakeConnection>;

/** A host name, or `*.` and a host name for its subdomains: lower case, no scheme, port or path. */
export const externalLinkHost = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a host name such as docs.example.com, or *.example.com');

/**
 * The sandbox's size and image. Each field has an environment variable that, when set,
 * overrides it (`sandboxVariables`); the sandbox service reads them when Sophia starts.
 */
export const sandboxSettings = z.object({
  /** An image to use instead of building the default one; empty: the default, built on this machine. */
  image: z.union([z.literal(''), z.string().trim().max(200).regex(/^[a-z0-9][a-z0-9._/:@-]*$/, 'an image name such as sophia-sandbox:custom or registry.example.com/team/image:1')]),
  /** Warm containers kept ready; 0 turns the pool off. */
  poolSize: z.number().int().min(0).max(8),
  memoryMb: z.number().int().min(64).max(8192),
  cpus: z.number().min(0.1).max(4),
  pids: z.number().int().min(32).max(4096),
  /** The Debian mirror the default image is built from; empty: the one apt uses here. */
  debianMirror: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(500)]),
});
export type SandboxSettings = z.infer<typeof sandboxSettings>;
export const sandboxSettingFields = ['image', 'poolSize', 'memoryMb', 'cpus', 'pids', 'debianMirror'] as const satisfies readonly (keyof SandboxSettings)[];
/** The environment variable that overrides each sandbox setting. */
export const sandboxVariables: Readonly<Record<keyof SandboxSettings, string>> = {
  image: 'SOPHIA_SANDBOX_IMAGE',
  poolSize: 'SOPHIA_SANDBOX_POOL_SIZE',
  memoryMb: 'SOPHIA_SANDBOX_MEMORY_MB',
  cpus: 'SOPHIA_SANDBOX_CPUS',
  pids: 'SOPHIA_SANDBOX_PIDS',
  debianMirror: 'SOPHIA_DEBIAN_MIRROR',
};

/**
 * Where sandboxes run (Settings → Engines). `local` is the default socket; `tls` a Docker engine
 * over TCP with mutual TLS (CA, client certificate and key in the keychain as
 * `engine-<id>-ca`, `engine-<id>-cert`, `engine-<id>-key`, never in a file Sophia writes);
 * `ssh` a Docker engine reached as `ssh://user@host[:port]` (through the SSH agent, or a key in
 * the keychain as `engine-<id>-ssh-key`), its host key pinned by SHA-256 fingerprint when the
 * profile is checked; `podman` Podman's Docker-compatible API socket. Every engine but `local`
 * gets the workspace as an archive, never a bind mount.
 */
export const engineKinds = ['local', 'tls', 'ssh', 'podman'] as const;
export const engineId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, '1-32 lower-case letters, digits and -');
export const engineProfile = z
  .object({
    id: engineId,
    name: z.string().trim().min(1).max(80),
    kind: z.enum(engineKinds),
    /** tls: the engine's host name or IP address; ssh: the host. */
    host: z.string().trim().max(253).regex(/^[A-Za-z0-9.:-]*$/, 'a host name or IP address').optional(),
    /** tls: default 2376; ssh: default 22. */
    port: z.number().int().min(1).max(65535).optional(),
    /** ssh: the user to log in as. */
    user: z.string().trim().max(64).regex(/^[a-z_][a-z0-9_.-]*$/i, 'a user name').optional(),
    /** ssh: the SSH agent (SSH_AUTH_SOCK) or the key kept in the keychain. */
    sshAuth: z.enum(['agent', 'key']).optional(),
    /** ssh: the host key's `SHA256:...` fingerprint, pinned when the profile was checked and saved. */
    hostKey: z.string().max(100).regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'SHA256:<43 base64 characters>').optional(),
    /** podman (and local): the API socket's path; local default /var/run/docker.sock. */
    socketPath: z.string().max(4096).optional(),
  })
  .strict();
export type EngineProfile = z.infer<typeof engineProfile>;
export type EngineKind = EngineProfile['kind'];

/** The implicit profile of this machine's own socket: never stored, always there. */
export const localEngineId = 'local';
export const engineLimits = {
  profiles: 16,
  /** One PEM or OpenSSH text (a CA bundle may hold a few certificates). */
  materialChars: 64 * 1024,
} as const;

/**
 * The stored engine profiles: at most 16, ids unique, and never `local` (this machine's
 * socket is implicit, so a stored `local` could not be told apart from it).
 */
export const engineProfileList = z
  .array(engineProfile)
  .max(engineLimits.profiles)
  .refine((profiles) => new Set(profiles.map((profile) => profile.id)).size === profiles.length, 'engine ids are unique')
  .refine((profiles) => profiles.every((profile) => profile.id !== localEngineId), '"local" is this machine\'s engine and is not stored');

/**
 * Key and certificate material for a profile, as text the person pasted: written to the
 * keychain (`engine-<id>-ca|cert|key|ssh-key`) and never sent back. tls: `ca`, `cert`, `key`
 * (PEM); ssh with `sshAuth: 'key'`: `sshKey` (OpenSSH or PEM, without a passphrase).
 */
export const engineMaterialFields = ['ca', 'cert', 'key', 'sshKey'] as const;
export type EngineMaterialField = (typeof engineMaterialFields)[number];
const engineMaterialText = z.string().min(1).max(engineLimits.materialChars);
export const engineMaterial = z
  .object({ ca: engineMaterialText.optional(), cert: engineMaterialText.optional(), key: engineMaterialText.optional(), sshKey: engineMaterialText.optional() })
  .strict();
export type EngineMaterial = z.infer<typeof engineMaterial>;
/** The keychain account each field is kept under. */
export function engineMaterialAccount(id: string, field: EngineMaterialField): string {
  return `engine-${id}-${field === 'sshKey' ? 'ssh-key' : field}`;
}

/** What checking an engine found, in plain words when it failed. */
export const engineCheck = z.object({
  ok: z.boolean(),
  message: z.string().max(limits.notice),
  /** The engine's version (`docker version`'s Server.Version, or Podman's). */
  version: z.string().max(100).optional(),
  /** The API version the client and the engine agreed on. */
  apiVersion: z.string().max(20).optional(),
  os: z.string().max(100).optional(),
  arch: z.string().max(100).optional(),
  /** The median round-trip of `GET /_ping`, in milliseconds. */
  rttMs: z.number().nonnegative().optional(),
  /** Whether a container with the sandbox's hardening (read-only root, no capabilities, no network, limits) ran there. */
  hardened: z.boolean().optional(),
  /** ssh: the `SHA256:...` fingerprint of the host key the server presented, for the person to confirm. */
  hostKey: z.string().max(100).optional(),
});
export type EngineCheckView = z.infer<typeof engineCheck>;

/** One engine in Settings → Engines: its profile and which material the keychain holds (never the values). */
export const engineView = z.object({
  profile: engineProfile,
  material: z.object({ ca: z.boolean(), cert: z.boolean(), key: z.boolean(), sshKey: z.boolean() }),
});
export type EngineView = z.infer<typeof engineView>;
export const engineListView = z.object({
  keychain: z.object({ available: z.boolean(), message: z.string().max(2000) }),
  /** The engine tasks run on: `local` or a stored profile's id. */
  active: engineId,
  /** This machine first (implicit, id `local`), then the stored profiles. */
  engines: z.array(engineView).max(engineLimits.profiles + 1),
});
export type EngineListView = z.infer<typeof engineListView>;

/**
 * OpenTelemetry export (Settings → Telemetry): off by default. The headers live in the
 * keychain (`otlp-headers`); content is sent only when `captureContent` is on.
 */
export const telemetrySettings = z.object({
  enabled: z.boolean(),
  /** The OTLP/HTTP base address, e.g. http://localhost:4318 (`/v1/traces` and `/v1/metrics` are added). */
  endpoint: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(500)]),
  /** Prompt and completion text, tool arguments and results go out too (keychain values still cut). */
  captureContent: z.boolean(),
});
export type TelemetrySettings = z.infer<typeof telemetrySettings>;

/** What the telemetry exporter has done since start. */
export const telemetryStatus = z.object({
  enabled: z.boolean(),
  /** The OpenTelemetry SDK is loaded (it is only once a turn ran with telemetry on). */
  loaded: z.boolean(),
  exportedSpans: z.number().int().nonnegative(),
  exportedMetricBatches: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
  lastFailure: z.string().max(400).optional(),
  lastFailureAt: z.number().int().nonnegative().optional(),
});
export type TelemetryStatus = z.infer<typeof telemetryStatus>;

/**
 * A workspace whose own sandbox image the person chose to build (Settings → Sandbox): its
 * `Dockerfile` or its `.devcontainer/devcontainer.json`. Pinned to that folder: opening
 * another workspace never builds its files.
 */
export const workspaceImageSources = ['dockerfile', 'devcontainer'] as const;
export const workspaceImageChoice = z.object({ workspace: z.string().min(1).max(4096), source: z.enum(workspaceImageSources) }).strict();
export type WorkspaceImageChoice = z.infer<typeof workspaceImageChoice>;

/** What a workspace's Dockerfile or devcontainer.json would build, as Settings shows it before the choice. */
export const workspaceImagePlanView = z.object({
  source: z.enum(workspaceImageSources),
  file: label,
  /** Why it cannot be used (not there, malformed, outside the workspace…). */
  error: z.string().max(limits.notice).optional(),
  image: label.optional(),
  dockerfile: label.optional(),
  context: label.optional(),
  target: label.optional(),
  baseImages: z.array(label).max(20),
  args: z.array(label).max(100),
  /** containerEnv's names (values are not shown: they may be long). */
  containerEnv: z.array(label).max(100),
  ignored: z.array(label).max(100),
  /** The tag it would have now, and whether that image is built. */
  tag: label.optional(),
  built: z.boolean(),
});
export type WorkspaceImagePlanView = z.infer<typeof workspaceImagePlanView>;

/** Settings the user changes; secrets are not among them (they live in the OS keychain). */
export const appSettings = z.object({
  provider: z.enum(providerIds),
  anthropicModel: modelName,
  /**
   * The Anthropic API's address for a gateway (LiteLLM) or a company proxy; empty means the
   * ANTHROPIC_BASE_URL environment variable, else Anthropic itself.
   */
  anthropicBaseUrl: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(500)]),
  anthropicEffort: z.enum(effortSettings),
  ollamaHost: z.url({ protocol: /^https?$/ }).max(200),
  ollamaModel: modelName,
  /** An OpenAI-compatible Chat Completions API: OpenAI, Azure OpenAI (`.../openai/v1`), vLLM, LM Studio, llama.cpp, LiteLLM. */
  openaiBaseUrl: z.url({ protocol: /^https?$/ }).max(500),
  openaiModel: modelName,
  /** The Snowflake account whose Cortex serves the model (`myorg-myaccount`); the address is derived from it. */
  cortexAccount: z.string().trim().max(255).regex(/^[A-Za-z0-9_.-]*$/, 'an account identifier such as myorg-myaccount'),
  cortexModel: modelName,
  /** The folder the agent works on; empty when none is open. */
  workspace: z.string().max(4096),
  /** Commit author; empty falls back to the repository's own user.name / user.email. */
  gitAuthorName: z.string().trim().max(200),
  gitAuthorEmail: z.union([z.literal(''), z.email().max(320)]),
  /** Where pushes go (HTTPS); empty means the repository's `origin`. */
  gitRemoteUrl: z.string().trim().max(2000),
  /** `owner/name` on GitHub; empty means read from the remote URL. */
  githubRepository: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name').max(200)]),
  /** The GitHub REST API (GitHub Enterprise has its own). */
  githubApiUrl: z.url({ protocol: /^https?$/ }).max(200),
  /** The Pulumi project's folder, relative to the workspace ('' is the workspace itself). */
  pulumiProjectDir: z.string().trim().max(1000).refine((value) => !value.startsWith('/') && !value.split(/[\\/]/).includes('..'), 'a folder inside the workspace'),
  /** Where Pulumi keeps state (`file://...`, `s3://...`, `https://api.pulumi.com`); empty means the CLI's own login. */
  pulumiBackendUrl: z.string().trim().max(2000),
  /** A Snowflake connection per environment; the password or private key is in the keychain. */
  snowflake: z.object({ staging: snowflakeConnection, production: snowflakeConnection }),
  /** Outside MCP servers whose tools the agent may use, behind the approval gate. */
  mcpServers: z.array(outsideMcpServer).max(20),
  /** Outside tools the person allowed without asking, per workspace, pinned to their definition's hash. */
  mcpPins: z.array(mcpPin).max(500),
  /** Hosts whose https links open in the system browser (`docs.example.com`, or `*.example.com` for its subdomains); any other link is refused. */
  externalLinkHosts: z.array(externalLinkHost).max(100),
  /** The Docker sandbox's limits, pool and image (environment variables override them). */
  sandbox: sandboxSettings,
  /** Log sources the agent may read with read_logs; changed only through the logSources.* channels (checked, audited). */
  logSources: logSourceList,
  /** OpenTelemetry export; off by default. */
  telemetry: telemetrySettings,
  /** Workspaces whose own Dockerfile or devcontainer.json gives their sandbox image (the person's explicit choice). */
  sandboxWorkspaceImages: z.array(workspaceImageChoice).max(100),
  /** Engine profiles besides this machine's socket; changed only through the engines.* channels (checked before saving, audited). */
  engines: engineProfileList,
  /** The engine tasks run on: `local` or a stored profile's id (one that is not falls back to `local`). */
  activeEngine: engineId,
});
export type AppSettings = z.infer<typeof appSettings>;

/** Settings the Settings form saves. Outside MCP servers and pins, log sources and engines change only through their own channels (checked, audited). */
export const settingsInput = appSettings.omit({ mcpServers: true, mcpPins: true, logSources: true, engines: true, activeEngine: true }).partial().strict();

/** One tool of an outside server, as the Settings panel shows it. */
export const outsideToolView = z.object({
  /** The registry name (`mcp_<server>_<tool>`): what the agent calls and what a pin names. */
  name: outsideToolName,
  /** The name on the outside server. */
  remoteName: z.string().max(128),
  /** The server's own description: an untrusted hint, shown as text. */
  description: z.string().max(4000),
  risk: riskLevel,
  /** Allowed without asking in the open workspace, for this exact definition. */
  pinned: z.boolean(),
  /** Whether Pin is offered: only up to medium risk, and only with a workspace open. */
  pinOffered: z.boolean(),
});
export type OutsideToolView = z.infer<typeof outsideToolView>;

export const outsideServerStates = ['connecting', 'connected', 'error'] as const;

/** An outside server from Settings, whether Sophia reached it (in plain words when not) and its tools. */
export const outsideServerView = z.object({
  server: outsideMcpServer,
  state: z.enum(outsideServerStates),
  /** Empty when connected; otherwise what went wrong and what to check. */
  message: z.string().max(2000),
  tools: z.array(outsideToolView).max(100),
});
export type OutsideServerView = z.infer<typeof outsideServerView>;

export const outsideServersView = z.object({
  /** The workspace pins apply to; empty when none is open (then nothing can be pinned). */
  workspace: z.string().max(4096),
  servers: z.array(outsideServerView).max(20),
});
export type OutsideServersView = z.infer<typeof outsideServersView>;

/** One item of the first-run checklist: done, or what to do in plain words. */
export const setupItem = z.object({ ok: z.boolean(), message: z.string().max(limits.notice) });
export type SetupItem = z.infer<typeof setupItem>;

/** The first-run checklist's items the main process judges (the sandbox has its own status and events). */
export const setupStatus = z.object({
  /** Nothing saved yet and no conversation: the checklist opens by itself. */
  firstRun: z.boolean(),
  model: setupItem,
  workspace: setupItem,
  keychain: setupItem,
});
export type SetupStatus = z.infer<typeof setupStatus>;

/** One page of the host's folders, for the browser-mode folder picker: names of directories only. */
export const folderListing = z.object({
  /** The folder listed, absolute, links resolved. */
  path: z.string().max(4096),
  /** Its parent; null at the root. */
  parent: z.string().max(4096).nullable(),
  /** The person's home folder, where the picker starts. */
  home: z.string().max(4096),
  folders: z.array(z.object({ name: z.string().max(255), path: z.string().max(4096) })).max(1000),
  /** More entries than were read or listed: the listing is cut, and says so. */
  truncated: z.boolean(),
});
export type FolderListing = z.infer<typeof folderListing>;

/** Request channels: `name -> { input, output }`. */
export const requests = {
  'app.status': { input: empty, output: appStatus },
  'chat.send': {
    input: z.object({ conversationId: id.optional(), text: z.string().trim().min(1).max(limits.messageText) }).strict(),
    output: z.object({ conversationId: id, messageId: id }),
  },
  'chat.cancel': { input: z.object({ conversationId: id }).strict(), output: z.object({ cancelled: z.boolean() }) },
  'conversation.list': { input: empty, output: z.object({ conversations: z.array(conversationSummary) }) },
  /** A stored conversation, as the events that drew it: the renderer folds them again. */
  'conversation.open': {
    input: z.object({ conversationId: id }).strict(),
    output: z.object({ conversation: conversationSummary, events: z.array(z.lazy(() => sophiaEvent)) }),
  },
  /** A new title; another conversation's title gets a number added ("Fix tests (2)"). */
  'conversation.rename': {
    input: z.object({ conversationId: id, title: z.string().trim().min(1).max(limits.label) }).strict(),
    output: z.object({ conversation: conversationSummary }),
  },
  /** Deletes a conversation with its events, messages and kept tool outputs. Audited; refused while it is answering. */
  'conversation.delete': { input: z.object({ conversationId: id }).strict(), output: z.object({ deleted: z.literal(true) }) },
  /** Asks the model again after a failed turn, from the stored messages (no new user message). */
  'chat.retry': { input: z.object({ conversationId: id }).strict(), output: z.object({ conversationId: id }) },
  /** One page of a tool output the chat shows only in part (head and tail): read from the main process's store. */
  'conversation.toolOutput': {
    input: z.object({ conversationId: id, callId: id, offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0) }).strict(),
    output: z.object({
      tool: label,
      offset: z.number().int().nonnegative(),
      text: z.string().max(toolOutputLimits.pageChars),
      totalChars: z.number().int().nonnegative(),
    }),
  },
  'settings.get': { input: empty, output: appSettings },
  /** The models the Anthropic key can use (the Models API), newest first. */
  'models.list': {
    input: empty,
    output: z.object({ models: z.array(z.object({ id: modelName, displayName: label })).max(500) }),
  },
  /** Plan mode: while on, the gate refuses every call above read-only. `on` absent reads it. */
  'agent.planMode': { input: z.object({ on: z.boolean().optional() }).strict(), output: z.object({ on: z.boolean() }) },
  'settings.set': { input: settingsInput, output: appSettings },
  'stop.all': { input: empty, output: stopReport },
  /** The human's answer to an approval card. "approve-for-session" is accepted for low risk only. */
  'approval.answer': {
    input: z.discriminatedUnion('decision', [
      z.object({ approvalId: id, decision: z.literal('approve') }).strict(),
      z.object({ approvalId: id, decision: z.literal('approve-for-session') }).strict(),
      z.object({ approvalId: id, decision: z.literal('modify'), args: z.string().min(2).max(limits.messageText) }).strict(),
      z.object({ approvalId: id, decision: z.literal('cancel'), reason: label.optional() }).strict(),
    ]),
    output: z.object({ accepted: z.boolean() }),
  },
  'approval.pending': { input: empty, output: z.object({ approvals: z.array(approvalRequestEvent) }) },
  'safety.status': { input: empty, output: safetyStatus },
  'safety.setRole': { input: z.object({ role: roleName }).strict(), output: safetyStatus },
  'secrets.list': {
    input: empty,
    output: z.object({
      keychain: z.object({ available: z.boolean(), message: z.string().max(2000) }),
      secrets: z.array(z.object({ name: secretName, label, set: z.boolean() })),
    }),
  },
  'secrets.set': {
    input: z.object({ name: secretName, value: z.string().min(1).max(16 * 1024) }).strict(),
    output: z.object({ name: secretName, set: z.literal(true) }),
  },
  'secrets.remove': { input: z.object({ name: secretName }).strict(), output: z.object({ name: secretName, set: z.literal(false) }) },
  'audit.query': {
    input: z
      .object({
        conversationId: id.optional(),
        kind: auditKind.optional(),
        risk: riskLevel.optional(),
        beforeSeq: z.number().int().positive().optional(),
        limit: z.number().int().min(1).max(500).optional(),
      })
      .strict(),
    output: z.object({ entries: z.array(auditEntryView) }),
  },
  'audit.verify': { input: empty, output: auditVerifyResult },
  'stop.resume': { input: empty, output: z.object({ locked: z.literal(false) }) },
  'sandbox.status': { input: empty, output: sandboxStatus },
  /** Checks Docker again and, when the default sandbox image is missing, starts building it. */
  'sandbox.prepare': { input: empty, output: sandboxStatus },
  /** The workspace repository: branch, ahead/behind, changed files. */
  'git.status': { input: empty, output: gitStatus },
  /** One changed file at HEAD and in the working tree, for the Monaco diff. */
  'git.diff': {
    input: z.object({ path: z.string().min(1).max(4096) }).strict(),
    output: z.object({ path: z.string().max(4096), original: z.string(), modified: z.string(), binary: z.boolean() }),
  },
  /** The conversation's checkpoints, oldest first. */
  'checkpoint.list': { input: z.object({ conversationId: id }).strict(), output: z.object({ checkpoints: z.array(checkpointView) }) },
  /**
   * Puts the workspace back as it was at the checkpoint (before that step). The state being
   * left is recorded first, so the rollback can itself be undone. Branches and index are untouched.
   */
  'checkpoint.rollback': {
    input: z.object({ conversationId: id, checkpointId: id }).strict(),
    output: z.object({ restored: checkpointView, saved: checkpointView, filesChanged: z.number().int().nonnegative() }),
  },
  /** Runs a fixed smoke command (node, git, python versions) in a fresh sandbox; its output goes to the execution log. */
  'sandbox.check': {
    input: empty,
    output: z.object({
      taskId: id,
      exitCode: z.number().int().nullable(),
      durationMs: z.number().nonnegative(),
      timedOut: z.boolean(),
      output: z.string().max(limits.outputChunk),
    }),
  },
  /** The person's answer to a proposed change in the diff view: Approve, Modify (edited text), Add Tests, Cancel. */
  'proposal.answer': { input: proposalAnswer, output: z.object({ accepted: z.boolean() }) },
  /** Proposals of this launch, newest last (the diff view after a reload). */
  'proposal.list': { input: empty, output: z.object({ proposals: z.array(proposalView) }) },
  /** A findings report as a SARIF 2.1.0 log (JSON text). */
  'findings.sarif': { input: z.object({ reportId: id }).strict(), output: z.object({ sarif: z.string() }) },
  /** A workspace file for the code view (a finding's jump), under the same confinement as the agent's reads. */
  'workspace.readFile': {
    input: z.object({ path: workspaceRelativePath }).strict(),
    output: z.object({ path: workspaceRelativePath, language: label, content: z.string() }),
  },
  /** Secret files (.env and the like) the person opened for the agent's read tools in the open workspace, this session. */
  'workspace.secretFiles': { input: empty, output: z.object({ paths: z.array(workspaceRelativePath) }) },
  /** The person opens one secret file for the agent's read tools (never a tool: the model cannot ask for it). Audited. */
  'workspace.openSecretFile': { input: z.object({ path: workspaceRelativePath }).strict(), output: z.object({ paths: z.array(workspaceRelativePath) }) },
  /** Closes a secret file again: the agent is refused it from then on. Audited. */
  'workspace.closeSecretFile': { input: z.object({ path: workspaceRelativePath }).strict(), output: z.object({ paths: z.array(workspaceRelativePath) }) },
  /**
   * Outside MCP servers from Settings: reached or not (in plain words), their tools with risk
   * and pin state. These channels are the person's alone: no tool adds a server or pins one.
   */
  'mcp.servers': { input: empty, output: outsideServersView },
  /** Connects again and lists every server's tools afresh; a changed definition lapses its pin. */
  'mcp.refresh': { input: empty, output: outsideServersView },
  /** Adds an outside server (stdio command, args and the env var names it may get; or a URL) and connects to it. Audited. */
  'mcp.addServer': { input: z.object({ server: outsideMcpServer }).strict(), output: outsideServersView },
  /** Removes a server: its tools leave the agent's registry and its pins go. Audited. */
  'mcp.removeServer': { input: z.object({ id: outsideServerId }).strict(), output: outsideServersView },
  /** Allows a tool without asking in the open workspace, for its current definition; refused above medium risk. Audited. */
  'mcp.pin': { input: z.object({ tool: outsideToolName }).strict(), output: outsideServersView },
  /** The tool asks again before every call in the open workspace. Audited. */
  'mcp.unpin': { input: z.object({ tool: outsideToolName }).strict(), output: outsideServersView },
  /** The first-run checklist: model and key, workspace, keychain (the sandbox item comes from `sandbox.status`). */
  'setup.status': { input: empty, output: setupStatus },
  /**
   * Sub-folders of a folder on the host (the browser-mode folder picker): names of directories
   * only, never file contents. No path: the home folder. `~` is expanded; anything else not
   * absolute is refused. Bounded: a huge folder is cut and says so.
   */
  'host.listFolders': { input: z.object({ path: z.string().min(1).max(4096).optional() }).strict(), output: folderListing },
  /** The desktop app's own folder dialog; the browser host has none (it lists folders instead). Null when cancelled. */
  'host.pickFolder': { input: z.object({ defaultPath: z.string().max(4096).optional() }).strict(), output: z.object({ path: z.string().max(4096).nullable() }) },
  /** The models an Ollama server has (`/api/tags`): the saved address, or the one given (the connection test). */
  'ollama.models': {
    input: z.object({ host: z.url({ protocol: /^https?$/ }).max(200).optional() }).strict(),
    output: z.object({ host: z.string().max(200), models: z.array(z.object({ name: modelName, size: z.number().nonnegative(), parameterSize: label })).max(500) }),
  },
  /** The sandbox settings in use since start-up, and the environment variables that override saved fields. */
  'sandbox.config': {
    input: empty,
    output: z.object({ inUse: sandboxSettings, overrides: z.array(z.object({ field: z.enum(sandboxSettingFields), variable: label })) }),
  },
  /** The hooks in force, by source (managed, user, workspace); only the user's are editable. */
  'hooks.list': { input: empty, output: hooksListing },
  /** Replaces the user's hooks (Claude Code's `hooks` object). */
  'hooks.save': { input: z.object({ hooks: hooksConfig }).strict(), output: hooksListing },
  /** The log sources read_logs may read (Settings → Log sources). The person's alone: no tool adds, changes or widens one. */
  'logSources.list': { input: empty, output: z.object({ sources: logSourceList }) },
  /**
   * Adds a log source, or replaces the one of the same name, after checking it: a file or folder
   * that exists outside the workspace, a container Docker knows. A refusal names its field. Audited.
   */
  'logSources.save': { input: logSource, output: z.object({ sources: logSourceList }) },
  /** Removes a log source: read_logs is refused it from then on. Audited. */
  'logSources.remove': { input: z.object({ name: z.string().trim().min(1).max(64) }).strict(), output: z.object({ sources: logSourceList }) },
  /** The open workspace's learned memory entries and its project notes (AGENTS.md, CLAUDE.md), for the Memory panel. */
  'memory.list': { input: empty, output: memoryListOutput },
  /** The person edits a memory entry's text (or kind). Audited; a text holding a secret is refused. */
  'memory.update': { input: memoryUpdateInput, output: z.object({ entry: memoryEntryView }) },
  /** The person deletes a memory entry. Audited. */
  'memory.remove': { input: memoryRemoveInput, output: z.object({ removed: z.boolean() }) },
  /** Infrastructure state kept across restarts: stacks, deployments and outputs, plans, Snowflake recovery points. */
  'infra.state': { input: empty, output: infraStateView },
  /** What the OpenTelemetry exporter has sent and whether its last export failed. */
  'telemetry.status': { input: empty, output: telemetryStatus },
  /** Run secrets (env vars for one approved sandboxed command): names and whether set, never values. */
  'runSecrets.list': {
    input: empty,
    output: z.object({
      keychain: z.object({ available: z.boolean(), message: z.string().max(2000) }),
      secrets: z.array(z.object({ name: runSecretName, set: z.boolean() })).max(64),
    }),
  },
  'runSecrets.set': {
    input: z.object({ name: runSecretName, value: z.string().min(1).max(16 * 1024) }).strict(),
    output: z.object({ name: runSecretName, set: z.literal(true) }),
  },
  'runSecrets.remove': { input: z.object({ name: runSecretName }).strict(), output: z.object({ name: runSecretName, set: z.literal(false) }) },
  /** The Metrics panel: figures computed from the audit log, per day (in the given time zone, else UTC), model or workspace. */
  'metrics.query': { input: metricsQuery, output: metricsReport },
  /** The same figures as CSV (one row per group, then the totals), for the person to save. Audited. */
  'metrics.csv': {
    input: metricsQuery,
    output: z.object({ fileName: z.string().max(200), csv: z.string().max(20_000_000), timeZone: z.string().max(64), rows: z.number().int().nonnegative() }),
  },
  /** What the open workspace's Dockerfile and devcontainer.json would build (read, never run), and which one is chosen. */
  'sandbox.workspaceImage': {
    input: empty,
    output: z.object({
      workspace: z.string().max(4096),
      chosen: z.union([z.literal(''), z.enum(workspaceImageSources)]),
      options: z.array(workspaceImagePlanView).max(2),
    }),
  },
  /** Settings → Engines: this machine and the stored profiles, the active one, and which material is set (never its value). */
  'engines.list': { input: empty, output: engineListView },
  /**
   * Connects to an engine with the profile (and the material given, else what the keychain
   * holds for that id) and says what it found; nothing is stored. For SSH it names the host
   * key the server presented, for the person to confirm. Audited without the material.
   */
  'engines.check': { input: z.object({ profile: engineProfile, material: engineMaterial.optional() }).strict(), output: engineCheck },
  /**
   * Checks the profile again and saves it only when the check passes (and, for SSH, when
   * `profile.hostKey` is the key the server presented). Material goes to the keychain. A new
   * id is refused when it exists; `replace` edits an existing one. Audited without the material.
   */
  'engines.save': {
    input: z.object({ profile: engineProfile, material: engineMaterial.optional(), replace: z.boolean().optional() }).strict(),
    output: z.object({ engines: engineListView, check: engineCheck }),
  },
  /** Removes a stored profile and its keychain entries; tasks go back to this machine when it was the active one. Audited. */
  'engines.remove': { input: z.object({ id: engineId }).strict(), output: engineListView },
  /** The engine tasks run on from now. Audited. */
  'engines.select': { input: z.object({ id: engineId }).strict(), output: engineListView },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

/**
 * Whether each request channel's requests go to the audit log (as `request` entries, before
 * the handler runs): every channel says so here, and a new channel does not type-check until
 * it does. Reading status, lists, diffs and the log itself changes nothing and is not audited;
 * anything a person does, and every file read, is.
 */
export const auditedRequests = {
  'app.status': false,
  'chat.send': true,
  'chat.cancel': true,
  'conversation.list': false,
  'conversation.open': false,
  'settings.get': false,
  'models.list': false,
  'agent.planMode': true,
  'settings.set': true,
  'stop.all': true,
  'approval.answer': true,
  'approval.pending': false,
  'safety.status': false,
  'safety.setRole': true,
  'secrets.list': false,
  'secrets.set': true,
  'secrets.remove': true,
  'audit.query': false,
  'audit.verify': false,
  'stop.resume': true,
  'sandbox.status': false,
  'sandbox.prepare': true,
  'git.status': false,
  'git.diff': false,
  'checkpoint.list': false,
  'checkpoint.rollback': true,
  'sandbox.check': true,
  'proposal.answer': true,
  'proposal.list': true,
  'findings.sarif': true,
  'workspace.readFile': true,
  'workspace.secretFiles': false,
  'workspace.openSecretFile': true,
  'workspace.closeSecretFile': true,
  'mcp.servers': false,
  'mcp.refresh': true,
  'mcp.addServer': true,
  'mcp.removeServer': true,
  'mcp.pin': true,
  'mcp.unpin': true,
  'setup.status': false,
  'host.listFolders': false,
  'host.pickFolder': false,
  'ollama.models': false,
  'sandbox.config': false,
  'conversation.rename': true,
  'conversation.delete': true,
  'chat.retry': true,
  'conversation.toolOutput': false,
  'hooks.list': false,
  'hooks.save': true,
  'logSources.list': false,
  'logSources.save': true,
  'logSources.remove': true,
  'memory.list': false,
  'memory.update': true,
  'memory.remove': true,
  'infra.state': false,
  'telemetry.status': false,
  'runSecrets.list': false,
  // Audited by name only: the value is never part of the entry (see safetyCore's auditRequests).
  'runSecrets.set': true,
  'runSecrets.remove': true,
  'metrics.query': false,
  'metrics.csv': true,
  'sandbox.workspaceImage': false,
  'engines.list': false,
  // Audited with the material's field names only (see safetyCore's auditRequests): it connects to a host the person named.
  'engines.check': true,
  'engines.save': true,
  'engines.remove': true,
  'engines.select': true,
} as const satisfies Record<Channel, boolean>;

export type Channel = keyof typeof requests;
export type RequestInput<C extends Channel> = z.input<(typeof requests)[C]['input']>;
export type RequestOutput<C extends Channel> = z.output<(typeof requests)[C]['output']>;
/** An approval's answer without its id: the diff panel answers the approval of one call (`answerCall`). */
export type ApprovalDecisionInput = DistributiveOmit<RequestInput<'approval.answer'>, 'approvalId'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export const channels = Object.keys(requests) as Channel[];

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && Object.hasOwn(requests, value);
}

/** Events the main process pushes. A discriminated union on `type`. */
export const sophiaEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('chat.message'), message: chatMessage }),
  z.object({
    type: z.literal('model.token'),
    conversationId: id,
    messageId: id,
    delta: z.string().max(limits.outputChunk),
  }),
  z.object({
    type: z.literal('tool.call'),
    conversationId: id,
    callId: id,
    tool: label,
    args: z.unknown(),
    risk: riskLevel,
  }),
  z.object({
    type: z.literal('tool.result'),
    conversationId: id,
    callId: id,
    ok: z.boolean(),
    /** The whole output, or only its head when `fullChars` is set (shared/toolOutput.ts). */
    output: z.string().max(toolOutputLimits.shownChars),
    /** The output's last characters, when it was cut. */
    tail: z.string().max(toolOutputLimits.tailChars).optional(),
    /** The whole output's length, when it was cut: the main process keeps it (`conversation.toolOutput`). */
    fullChars: z.number().int().nonnegative().optional(),
  }),
  approvalRequestEvent,
  z.object({
    type: z.literal('approval.resolved'),
    approvalId: id,
    outcome: z.enum(['approved', 'modified', 'cancelled', 'timeout', 'stopped']),
  }),
  z.object({ type: z.literal('safety.status'), status: safetyStatus }),
  z.object({
    type: z.literal('container.started'),
    taskId: id,
    execId: id,
    command: z.string().max(limits.command),
    startedAt: timestamp,
  }),
  z.object({
    type: z.literal('container.output'),
    taskId: id,
    /** Which command the chunk belongs to; a sandbox runs one command at a time. */
    execId: id.optional(),
    stream: z.enum(['stdout', 'stderr']),
    chunk: z.string().max(limits.outputChunk),
  }),
  z.object({
    type: z.literal('container.ended'),
    taskId: id,
    execId: id,
    /** Null when the command was ended from outside (stop, sandbox removed) and no code was reported. */
    exitCode: z.number().int().nullable(),
    durationMs: z.number().nonnegative(),
    timedOut: z.boolean(),
    /** Ended by the emergency stop or by the sandbox being removed. */
    stopped: z.boolean(),
    /** Output past the kept limit was dropped. */
    truncated: z.boolean(),
  }),
  z.object({ type: z.literal('sandbox.status'), status: sandboxStatus }),
  z.object({
    type: z.literal('deployment.event'),
    deploymentId: id,
    phase: z.enum(deploymentPhases),
    status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
    message: z.string().max(limits.outputChunk),
    /** The Pulumi stack or the Snowflake environment it runs against. */
    target: label.optional(),
  }),
  /** A preview's plan: what would change, with counts, each resource's diff and the cost estimate. */
  z.object({ type: z.literal('deployment.plan'), plan: deploymentPlan }),
  /** One resource step of a running preview or update, as the engine reports it. */
  z.object({ type: z.literal('deployment.resource'), deploymentId: id, step: deploymentStep }),
  /** The stack's outputs after an update. */
  z.object({
    type: z.literal('deployment.outputs'),
    deploymentId: id,
    outputs: z.array(z.object({ name: label, value: z.string().max(limits.notice), secret: z.boolean() })).max(200),
  }),
  z.object({ type: z.literal('checkpoint.created'), checkpoint: checkpointView }),
  z.object({ type: z.literal('git.pullRequest'), conversationId: id, pullRequest: pullRequestView }),
  z.object({ type: z.literal('stop'), report: stopReport }),
  z.object({
    type: z.literal('agent.intent'),
    conversationId: id,
    intent,
    plan: z.array(label).max(20),
  }),
  z.object({
    type: z.literal('agent.status'),
    conversationId: id,
    state: z.enum(['thinking', 'running-tool', 'idle']),
    detail: z.string().max(limits.notice).optional(),
  }),
  z.object({ type: z.literal('agent.usage'), conversationId: id, usage }),
  /** The model's progress notes (its visible thinking) before a reply or between tool calls. */
  z.object({ type: z.literal('agent.thinking'), conversationId: id, id, text: z.string().max(limits.messageText) }),
  /** The model's own plan (update_plan), replacing the one before it. */
  z.object({ type: z.literal('agent.plan'), conversationId: id, steps: z.array(planStep).max(50) }),
  z.object({ type: z.literal('agent.planMode'), on: z.boolean() }),
  z.object({ type: z.literal('conversation.updated'), conversation: conversationSummary }),
  z.object({ type: z.literal('conversation.deleted'), conversationId: id }),
  z.object({ type: z.literal('status'), status: appStatus }),
  /** A proposed change, each time its state changes (pending, applied, stale with a fresh diff, ...). */
  z.object({ type: z.literal('proposal'), proposal: proposalView }),
  /** A review's structured findings. */
  z.object({ type: z.literal('findings'), report: findingsReport }),
]);
export type SophiaEvent = z.infer<typeof sophiaEvent>;
export type SophiaEventType = SophiaEvent['type'];

/**
 * What the renderer sees, whichever transport carries it: the Electron preload or the
 * browser host's WebSocket.
 */
export interface SophiaApi {
  request<C extends Channel>(channel: C, input: RequestInput<C>): Promise<Result<RequestOutput<C>>>;
  onEvent(listener: (event: SophiaEvent) => void): () => void;
}

/** The two Electron IPC channels that carry the contract. */
export const ipcChannels = { request: 'sophia:request', event: 'sophia:event' } as const;
