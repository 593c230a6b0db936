/**
 * The MCP endpoint of a running Sophia (Electron or browser host): Streamable HTTP on
 * 127.0.0.1 with a random token, written to `mcp-endpoint.json` in the data folder, which
 * `sophia-mcp` (stdio) forwards to. A state-changing call waits for approval in the window;
 * with no window or tab connected it is refused.
 */
import type { SophiaCore } from './sophiaCore';
import { createLogger } from '../log';
import { startMcpHttpHost, type McpHttpHost } from '../mcp/mcpHttpHost';

const log = createLogger('appMcpHost');

export async function startAppMcpHost(core: SophiaCore, dataDir: string, approverPresent: () => boolean): Promise<McpHttpHost | undefined> {
  try {
    return await startMcpHttpHost({ deps: { registry: core.registry, audit: core.safety.audit, stop: core.stop, approverPresent }, dataDir });
  } catch (error) {
    // MCP is an extra door; the app runs without it, and says why in the log.
    log.error('the MCP endpoint did not start', { error });
    return undefined;
  }
}
