/**
 * The real core (real safety core, keychain, SQLite, code tools on a temporary workspace)
 * with recording stand-ins under the names of the sandbox and Pulumi tools (their real
 * definitions where exported), Sophia's MCP servers on loopback HTTP, and helpers to answer
 * approvals through the same handler the renderer's approval card calls.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { ApprovalRequest } from '../../../shared/contract';
import type { ToolDefinition } from '../../../electron/agent/tools';
import type { CoreOptions } from '../../../electron/app/sophiaCore';
import { startMcpHttpHost, type McpHttpHost } from '../../../electron/mcp/mcpHttpHost';
import { runCommandTool } from '../../../electron/tools/commandTools';
import { gitCommitTool, gitPushTool, githubOpenPullRequestTool } from '../../../electron/tools/gitTools';
import { pulumiHistoryTool, pulumiPreviewTool } from '../../../electron/tools/pulumiTools';
import { harness, ofType, recordingExecutors, type AgentHarness, type RanCalls } from '../../support/agentFixture';
import { testKeychain } from '../keychain/keychainSupport';

export interface McpHarness extends AgentHarness {
  readonly workspace: string;
  readonly host: McpHttpHost;
  /** Calls that reached a stand-in executor. */
  readonly ran: { tool: string; input: unknown }[];
  /** Whether a Sophia window is there to answer approvals (true by default). */
  setApproverPresent(value: boolean): void;
  /** The next approval request after `from` events, once it is published. */
  nextApproval(from?: number): Promise<ApprovalRequest>;
  answer(approvalId: string, decision: 'approve' | 'cancel'): Promise<boolean>;
  close(): Promise<void>;
}

const stack = z.string().trim().min(1).max(100);
const pulumiUpStandIn: ToolDefinition = {
  name: 'pulumi_up',
  description: 'Deploy a stack from an approved preview.',
  input: z.object({ stack, planId: z.string().regex(/^plan-[a-f0-9-]{1,40}$/) }).strict(),
  risk: 'high',
};

export async function mcpHarness(options: Partial<CoreOptions> = {}): Promise<McpHarness> {
  const workspace = mkdtempSync(path.join(tmpdir(), 'sophia-mcp-ws-'));
  mkdirSync(path.join(workspace, 'src'));
  writeFileSync(path.join(workspace, 'src', 'greet.ts'), 'export function greet(name: string): string {\n  return `Hello, ${name}`;\n}\n');
  const managedPolicyFile = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-managed-')), 'policy.yaml');
  const ran: RanCalls = [];
  // Recording stand-ins take the place of run_command, the git and the infrastructure tools.
  const h = harness({
    keychain: testKeychain(),
    managedPolicyFile,
    approvalTimeoutMs: 120_000,
    ...options,
    executors: {
      ...recordingExecutors([runCommandTool, pulumiPreviewTool, pulumiHistoryTool, pulumiUpStandIn, gitCommitTool, gitPushTool, githubOpenPullRequestTool] as ToolDefinition[], ran),
      ...options.executors,
    },
  });
  h.core.settings.update({ workspace });
  const state = { approverPresent: true };
  const host = await startMcpHttpHost({
    deps: { registry: h.core.registry, audit: h.core.safety.audit, stop: h.core.stop, approverPresent: () => state.approverPresent },
    dataDir: h.dataDir,
  });
  const result: McpHarness = Object.assign(h, {
    workspace,
    host,
    ran,
    setApproverPresent: (value: boolean) => {
      state.approverPresent = value;
    },
    nextApproval: async (from = 0): Promise<ApprovalRequest> => {
      // Event-driven: resolves on the publish, no polling interval and no clock.
      const seen = ofType(h.events.slice(from), 'approval.request')[0];
      if (seen) return seen;
      return new Promise<ApprovalRequest>((resolve) => {
        const unsubscribe = h.core.events.subscribe((event) => {
          if (event.type !== 'approval.request') return;
          unsubscribe();
          resolve(event);
        });
      });
    },
    answer: async (approvalId: string, decision: 'approve' | 'cancel') =>
      (await h.core.handlers['approval.answer']({ approvalId, decision }, { transport: 'test' })).accepted,
    close: async () => {
      await host.close();
      await h.core.close();
    },
  });
  return result;
}
