/**
 * The code tools: `propose_edit` (a change over one or more files, new files included,
 * shown as a diff and applied only after approval) and `report_findings` (a review's
 * structured findings), `search_code` and `repo_map` (the code index). Definitions here,
 * executors handed the services that do the work.
 */
import { z } from 'zod';
import { codeLimits, finding } from '../../shared/code';
import type { ToolDefinition, ToolRegistry } from '../agent/tools';
import type { FindingsService } from '../code/findingsService';
import type { CodeIndexService } from '../code/indexService';
import type { ProposalService } from '../code/proposalService';

const filePath = z.string().min(1).max(codeLimits.path).describe('A path relative to the workspace root, e.g. "sql/employees.sql"');

export const proposeEditInput = z
  .object({
    summary: z.string().min(1).max(2000).describe('One or two sentences: what the change does and why.'),
    files: z
      .array(
        z
          .object({
            path: filePath,
            content: z.string().max(codeLimits.fileText).describe('The complete new text of the file (not a diff). A path that does not exist yet creates the file.'),
          })
          .strict(),
      )
      .min(1)
      .max(codeLimits.filesPerProposal),
  })
  .strict();

export const proposeEditTool = {
  name: 'propose_edit',
  description:
    'Propose a change to one or more workspace files, or new files, by giving each file\'s complete new text. The person sees it as a diff and approves, modifies, asks for tests or cancels; nothing is written before that. All files are written or none.',
  input: proposeEditInput,
  // Writes the workspace; the diff is always shown because the threshold asks from low up.
  risk: 'medium',
  describe: (input) => `change ${input.files.length} file(s): ${input.files.map((file) => file.path).join(', ')}`.slice(0, 200),
} as const satisfies ToolDefinition<typeof proposeEditInput>;

export const reportFindingsInput = z
  .object({
    findings: z
      .array(finding.extend({ file: filePath, rule: finding.shape.rule.describe('A short rule id such as "sql/missing-not-null"') }))
      .min(1)
      .max(codeLimits.findings),
  })
  .strict();

export const reportFindingsTool = {
  name: 'report_findings',
  description:
    'Report the findings of a review as structured data: for each, the file, the line range, the severity (error, warning, note), a rule id, the explanation and a suggested fix. They are shown as a list that jumps to the code and can be exported as SARIF.',
  input: reportFindingsInput,
  risk: 'read-only',
} as const satisfies ToolDefinition<typeof reportFindingsInput>;

/** An input as the schema parses it, as JSON: what the proposal service compares an approved input with. */
export function canonicalProposal(input: unknown): string {
  return JSON.stringify(proposeEditInput.parse(input));
}

export function registerCodeTools(registry: ToolRegistry, services: { readonly proposals: ProposalService; readonly findings: FindingsService }): void {
  // The proposal is filed under its call at the preview, and the executor applies the proposal of the call it runs for.
  registry.register(
    {
      ...proposeEditTool,
      preview: (input, call) => services.proposals.preview(input, call),
      settled: (call, outcome) => services.proposals.settled(call, outcome),
    },
    (input, context) => services.proposals.apply(input, context),
  );
  registry.register(reportFindingsTool, (input, context) => services.findings.report(context.conversationId, input.findings));
}

export const searchCodeInput = z
  .object({
    query: z.string().trim().min(1).max(500).describe('Words or identifiers to look for, e.g. "employees phone number" or "summarizeGongInteractions"'),
    limit: z.number().int().min(1).max(50).optional(),
  })
  .strict();

export const searchCodeTool = {
  name: 'search_code',
  description: 'Find the workspace files most relevant to a query (ranked by BM25 over paths, symbols and text), with the matching symbols and their lines. Use it before reading files.',
  input: searchCodeInput,
  risk: 'read-only',
} as const satisfies ToolDefinition<typeof searchCodeInput>;

export const repoMapInput = z
  .object({
    query: z.string().trim().max(500).optional().describe('Rank the files by relevance to this; without it, by how much they declare.'),
    budgetTokens: z.number().int().min(100).max(8000).optional().describe('About how many tokens the map may take; 2000 by default.'),
  })
  .strict();

export const repoMapTool = {
  name: 'repo_map',
  description: "A map of the workspace: its files and their top symbols (name@line), most relevant first, within a token budget. Use it to find one's way in an unfamiliar repository.",
  input: repoMapInput,
  risk: 'read-only',
} as const satisfies ToolDefinition<typeof repoMapInput>;

export function registerIndexTools(registry: ToolRegistry, indexes: CodeIndexService): void {
  registry.register(searchCodeTool, async (input) => {
    const index = await indexes.index();
    if (!index) return { ok: false, output: 'No workspace is open. Choose a workspace folder in Settings.' };
    const hits = index.search(input.query, input.limit ?? 15);
    if (hits.length === 0) return { ok: true, output: `Nothing in the workspace matches "${input.query}".` };
    return {
      ok: true,
      output: hits.map((hit) => `${hit.path} (${hit.score.toFixed(1)})${hit.symbols.length ? `: ${hit.symbols.map((symbol) => `${symbol.name}@${symbol.line}`).join(', ')}` : ''}`).join('\n'),
    };
  });
  registry.register(repoMapTool, async (input) => {
    const index = await indexes.index();
    if (!index) return { ok: false, output: 'No workspace is open. Choose a workspace folder in Settings.' };
    return { ok: true, output: index.repoMap(input.budgetTokens ?? 2000, input.query) || '(the workspace has no indexed files)' };
  });
}
