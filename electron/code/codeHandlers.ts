/** The request handlers of code management: answering a proposal, findings as SARIF, a file for the code view. */
import { readFile } from 'node:fs/promises';
import { languageOf } from '../../shared/code';
import { SophiaError } from '../../shared/errors';
import type { Handlers } from '../ipc/dispatch';
import type { FindingsService } from './findingsService';
import type { ApprovalAnswerer, ProposalService } from './proposalService';
import { decodeText, TextFileError } from './textFile';
import { confinePath } from './workspacePaths';

const maxViewBytes = 2 * 1024 * 1024;

export function codeHandlers(
  code: { readonly proposals: ProposalService; readonly findings: FindingsService },
  options: { readonly approvals: ApprovalAnswerer; readonly workspace: () => string },
): Pick<Handlers, 'proposal.answer' | 'proposal.list' | 'findings.sarif' | 'workspace.readFile'> {
  return {
    'proposal.answer': (input) => code.proposals.answer(input, options.approvals),
    'proposal.list': () => ({ proposals: code.proposals.list().filter((proposal) => proposal.approvalId !== undefined) }),
    'findings.sarif': (input) => ({ sarif: code.findings.sarif(input.reportId) }),
    'workspace.readFile': async (input) => {
      const confined = await confinePath(options.workspace(), input.path, 'read');
      if (!confined.ok) throw new SophiaError('refused', confined.error);
      const bytes = await readFile(confined.file).catch(() => undefined);
      if (!bytes) throw new SophiaError('bad_request', `${input.path} is not a readable file.`);
      if (bytes.length > maxViewBytes) throw new SophiaError('refused', `${input.path} is too large to show (${bytes.length} bytes).`);
      try {
        return { path: confined.relative, language: languageOf(confined.relative), content: decodeText(bytes, input.path).text };
      } catch (error) {
        if (error instanceof TextFileError) throw new SophiaError('refused', error.message);
        throw error;
      }
    },
  };
}
