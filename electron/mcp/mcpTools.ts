/**
 * The tools of Sophia's two MCP servers, `code-management` and `infra-management`: one
 * definition, two faces. Each MCP tool is a registry entry the agent uses, or a thin
 * composition of several, and every call goes through `ToolRegistry.invoke` (so through the
 * approval gate). Input schemas are the registry's zod schemas; annotations come from the
 * declared risk of the registry tools a call may run, the strictest one winning.
 */
import type * as JsDiff from 'diff';
import { z } from 'zod';
import { missingCase } from '../../shared/errors';
import { atLeast } from '../../shared/risk';
import type { RiskLevel } from '../../shared/contract';
import { inputSchemaOf } from '../agent/modelTurn';
import type { InvokeOutcome, ToolDefinition, ToolRegistry } from '../agent/tools';
import { requireOnFirstUse } from '../core/lazyRequire';

// jsdiff is required with the first diff drawn, not at start.
const jsdiff = requireOnFirstUse<typeof JsDiff>('diff');

export const mcpServerKinds = ['code', 'infra'] as const;
export type McpServerKind = (typeof mcpServerKinds)[number];

export const mcpServerNames: Record<McpServerKind, string> = { code: 'sophia-code-management', infra: 'sophia-infra-management' };

/** Runs one registry tool for an MCP call (through the gate). */
export type RegistryInvoker = (tool: string, args: unknown) => Promise<InvokeOutcome>;

export interface McpToolResult {
  readonly text: string;
  readonly isError: boolean;
}

export interface McpToolSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly input: z.ZodObject;
  /** The registry tools a call may run, in order; the MCP tool exists only when all are registered. */
  readonly uses: readonly string[];
  /** Whether the registry tools touch things outside the workspace (a remote, a cloud). */
  readonly openWorld: boolean;
  run(input: Record<string, unknown>, invoke: RegistryInvoker): Promise<McpToolResult>;
}

export interface McpAnnotations {
  readonly title: string;
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

/** The strictest declared risk among the registry tools a spec uses. */
export function specRisk(spec: Pick<McpToolSpec, 'uses'>, definitions: readonly ToolDefinition[]): RiskLevel {
  let risk: RiskLevel = 'read-only';
  for (const name of spec.uses) {
    const definition = definitions.find((candidate) => candidate.name === name);
    // A tool we cannot see is treated as the worst case.
    const declared = definition?.risk ?? 'critical';
    if (atLeast(declared, risk)) risk = declared;
  }
  return risk;
}

/** readOnlyHint only for read-only; destructiveHint from high up (the gate asks a human for those whatever the policy). */
export function annotationsFor(spec: McpToolSpec, risk: RiskLevel): McpAnnotations {
  return {
    title: spec.title,
    readOnlyHint: risk === 'read-only',
    destructiveHint: atLeast(risk, 'high'),
    idempotentHint: risk === 'read-only',
    openWorldHint: spec.openWorld,
  };
}

/**
 * How an MCP client reaches what a registry tool does: the registry's descriptions and
 * outputs name Sophia's own tools (`pulumi_up`, `snowflake_plan`), which an MCP client never
 * sees. Each is said as the MCP tool (and action) that runs it.
 */
const mcpTermsOf: Record<McpServerKind, Readonly<Record<string, string>>> = {
  code: {
    propose_edit: 'edit_code',
    read_file: 'review_code',
    report_findings: 'review_code (with findings)',
    run_command: 'run_tests',
    git_commit: 'commit_and_open_pr',
    git_push: 'commit_and_open_pr',
    github_open_pull_request: 'commit_and_open_pr',
  },
  infra: {
    pulumi_preview: 'preview_changes',
    pulumi_up: 'deploy_infrastructure',
    pulumi_history: 'stack_history',
    snowflake_plan: 'manage_snowflake (action "plan")',
    snowflake_apply: 'manage_snowflake (action "apply")',
    snowflake_restore: 'manage_snowflake (action "restore")',
  },
};

const registryToolName = /\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g;

/** Text from the registry (a description, an output) in the words of this MCP server's tools. */
export function inMcpTerms(kind: McpServerKind, text: string): string {
  const terms = mcpTermsOf[kind];
  return text.replace(registryToolName, (name) => terms[name] ?? name);
}

export function inputJsonSchema(input: z.ZodType, kind?: McpServerKind): { type: 'object'; [key: string]: unknown } {
  const schema = inputSchemaOf(input);
  return { ...(kind ? (renameInSchema(schema, kind) as Record<string, unknown>) : schema), type: 'object' };
}

/** The schema with every `description` in MCP terms (a field's "The id pulumi_preview returned"). */
function renameInSchema(value: unknown, kind: McpServerKind): unknown {
  if (Array.isArray(value)) return value.map((item) => renameInSchema(item, kind));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, key === 'description' && typeof item === 'string' ? inMcpTerms(kind, item) : renameInSchema(item, kind)]),
  );
}

function describeOutcome(tool: string, outcome: InvokeOutcome): McpToolResult {
  switch (outcome.kind) {
    case 'invalid-input':
      return { text: outcome.message, isError: true };
    case 'denied':
      return { text: `${tool} was not run (${outcome.decision.decidedBy}): ${outcome.decision.reasons.join(' ')}`, isError: true };
    case 'executed':
      return { text: outcome.result.output, isError: !outcome.result.ok };
    default:
      return missingCase(outcome);
  }
}

function objectInput(registry: ToolRegistry, name: string): z.ZodObject | undefined {
  const input = registry.definitions([name])[0]?.input;
  return input instanceof z.ZodObject ? input : undefined;
}

/** A registry tool as it is, under its MCP name. */
function same(registry: ToolRegistry, mcpName: string, registryName: string, title: string, openWorld = false): McpToolSpec | undefined {
  const definition = registry.definitions([registryName])[0];
  const input = objectInput(registry, registryName);
  if (!definition || !input) return undefined;
  return {
    name: mcpName,
    title,
    description: definition.description,
    input,
    uses: [registryName],
    openWorld,
    run: async (args, invoke) => describeOutcome(registryName, await invoke(registryName, args)),
  };
}

/**
 * run_tests without run_command's `egress` and `secrets`: an MCP client (another agent, outside
 * the app) cannot ask for network egress or a run secret. Those stay with Sophia's own agent,
 * where the person sees the conversation that asks for them. A client that sends them is
 * refused by the (strict) schema.
 */
function withoutGrants(spec: McpToolSpec | undefined): McpToolSpec | undefined {
  if (!spec) return undefined;
  const shape = spec.input.shape as Record<string, unknown>;
  if (!('egress' in shape) && !('secrets' in shape)) return spec;
  return { ...spec, input: spec.input.omit({ egress: true, secrets: true }) };
}

const reviewPath = z.string().min(1).max(4096);

function codeSpecs(registry: ToolRegistry): McpToolSpec[] {
  const specs: (McpToolSpec | undefined)[] = [];

  const findingsInput = objectInput(registry, 'report_findings');
  if (registry.has('read_file') && findingsInput) {
    specs.push({
      name: 'review_code',
      title: 'Review code',
      description:
        'Review workspace files. Without findings: returns the files\' text to review. With findings (file, line range, severity, rule, explanation, suggested fix): records them in Sophia\'s findings list, exportable as SARIF.',
      input: z
        .object({
          paths: z.array(reviewPath).min(1).max(20).describe('Files to review, relative to the workspace root'),
          findings: findingsInput.shape['findings']?.optional() ?? z.never().optional(),
        })
        .strict(),
      uses: ['read_file', 'report_findings'],
      openWorld: false,
      run: async (args, invoke) => {
        const parts: string[] = [];
        let isError = false;
        for (const path of args['paths'] as string[]) {
          const read = describeOutcome('read_file', await invoke('read_file', { path }));
          isError ||= read.isError;
          parts.push(`=== ${path}\n${read.text}`);
        }
        if (args['findings'] !== undefined) {
          const reported = describeOutcome('report_findings', await invoke('report_findings', { findings: args['findings'] }));
          isError ||= reported.isError;
          parts.push(`=== findings\n${reported.text}`);
        }
        return { text: parts.join('\n\n'), isError };
      },
    });
  }

  const proposeInput = objectInput(registry, 'propose_edit');
  const propose = registry.definitions(['propose_edit'])[0];
  if (proposeInput && propose && registry.has('read_file')) {
    // The base text through read_file (its confinement and secret-file rules hold), the diff after the approved write.
    const proposeWithDiff = async (args: Record<string, unknown>, invoke: RegistryInvoker): Promise<McpToolResult> => {
      const files = (args['files'] ?? []) as { path: string; content: string }[];
      const before: string[] = [];
      for (const file of files) {
        const read = await invoke('read_file', { path: file.path });
        before.push(read.kind === 'executed' && read.result.ok ? read.result.output : '');
      }
      const outcome = describeOutcome('propose_edit', await invoke('propose_edit', args));
      if (outcome.isError) return outcome;
      const diff = files.map((file, index) => jsdiff().createTwoFilesPatch(`a/${file.path}`, `b/${file.path}`, before[index] ?? '', file.content)).join('\n');
      return { text: `${outcome.text}\n\n${diff}`, isError: false };
    };
    specs.push({
      name: 'edit_code',
      title: 'Edit code',
      description: `${propose.description} Returns the diff of the change.`,
      input: proposeInput,
      uses: ['read_file', 'propose_edit'],
      openWorld: false,
      run: proposeWithDiff,
    });
    specs.push({
      name: 'generate_code',
      title: 'Generate code',
      description: 'Add new files to the workspace (give each file\'s complete text). The person approves the diff in Sophia first; returns the diff.',
      input: proposeInput,
      uses: ['read_file', 'propose_edit'],
      openWorld: false,
      run: proposeWithDiff,
    });
  }

  specs.push(same(registry, 'search_code', 'search_code', 'Search code'));
  specs.push(withoutGrants(same(registry, 'run_tests', 'run_command', 'Run tests in the sandbox')));

  const commitInput = objectInput(registry, 'git_commit');
  const prInput = objectInput(registry, 'github_open_pull_request');
  if (commitInput && prInput && registry.has('git_push')) {
    specs.push({
      name: 'commit_and_open_pr',
      title: 'Commit, push and open a pull request',
      description:
        'Commit exactly the named files to a branch, push that branch, and open a GitHub pull request from it. Each step is approved separately in Sophia; a refused step ends the sequence.',
      input: commitInput.extend(prInput.omit({ head: true }).shape).strict(),
      uses: ['git_commit', 'git_push', 'github_open_pull_request'],
      openWorld: true,
      run: async (args, invoke) => {
        const { branch, message, paths, ...pullRequest } = args;
        const steps: string[] = [];
        const commit = describeOutcome('git_commit', await invoke('git_commit', { branch, message, paths }));
        steps.push(commit.text);
        if (commit.isError) return { text: steps.join('\n'), isError: true };
        const push = describeOutcome('git_push', await invoke('git_push', { branch }));
        steps.push(push.text);
        if (push.isError) return { text: steps.join('\n'), isError: true };
        const opened = describeOutcome('github_open_pull_request', await invoke('github_open_pull_request', { ...pullRequest, head: branch }));
        steps.push(opened.text);
        return { text: steps.join('\n'), isError: opened.isError };
      },
    });
  }
  // The log sources the person set up in Sophia's Settings (troubleshooting evidence); read-only there too.
  specs.push(same(registry, 'read_logs', 'read_logs', 'Read logs'));
  return specs.filter((spec): spec is McpToolSpec => spec !== undefined);
}

const snowflakeActions = { plan: 'snowflake_plan', apply: 'snowflake_apply', restore: 'snowflake_restore' } as const;

function infraSpecs(registry: ToolRegistry): McpToolSpec[] {
  const specs: (McpToolSpec | undefined)[] = [
    same(registry, 'preview_changes', 'pulumi_preview', 'Preview infrastructure changes', true),
    same(registry, 'deploy_infrastructure', 'pulumi_up', 'Deploy infrastructure', true),
    same(registry, 'stack_history', 'pulumi_history', 'Stack history', true),
  ];
  const uses = Object.values(snowflakeActions);
  if (uses.every((name) => registry.has(name))) {
    // Each action's own arguments, named with what they mean, so a client can fill them in.
    const described = (Object.entries(snowflakeActions) as [string, string][])
      .map(([action, name]) => {
        const input = objectInput(registry, name);
        const fields = input
          ? Object.entries(input.shape)
              .map(([field, schema]) => `${field}${schema.description ? ` (${schema.description})` : ''}`)
              .join(', ')
          : '';
        return `- "${action}": ${registry.definitions([name])[0]?.description ?? ''} Arguments: ${fields}.`;
      })
      .join('\n');
    specs.push({
      name: 'manage_snowflake',
      title: 'Manage Snowflake',
      description: `Snowflake DDL in three steps, chosen by "action": "plan" checks and dry-runs DDL and returns a planId, "apply" runs a plan after the person approves it in Sophia, "restore" puts a table back to a recovery point that "apply" recorded. "arguments" holds the action's own arguments:\n${described}`,
      input: z
        .object({
          action: z.enum(['plan', 'apply', 'restore']),
          arguments: z.record(z.string(), z.unknown()).describe("The step tool's arguments (see the description)"),
        })
        .strict(),
      uses,
      openWorld: true,
      run: async (args, invoke) => {
        const tool = snowflakeActions[args['action'] as keyof typeof snowflakeActions];
        return describeOutcome(tool, await invoke(tool, args['arguments']));
      },
    });
  }
  return specs.filter((spec): spec is McpToolSpec => spec !== undefined);
}

export function mcpToolSpecs(kind: McpServerKind, registry: ToolRegistry): McpToolSpec[] {
  switch (kind) {
    case 'code':
      return codeSpecs(registry);
    case 'infra':
      return infraSpecs(registry);
    default:
      return missingCase(kind);
  }
}
