/**
 * The request handlers of code management: answering a proposal, findings as SARIF, a file
 * for the code view, and the secret files the person opens for the agent.
 */
import { readFile } from 'node:fs/promises';
import { languageOf } from '../../shared/code';
import { SophiaError } from '../../shared/errors';
import type { Handlers } from '../../shared/handlers';
import type { FindingsService } from './findingsService';
import type { ApprovalAnswerer, ProposalService } from './proposalService';
import type { SecretFileGrants } from './secretFiles';
import { decodeText, TextFileError } from './textFile';
import { confinePath } from '../core/workspacePaths';

const maxViewBytes = 2 * 1024 * 1024;

export function codeHandlers(
  code: { readonly proposals: ProposalService; readonly findings: FindingsService; readonly secretFiles: SecretFileGrants },
  options: { readonly approvals: ApprovalAnswerer; readonly workspace: () => string },
): Pick<Handlers, 'proposal.answer' | 'proposal.list' | 'findings.sarif' | 'workspace.readFile' | 'workspace.secretFiles' | 'workspace.openSecretFile' | 'workspace.closeSecretFile'> {
  return {
    'proposal.answer': (input) => code.proposals.answer(input, options.approvals),
    'proposal.list': () => ({ proposals: code.proposals.list() }),
    'findings.sarif': (input) => ({ sarif: code.findings.sarif(input.reportId) }),
    'workspace.readFile': async (input) => {
      const confined = await confinePath(options.workspace(), input.path, 'read', { allowSecret: code.secretFiles.allows });
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
    // The person's own way to open a secret file for the agent; no tool reaches these.
    'workspace.secretFiles': () => ({ paths: code.secretFiles.list() }),
    'workspace.openSecretFile': async (input) => ({ paths: await code.secretFiles.open(input.path) }),
    'workspace.closeSecretFile': (input) => ({ paths: code.secretFiles.close(input.path) }),
  };
}
