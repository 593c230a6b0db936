/**
 * Outside MCP servers the person adds in Settings, and the tools they pinned. Pure: the
 * schemas, and how much an outside server's own claims may count.
 */
import { z } from 'zod';
import type { RiskLevel } from './contract';

/** Becomes part of tool names (`mcp_<id>_<tool>`), so short and plain. */
export const outsideServerId = z.string().regex(/^[a-z][a-z0-9]{0,15}$/, 'lower-case letters and digits, at most 16');

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

export const outsideMcpServer = z.discriminatedUnion('transport', [
  z
    .object({
      id: outsideServerId,
      transport: z.literal('stdio'),
      command: z.string().trim().min(1).max(4096),
      args: z.array(z.string().max(4096)).max(50),
      /** The only variables of Sophia's environment the server gets (besides PATH, HOME and the like). */
      envNames: z.array(envName).max(50),
    })
    .strict(),
  z
    .object({
      id: outsideServerId,
      transport: z.literal('http'),
      url: z.url({ protocol: /^https?$/ }).max(2000),
    })
    .strict(),
]);
export type OutsideMcpServer = z.infer<typeof outsideMcpServer>;

/** A tool the person allowed to run without asking, in one workspace, as long as its definition is unchanged. */
export const mcpPin = z
  .object({
    workspace: z.string().max(4096),
    server: outsideServerId,
    tool: z.string().min(1).max(128),
    /** sha256 of the tool's name, description, input schema and annotations. */
    hash: z.string().regex(/^[a-f0-9]{64}$/),
    /** The definition text the hash covers, kept (when short) so a change can be shown as a diff after a restart. */
    definition: z.string().max(8000).optional(),
  })
  .strict();
export type McpPin = z.infer<typeof mcpPin>;

/** An outside tool as the agent's registry names it: `mcp_<server>_<tool>`. */
export const outsideToolName = z.string().regex(/^mcp_[a-z][a-z0-9]{0,15}_[a-z0-9_]+$/, 'an outside tool name such as mcp_files_read').max(64);

export interface OutsideToolAnnotations {
  readonly readOnlyHint?: boolean | undefined;
  readonly destructiveHint?: boolean | undefined;
}

/**
 * An outside tool's risk. What the server says of itself is an untrusted hint: it may raise
 * the risk (destructive: high) but never lower it, so `readOnlyHint` counts for nothing and
 * every outside tool is at least medium.
 */
export function outsideToolRisk(annotations: OutsideToolAnnotations | undefined): RiskLevel {
  return annotations?.destructiveHint === true ? 'high' : 'medium';
}

/** Pinning is offered only up to medium risk. */
export function pinnable(risk: RiskLevel): boolean {
  return risk === 'read-only' || risk === 'low' || risk === 'medium';
}
