/**
 * Gate coverage over the real registry (issue 16, point 8): the core built exactly as the app
 * builds it (`createSophiaCore` with its real tools: files, code, index, run_command on the
 * Docker sandbox, git and GitHub, Pulumi, Snowflake) plus a real outside MCP server
 * (test/fixtures/mcp/outsideServer.mjs) with two tools pinned and two not. Every registered
 * tool is called with hostile, schema-valid arguments while a person cancels every card:
 * every call is decided by the approval gate, and nothing at or above the threshold runs
 * without an approval. The registry is enumerated, so a tool added later is covered too.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { atLeast } from '../../../shared/risk';
import type { InvokeOutcome, ToolCallRequest } from '../../../electron/agent/tools';
import { harness, makeWorkspace, type AgentHarness } from '../../support/agentFixture';
import { testKeychain } from '../keychain/keychainSupport';
import { hostileFor } from './hostileSample';

const fixture = path.resolve(import.meta.dirname, '../../fixtures/mcp/outsideServer.mjs');
const pinned = ['mcp_fixture_note', 'mcp_fixture_wipe_database'];

let h: AgentHarness;
beforeAll(async () => {
  const workspace = await makeWorkspace();
  mkdirSync(path.join(workspace, '.github', 'workflows'), { recursive: true });
  // Paths are sent through this folder link, so the protected-path check must follow it.
  symlinkSync('.github/workflows', path.join(workspace, 'ci'));
  const managedPolicyFile = path.join(mkdtempSync(path.join(tmpdir(), 'sophia-managed-')), 'policy.yaml');
  // The app's own wiring: no tool family left out, no stand-in registered.
  h = harness({ keychain: testKeychain(), managedPolicyFile, approvalTimeoutMs: 30_000 });
  h.core.settings.update({
    workspace,
    mcpServers: [{ id: 'fixture', transport: 'stdio', command: process.execPath, args: [fixture], envNames: [] }],
  });
  await h.core.mcp.outside.refresh();
  for (const name of pinned) h.core.mcp.outside.pin(name);
  // The person answers every card, with Cancel.
  h.core.events.subscribe((event) => {
    if (event.type === 'approval.request') setTimeout(() => h.core.safety.approvals.answer({ approvalId: event.approvalId, decision: 'cancel', reason: 'coverage walk' }), 1);
  });
});
afterAll(async () => {
  await h.core.close();
});

describe('every tool the app registers', () => {
  it('is decided by the gate with hostile arguments; nothing at or above the threshold runs unapproved, pinned or not', async () => {
    const definitions = h.core.registry.definitions();
    const names = definitions.map((definition) => definition.name).sort();
    // The real families are there, and the outside server's tools, pinned and unpinned.
    expect(names).toEqual(expect.arrayContaining(['read_file', 'propose_edit', 'search_code', 'run_command', 'git_push', 'github_open_pull_request', 'pulumi_up', 'snowflake_apply']));
    expect(names).toEqual(expect.arrayContaining(['mcp_fixture_note', 'mcp_fixture_wipe_database', 'mcp_fixture_drop_schema', 'mcp_fixture_show_env']));
    for (const name of pinned) expect(h.core.mcp.outside.isPinned(name), name).toBe(true);

    const decided: string[] = [];
    const decide = h.core.safety.gate.decide.bind(h.core.safety.gate);
    vi.spyOn(h.core.safety.gate, 'decide').mockImplementation((request: ToolCallRequest, signal: AbortSignal) => {
      decided.push(request.tool.name);
      return decide(request, signal);
    });
    const threshold = h.core.safety.policy.policy().approvalThreshold;
    const outcomes = new Map<string, InvokeOutcome>();
    for (const definition of definitions) {
      const input = hostileFor(definition.input, 'ci');
      expect(definition.input.safeParse(input).success, `no schema-valid input for ${definition.name}`).toBe(true);
      outcomes.set(definition.name, await h.core.registry.invoke(definition.name, input, { conversationId: 'coverage', callId: `cover-${definition.name}`, signal: new AbortController().signal }));
    }

    // Every call, and only those, went through the approval gate.
    expect(decided.sort()).toEqual(names);
    for (const [name, outcome] of outcomes) {
      expect(outcome.kind, name).not.toBe('invalid-input');
      if (outcome.kind !== 'executed') continue;
      const { decision } = outcome;
      // Ran without a human: only below the threshold, or under a pin up to medium risk.
      const unasked = decision.decidedBy === 'policy' ? !atLeast(decision.risk, threshold) : decision.decidedBy === 'pin' && !atLeast(decision.risk, 'high');
      expect(unasked, `${name} ran (${decision.decidedBy}, ${decision.risk})`).toBe(true);
    }
    // The pinned outside tools, given hostile arguments, were judged above medium and did not run.
    for (const name of pinned) {
      expect(outcomes.get(name), name).toMatchObject({ kind: 'denied', decision: { allowed: false } });
      expect(atLeast(outcomes.get(name)!.kind === 'denied' ? (outcomes.get(name) as Extract<InvokeOutcome, { kind: 'denied' }>).decision.risk : 'read-only', 'high'), name).toBe(true);
    }
    // The audit log holds a gate decision for every tool.
    const judged = new Set(h.core.safety.audit.query({ conversationId: 'coverage', limit: 1000 }).filter((entry) => entry.kind === 'approval' || entry.kind === 'refusal').map((entry) => JSON.parse(entry.data).tool as string));
    expect([...judged].sort()).toEqual(names);
  }, 180_000);
});
