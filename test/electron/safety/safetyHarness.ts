/** The real core with the real safety core: real keychain (own service), real SQLite, a model stand-in. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ToolDefinition } from '../../../electron/agent/tools';
import type { CoreOptions } from '../../../electron/app/sophiaCore';
import { harness, recordingExecutors, type AgentHarness, type RanCalls } from '../../support/agentFixture';
import { testKeychain } from '../keychain/keychainSupport';
import { tools } from './safetyFixtures';

export interface SafetyHarness extends AgentHarness {
  /** Calls that reached an executor, by tool name. */
  readonly ran: { tool: string; input: unknown }[];
  readonly managedPolicyFile: string;
}

/** Registers the stand-in tools (git, infrastructure, shell, SQL, a "remote MCP" tool) with recording executors. */
export function safetyHarness(options: Partial<CoreOptions> = {}): SafetyHarness {
  const managedPolicyFile = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-managed-')), 'policy.yaml');
  const ran: RanCalls = [];
  const all: ToolDefinition[] = [
    // Named apart from the real git tools the core registers, so the stand-ins record instead of pushing.
    tools.writeFile,
    { ...tools.gitCommit, name: 'commit_changes' },
    { ...tools.gitPush, name: 'push_branch' },
    tools.runCommand,
    tools.pulumiUp,
    tools.runSql,
    // What a tool from an outside MCP server looks like once registered: a name, a schema, a declared risk.
    { name: 'mcp_github_create_issue', description: 'Create a GitHub issue (MCP)', input: tools.gitCommit.input, risk: 'medium' },
  ] as ToolDefinition[];
  // Its own recording stand-ins take the place of run_command, the git and the infrastructure tools.
  const h = harness({
    keychain: testKeychain(),
    managedPolicyFile,
    approvalTimeoutMs: 2000,
    ...options,
    executors: { ...recordingExecutors(all, ran), ...options.executors },
  });
  return Object.assign(h, { ran, managedPolicyFile });
}
