/**
 * The request channels of outside MCP servers: the Settings panel's, never a tool's, so the
 * model has no way to add a server or pin a tool. Changes are audited by the service (and as
 * requests); listing changes nothing and is not.
 */
import type { Handlers } from '../../shared/handlers';
import type { OutsideMcpServers } from './outsideServers';

type McpChannel = 'mcp.servers' | 'mcp.refresh' | 'mcp.addServer' | 'mcp.removeServer' | 'mcp.pin' | 'mcp.unpin';

export function mcpHandlers(outside: OutsideMcpServers): Pick<Handlers, McpChannel> {
  return {
    'mcp.servers': () => outside.view(),
    'mcp.refresh': async () => {
      await outside.refresh();
      return outside.view();
    },
    'mcp.addServer': async (input) => {
      await outside.add(input.server);
      return outside.view();
    },
    'mcp.removeServer': async (input) => {
      await outside.remove(input.id);
      return outside.view();
    },
    'mcp.pin': (input) => {
      outside.pin(input.tool);
      return outside.view();
    },
    'mcp.unpin': (input) => {
      outside.unpin(input.tool);
      return outside.view();
    },
  };
}
