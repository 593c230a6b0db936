/** A real core (real SQLite, real registry, real agent) wired to a model stand-in. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { SophiaEvent } from '../../shared/contract';
import type { ToolDefinition, ToolRegistry } from '../../electron/agent/tools';
import { createSophiaCore, type CoreOptions, type SophiaCore } from '../../electron/app/sophiaCore';
import { tempDataDir } from './hostFixture';
import { startAnthropicStandIn, type AnthropicStandIn } from './standIns/anthropicStandIn';

export const employeesSql = `CREATE TABLE employees (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100),
  salary NUMBER(10, 2),
  manager_id INTEGER
);
`;

export async function makeWorkspace(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sophia-workspace-'));
  await mkdir(path.join(dir, 'sql'));
  await writeFile(path.join(dir, 'sql', 'employees.sql'), employeesSql);
  await writeFile(path.join(dir, 'README.md'), '# Payroll\n');
  return dir;
}

export interface AgentHarness {
  readonly core: SophiaCore;
  readonly events: SophiaEvent[];
  readonly dataDir: string;
  /** Sends a message and waits for the whole turn. */
  turn(text: string, conversationId?: string): Promise<{ conversationId: string; events: SophiaEvent[] }>;
}

export function harness(options: Partial<CoreOptions> & { dataDir?: string } = {}): AgentHarness {
  const dataDir = options.dataDir ?? tempDataDir();
  const core = createSophiaCore({ host: 'browser', secrets: { get: async () => 'sk-ant-test-key' }, ...options, dataDir });
  const events: SophiaEvent[] = [];
  core.events.subscribe((event) => events.push(event));
  return {
    core,
    events,
    dataDir,
    async turn(text, conversationId) {
      const start = events.length;
      const sent = core.agent.send(text, conversationId);
      await core.agent.whenIdle(sent.conversationId);
      return { conversationId: sent.conversationId, events: events.slice(start) };
    },
  };
}

/** Calls that reached a recording stand-in, in order. */
export type RanCalls = { tool: string; input: unknown }[];

/**
 * Executors that register `tools` as recording stand-ins in place of run_command, and leave
 * out the real git and infrastructure tools (a harness names its own stand-ins for those).
 */
export function recordingExecutors(tools: readonly ToolDefinition[], ran: RanCalls): NonNullable<CoreOptions['executors']> {
  const command = (registry: ToolRegistry): void => {
    for (const tool of tools) {
      registry.register(tool, async (input) => {
        ran.push({ tool: tool.name, input });
        return { ok: true, output: `${tool.name} ran` };
      });
    }
  };
  return { command, git: () => {}, pulumi: () => {}, snowflake: () => {} };
}

export function ofType<T extends SophiaEvent['type']>(events: readonly SophiaEvent[], type: T): Extract<SophiaEvent, { type: T }>[] {
  return events.filter((event): event is Extract<SophiaEvent, { type: T }> => event.type === type);
}

/**
 * The hooks of a test file that drives the agent against the Anthropic stand-in: one stand-in and
 * one workspace for the file (handed to `ready`), the cores a test opened (pushed to `open`) closed
 * after it, and every test checked for stand-in violations (a scripted call to a tool the request
 * did not offer).
 */
export function anthropicSuite(open: AgentHarness[], ready: (standIn: AnthropicStandIn, workspace: string) => void): void {
  let standIn: AnthropicStandIn | undefined;
  beforeAll(async () => {
    standIn = await startAnthropicStandIn();
    ready(standIn, await makeWorkspace());
  });
  afterAll(async () => {
    await standIn?.close();
  });
  afterEach(async () => {
    expect(standIn?.violations).toEqual([]);
    for (const h of open.splice(0)) await h.core.close();
  });
}
