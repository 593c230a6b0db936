/**
 * Outside clients load on first use, and nothing about the gate or the emergency stop
 * depends on whether they have: a call to a service whose client has not loaded is decided
 * by the gate before anything loads, a denied or stopped call loads nothing, and Stop before
 * any load stops without loading one. A slow first load shows in the status.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GateDecision, ToolCallRequest, ToolContext, ToolGate } from '../../../electron/agent/tools';
import { loadStarted, onDemand, slowLoadMs } from '../../../electron/core/onDemand';
import { createSophiaCore, type SophiaCore } from '../../../electron/app/sophiaCore';
import type { SophiaEvent } from '../../../shared/contract';
import { tempDataDir } from '../../support/hostFixture';

const clients = ['snowflake-sdk', '@duckdb/node-api', 'node-sql-parser', '@pulumi/pulumi/automation', '@octokit/rest', '@modelcontextprotocol/sdk client'];
const requireHere = createRequire(import.meta.url);
/** Whether Node has loaded any file of a CommonJS package in this process. */
const inRequireCache = (name: string): boolean => Object.keys(requireHere.cache).some((file) => file.includes(`${path.sep}node_modules${path.sep}${name}${path.sep}`));

/** A gate that notes which clients had started loading when it was asked, then answers. */
function recordingGate(allow: boolean): ToolGate & { readonly seen: { tool: string; loaded: string[] }[] } {
  const seen: { tool: string; loaded: string[] }[] = [];
  return {
    seen,
    decide: async (request: ToolCallRequest): Promise<GateDecision> => {
      seen.push({ tool: request.tool.name, loaded: clients.filter(loadStarted) });
      return { allowed: allow, risk: request.tool.risk, decidedBy: allow ? 'policy' : 'user', reasons: [allow ? 'test allows' : 'test denies'] };
    },
  };
}

let core: SophiaCore | undefined;
afterEach(async () => {
  await core?.close();
  core = undefined;
});

const context = (): ToolContext => ({ conversationId: 'c-load', callId: `call-${Math.random().toString(36).slice(2)}`, signal: new AbortController().signal });

describe('clients loaded on first use', () => {
  it('Stop before any client has loaded stops, locks, and loads none, the Docker client included', async () => {
    core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), managedPolicyFile: path.join(tempDataDir(), 'managed.yaml') });
    const report = await core.stop.stopAll();
    expect(report.stopped.filter((item) => item.outcome === 'stuck')).toEqual([]);
    expect(core.stop.locked).toBe(true);
    expect(clients.filter(loadStarted)).toEqual([]);
    expect(inRequireCache('dockerode')).toBe(false);
    expect(inRequireCache('snowflake-sdk')).toBe(false);
    // A call after the stop is refused, and still nothing loads.
    const outcome = await core.registry.invoke('snowflake_plan', { environment: 'staging', text: 'CREATE TABLE T (A INT)' }, context());
    expect(outcome.kind).toBe('denied');
    expect(clients.filter(loadStarted)).toEqual([]);
  });

  it('a call to a service whose client has not loaded is decided by the gate first; a denied one loads nothing', async () => {
    const deny = recordingGate(false);
    core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), executors: { gate: deny }, managedPolicyFile: path.join(tempDataDir(), 'managed.yaml') });
    const denied = await core.registry.invoke('snowflake_plan', { environment: 'staging', text: 'CREATE TABLE T (A INT)' }, context());
    expect(denied.kind).toBe('denied');
    expect(deny.seen).toEqual([{ tool: 'snowflake_plan', loaded: [] }]);
    expect(loadStarted('node-sql-parser')).toBe(false);
    await core.close();

    const allow = recordingGate(true);
    core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), executors: { gate: allow }, managedPolicyFile: path.join(tempDataDir(), 'managed.yaml') });
    const executed = await core.registry.invoke('snowflake_plan', { environment: 'staging', text: 'CREATE TABLE T (A INT)' }, context());
    // The gate answered first, with nothing loaded; the DDL parser loaded only once the call ran.
    expect(allow.seen).toEqual([{ tool: 'snowflake_plan', loaded: [] }]);
    expect(executed.kind).toBe('executed');
    expect(loadStarted('node-sql-parser')).toBe(true);
    // Snowflake is not set up here: the call ends before its driver would be needed.
    expect(loadStarted('snowflake-sdk')).toBe(false);
  });

  it('a first load slower than the threshold shows in the status until it is done', async () => {
    core = createSophiaCore({ host: 'browser', dataDir: tempDataDir(), managedPolicyFile: path.join(tempDataDir(), 'managed.yaml') });
    const statuses: Extract<SophiaEvent, { type: 'status' }>['status'][] = [];
    core.events.subscribe((event) => {
      if (event.type === 'status') statuses.push(event.status);
    });
    const slowClient = onDemand('slow-test-client', () => new Promise<string>((resolve) => setTimeout(() => resolve('ready'), slowLoadMs + 300)));
    const fastClient = onDemand('fast-test-client', async () => 'ready');
    expect(await fastClient()).toBe('ready');
    expect(statuses).toEqual([]);
    const loading = slowClient();
    expect(slowClient()).toBe(loading);
    expect(await loading).toBe('ready');
    expect(statuses.map((status) => status.loading)).toEqual([['slow-test-client'], undefined]);
    expect(core.status().loading).toBeUndefined();
  });

  it('a failed load is tried again on the next use', async () => {
    let attempts = 0;
    const flaky = onDemand('flaky-test-client', async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('not there yet');
      return 'ready';
    });
    await expect(flaky()).rejects.toThrow('not there yet');
    expect(await flaky()).toBe('ready');
    expect(attempts).toBe(2);
  });
});
