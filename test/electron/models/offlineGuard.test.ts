/** The offline check itself: what counts as this machine, Pulumi's backends, and a switch that takes effect at once. */
import { describe, expect, it } from 'vitest';
import type { AppSettings } from '../../../shared/contract';
import { isLoopbackHost, OfflineGuard } from '../../../electron/models/offlineGuard';

describe('the offline guard', () => {
  it('counts only loopback as this machine', () => {
    for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '[::1]', '::1', '[::ffff:7f00:1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.1', '192.168.1.2', 'api.github.com', 'localhost.example.com', '127.0.0.1.nip.io', '[::]', '[fe80::1]']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('refuses off-machine addresses in offline mode only, and reads the mode at each call', async () => {
    let provider: AppSettings['provider'] = 'anthropic';
    const guard = new OfflineGuard(() => ({ provider, openaiBaseUrl: 'https://api.openai.com/v1' }));
    const reached: string[] = [];
    const fetch = guard.fetch('this MCP server', async (input) => {
      reached.push(String(input));
      return new Response('{}');
    });
    await fetch('https://mcp.example.com/mcp');
    guard.checkPulumiBackend('');
    provider = 'ollama';
    // A client made while online is stopped at its next request.
    await expect(fetch('https://mcp.example.com/mcp')).rejects.toThrow('Offline mode: this MCP server would connect to mcp.example.com');
    await fetch('http://127.0.0.1:8123/mcp');
    expect(reached).toEqual(['https://mcp.example.com/mcp', 'http://127.0.0.1:8123/mcp']);
    expect(() => guard.check('not a url', 'git')).toThrow('an address Sophia cannot read');
    expect(() => guard.check('https://user@[::1]:9/x', 'git')).not.toThrow();
  });

  it('allows Pulumi only with a local backend in offline mode', () => {
    const guard = new OfflineGuard(() => ({ provider: 'ollama', openaiBaseUrl: 'https://api.openai.com/v1' }));
    expect(() => guard.checkPulumiBackend('file:///home/ada/.pulumi-state')).not.toThrow();
    expect(() => guard.checkPulumiBackend('http://127.0.0.1:9000')).not.toThrow();
    expect(() => guard.checkPulumiBackend('')).toThrow('Pulumi has no backend set');
    expect(() => guard.checkPulumiBackend('s3://state-bucket')).toThrow('Offline mode');
    expect(() => guard.checkPulumiBackend('https://api.pulumi.com')).toThrow('would connect to api.pulumi.com');
  });

  it('refuses a git request to a remote off this machine before the HTTP client sees it', async () => {
    const guard = new OfflineGuard(() => ({ provider: 'ollama', openaiBaseUrl: 'https://api.openai.com/v1' }));
    const seen: string[] = [];
    async function* empty(): AsyncIterableIterator<Uint8Array> {}
    const http = guard.gitHttp({ request: async (request) => (seen.push(request.url), { url: request.url, method: 'GET', headers: {}, body: empty(), statusCode: 200, statusMessage: 'OK' }) });
    await expect(http.request({ url: 'https://git.example.com/a.git/info/refs', method: 'GET', headers: {} })).rejects.toThrow('Offline mode: git would connect to git.example.com');
    await http.request({ url: 'http://127.0.0.1:4000/a.git/info/refs', method: 'GET', headers: {} });
    expect(seen).toEqual(['http://127.0.0.1:4000/a.git/info/refs']);
  });
});
