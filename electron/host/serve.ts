/**
 * `npm run serve`: Sophia in a browser, without Electron. Prints the address to open;
 * the token in its fragment is what lets that one browser tab in.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from '../core/dataDir';
import { createSophiaCore } from '../app/sophiaCore';
import { startAppMcpHost } from '../app/appMcpHost';
import { createLogger } from '../log';
import { startBrowserHost } from './browserHost';

const log = createLogger('serve');
/** With no tab open by then, the sandbox's crash clean-up and the MCP endpoint start anyway. */
const lateStartMs = 3000;

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const rendererDir = process.env['SOPHIA_RENDERER_DIR'] ?? path.resolve(here, '../renderer');
  const port = Number(process.env['SOPHIA_PORT'] ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`SOPHIA_PORT must be a port number, not ${JSON.stringify(process.env['SOPHIA_PORT'])}`);
  }
  const dataDir = defaultDataDir();
  const core = createSophiaCore({ host: 'browser', dataDir });
  let mcp: ReturnType<typeof startAppMcpHost> = Promise.resolve(undefined);
  // Only the database, settings, keychain and handlers come before the address. The sandbox
  // (crash clean-up, warm pool), outside MCP servers and the MCP endpoint follow once a tab
  // has its first answer (its page is up), or after a few seconds if no tab opens.
  let lateStarted = false;
  const startLate = (): void => {
    if (lateStarted) return;
    lateStarted = true;
    core.startAfterWindow();
    mcp = startAppMcpHost(core, dataDir, () => host.clients() > 0);
  };
  const host = await startBrowserHost({ core, rendererDir, port, onFirstAnswer: () => setImmediate(startLate) });
  const shutdown = (): void => {
    void Promise.allSettled([mcp.then((endpoint) => endpoint?.close()), core.close()]).finally(() => host.close().finally(() => process.exit(0)));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  process.stdout.write(`Sophia is running in browser mode. Open:\n  ${host.url}\n`);
  setTimeout(startLate, lateStartMs);
}

main().catch((error: unknown) => {
  log.error('browser host failed to start', { error });
  process.exit(1);
});
