/**
 * `sophia-mcp code` | `sophia-mcp infra` (`npm run mcp -- code`): Sophia's MCP servers over
 * stdio for Claude Desktop, Claude Code or any MCP client. Stdout carries the protocol only;
 * the logger writes to stderr.
 */
import { createLogger } from '../log';
import { runStdioBridge } from './mcpStdioBridge';
import { mcpServerKinds } from './mcpTools';

const log = createLogger('mcpCli');

// The last argument: `node out/main/mcp.js code`, or under a loader that adds its own.
const kind = mcpServerKinds.find((candidate) => candidate === process.argv.at(-1));
if (!kind) {
  process.stderr.write('usage: sophia-mcp code|infra\n  code   the code-management server\n  infra  the infrastructure-management server\nThe Sophia app must be running: calls are approved in its window.\n');
  process.exit(2);
}
runStdioBridge(kind).catch((error: unknown) => {
  log.error('MCP server failed to start', { error });
  process.exit(1);
});
