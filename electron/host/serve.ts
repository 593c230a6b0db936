/**
 * `npm run serve`: Sophia in a browser, without Electron. Prints the address to open;
 * the token in its fragment is what lets that one browser tab in.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from '../core/dataDir';
import { createSophiaCore } from '../core/sophiaCore';
import { startAppMcpHost } from '../mcp/appMcpHost';
import { createLogger } from '../log';
import { startBrowserHost } from './browserHost';

const log = createLogger('serve');

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const rendererDir = process.env['SOPHIA_RENDERER_DIR'] ?? path.resolve(here, '../renderer');
  const port = Number(process.env['SOPHIA_PORT'] ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`SOPHIA_PORT must be a port number, not ${JSON.stringify(process.env['SOPHIA_PORT'])}`);
  }
  const dataDir = defaultDataDir();
  const core = createSophiaCore({ host: 'browser', dataDir });
  const host = await startBrowserHost({ core, rendererDir, port });
  const mcp = await startAppMcpHost(core, dataDir, () => host.clients() > 0);
  process.stdout.write(`Sophia is running in browser mode. Open:\n  ${host.url}\n`);
  const shutdown = (): void => {
    void Promise.allSettled([mcp?.close(), core.close()]).finally(() => host.close().finally(() => process.exit(0)));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  log.error('browser host failed to start', { error });
  process.exit(1);
});
