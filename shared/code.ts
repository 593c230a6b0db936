/**
 * Code management as both processes see it: a proposal (a patch over one or more files,
 * shown in the diff view and applied all or nothing) and review findings, with their
 * SARIF 2.1.0 form. Pure: zod only.
 */
import { z } from 'zod';

export const codeLimits = {
  /** Characters of one file's text in a proposal or a file view. */
  fileText: 150_000,
  filesPerProposal: 10,
  path: 1024,
  findings: 200,
  findingText: 4000,
} as const;

const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
export const workspaceRelativePath = z.string().min(1).max(codeLimits.path);

export const proposalStatuses = ['pending', 'applying', 'applied', 'cancelled', 'tests-requested', 'stale', 'failed', 'expired'] as const;
export type ProposalStatus = (typeof proposalStatuses)[number];

export const proposalFile = z.object({
  path: workspaceRelativePath,
  /** A Monaco language id ("sql", "typescript", "plaintext"). */
  language: z.string().max(40),
  /** The file as it was on disk when the proposal was made, line endings shown as LF. Empty for a new file. */
  original: z.string().max(codeLimits.fileText),
  proposed: z.string().max(codeLimits.fileText),
  isNew: z.boolean(),
  eol: z.enum(['lf', 'crlf']),
  encoding: z.enum(['utf8', 'utf8-bom', 'utf16le', 'latin1']),
  /** Added by Add Tests: a test file for the change, approved and written with it. */
  addedTests: z.boolean().optional(),
});
export type ProposalFile = z.infer<typeof proposalFile>;

export const proposalView = z.object({
  proposalId: id,
  conversationId: id,
  /** The tool call that proposed it: its approval card carries the same (conversation, call). */
  callId: id,
  /** Who asked from outside: an MCP client, by the name it gave. Absent: the agent, in `conversationId`. */
  client: z.string().max(200).optional(),
  summary: z.string().max(2000),
  status: z.enum(proposalStatuses),
  /** Why it was refused or failed, in plain words. */
  message: z.string().max(4000).optional(),
  files: z.array(proposalFile).max(codeLimits.filesPerProposal),
  createdAt: z.number().int().nonnegative(),
});
export type ProposalView = z.infer<typeof proposalView>;

export const proposalAnswer = z.discriminatedUnion('action', [
  z.object({ proposalId: id, action: z.literal('approve') }).strict(),
  z
    .object({
      proposalId: id,
      action: z.literal('modify'),
      /** The proposed side as the person edited it; files not listed keep the agent's text. */
      files: z.array(z.object({ path: workspaceRelativePath, content: z.string().max(codeLimits.fileText) }).strict()).min(1).max(codeLimits.filesPerProposal),
    })
    .strict(),
  z.object({ proposalId: id, action: z.literal('add-tests') }).strict(),
  z.object({ proposalId: id, action: z.literal('cancel') }).strict(),
  /** Troubleshooting's "Try a different approach": cancels the fix; the model is told the diagnosis was rejected, and why. */
  z.object({ proposalId: id, action: z.literal('different-approach'), reason: z.string().max(2000) }).strict(),
]);
export type ProposalAnswer = z.infer<typeof proposalAnswer>;

export const severities = ['error', 'warning', 'note'] as const;
export const severity = z.enum(severities);

export const finding = z.object({
  file: workspaceRelativePath,
  startLine: z.number().int().positive(),
  endLine: z.number().int().positive(),
  severity,
  /** A short rule id, e.g. "sql/missing-primary-key". */
  rule: z.string().min(1).max(100).regex(/^[A-Za-z0-9._/-]+$/, 'a rule id is letters, digits and . _ / -'),
  explanation: z.string().min(1).max(codeLimits.findingText),
  suggestedFix: z.string().max(codeLimits.findingText).optional(),
});
export type Finding = z.infer<typeof finding>;

export const findingsReport = z.object({
  reportId: id,
  conversationId: id,
  findings: z.array(finding).max(codeLimits.findings),
  createdAt: z.number().int().nonnegative(),
});
export type FindingsReport = z.infer<typeof findingsReport>;

/** Monaco's language id for a path, by extension. */
export function languageOf(path: string): string {
  const name = path.toLowerCase();
  const extension = name.slice(name.lastIndexOf('.') + 1);
  const byExtension: Record<string, string> = {
    ts: 'typescript',
    tsx: 'typescript',
    mts: 'typescript',
    cts: 'typescript',
    js: 'javascript',
    jsx: 'javascript',
    mjs: 'javascript',
    cjs: 'javascript',
    py: 'python',
    go: 'go',
    sql: 'sql',
    json: 'json',
    md: 'markdown',
    yml: 'yaml',
    yaml: 'yaml',
    sh: 'shell',
    css: 'css',
    html: 'html',
    java: 'java',
    rs: 'rust',
    rb: 'ruby',
  };
  return byExtension[extension] ?? 'plaintext';
}
