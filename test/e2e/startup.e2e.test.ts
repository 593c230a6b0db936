/**
 * The built server at idle: started cold (`node out/main/serve.js`, empty data folder), asked
 * one question over its WebSocket, left until it is quiet, and its loaded module files read
 * (test/support/moduleRecorder.mjs). No cloud client may be among them: each loads with the
 * first tool or channel that needs it.
 */
import { describe, expect, it } from 'vitest';
import { cloudClientsIn, coldStartServer } from '../support/startupProbe';

describe('the built server at idle', () => {
  it('has loaded no cloud client: not snowflake-sdk, @pulumi, @duckdb, @octokit, the MCP client, openai or a model SDK', async () => {
    const sample = await coldStartServer({ recordModules: true, env: { SOPHIA_SANDBOX_POOL_SIZE: '0' } });
    const modules = sample.modules ?? [];
    // The recorder saw the app itself and what it does need: the contract, the socket, the database.
    expect(modules.some((url) => url.endsWith('/out/main/serve.js'))).toBe(true);
    expect(modules.some((url) => url.includes('/node_modules/zod/'))).toBe(true);
    expect(modules.some((url) => url.includes('/node_modules/better-sqlite3/'))).toBe(true);
    expect(cloudClientsIn(modules)).toEqual({});
  });
});
