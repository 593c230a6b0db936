/**
 * Proposals: the agent's changes to the workspace, shown as a diff before anything is
 * written. The `propose_edit` tool goes through the approval gate like every tool; this
 * service is what the gate's preview and the tool's executor share:
 *
 * 1. preview: the files on disk are read and kept (bytes, encoding, line endings) as the
 *    proposal's base, and a unified diff (jsdiff) is the approval card's preview.
 * 2. The approval the gate then asks for is tied to that proposal, and the diff view shows
 *    it with Approve / Modify / Add Tests / Cancel, each answered through the broker.
 * 3. execute: all files are written or none, refused if any changed on disk since the base
 *    (the view then shows a fresh diff), each in its own encoding and line endings.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createTwoFilesPatch } from 'diff';
import { codeLimits, languageOf, type ProposalAnswer, type ProposalFile, type ProposalView } from '../../shared/code';
import type { RequestInput, SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import type { ToolOutput } from '../agent/tools';
import { createLogger } from '../log';
import { StaleFilesError, writeAllOrNone, type FileWrite } from './atomicWrite';
import { decodeText, encodeText, TextFileError, type Encoding, type Eol } from './textFile';
import { confinePath } from './workspacePaths';

const log = createLogger('proposals');

export interface ProposeInput {
  readonly summary: string;
  readonly files: readonly { readonly path: string; readonly content: string }[];
}

interface BaseFile {
  readonly path: string;
  readonly file: string;
  readonly bytes: Uint8Array | null;
  readonly text: string;
  readonly encoding: Encoding;
  readonly eol: Eol;
}

interface Proposal {
  view: ProposalView;
  readonly input: ProposeInput;
  readonly base: readonly BaseFile[];
  /** Why it cannot be applied, found while reading it (a refused path, a binary file). */
  readonly refusal: string | undefined;
  /** The approval request's `args`, to tie the card to this proposal. */
  readonly argsShown: string;
  modified: boolean;
}

export interface ApprovalAnswerer {
  answer(input: RequestInput<'approval.answer'>): boolean;
}

const maxProposals = 200;

export class ProposalService {
  readonly #byId = new Map<string, Proposal>();
  /** Canonical input -> proposal, for the executor to find the base it was shown against. */
  readonly #byInput = new Map<string, string>();
  /** Previewed, waiting for the gate's approval request, in order. */
  readonly #awaitingApproval: Proposal[] = [];
  readonly #unsubscribe: () => void;

  constructor(
    private readonly options: {
      readonly publish: (event: SophiaEvent) => void;
      readonly subscribe: (listener: (event: SophiaEvent) => void) => () => void;
      readonly workspace: () => string;
      /** Parses tool input the way the registry does, so keys line up. */
      readonly canonical: (input: unknown) => string;
      readonly now?: () => number;
    },
  ) {
    this.#unsubscribe = options.subscribe((event) => this.#observe(event));
  }

  close(): void {
    this.#unsubscribe();
  }

  get(proposalId: string): ProposalView | undefined {
    return this.#byId.get(proposalId)?.view;
  }

  list(): ProposalView[] {
    return [...this.#byId.values()].map((proposal) => proposal.view);
  }

  /** The gate's preview: reads the base, keeps the proposal, returns a unified diff. */
  async preview(input: ProposeInput, argsShown: string): Promise<string> {
    const base: BaseFile[] = [];
    let refusal: string | undefined;
    for (const change of input.files) {
      const read = await this.#readBase(change.path);
      if ('error' in read) {
        refusal ??= read.error;
        base.push({ path: change.path, file: '', bytes: null, text: '', encoding: 'utf8', eol: 'lf' });
      } else {
        base.push(read);
      }
    }
    const duplicates = input.files.map((file) => base.find((b) => b.path === file.path)?.file).filter((file, index, all) => file && all.indexOf(file) !== index);
    if (duplicates.length > 0) refusal ??= 'The proposal names the same file twice.';
    const proposalId = randomUUID();
    const proposal: Proposal = {
      view: {
        proposalId,
        conversationId: 'pending',
        summary: input.summary.slice(0, 2000),
        status: refusal ? 'failed' : 'pending',
        ...(refusal ? { message: `This change cannot be applied: ${refusal}` } : {}),
        files: input.files.map((change, index) => this.#fileView(base[index], change.path, change.content)),
        createdAt: (this.options.now ?? Date.now)(),
      },
      input,
      base,
      refusal,
      argsShown,
      modified: false,
    };
    this.#remember(proposal);
    this.#awaitingApproval.push(proposal);
    const patches = input.files.map((change, index) => {
      const before = base[index];
      return createTwoFilesPatch(before?.bytes ? `a/${change.path}` : '/dev/null', `b/${change.path}`, before?.text ?? '', change.content.replace(/\r\n/g, '\n'));
    });
    return [refusal ? `REFUSED: ${refusal}\n` : '', `${input.summary}\n`, ...patches].join('\n');
  }

  /** The tool's executor: applies the proposal the person approved (or modified), all files or none. */
  async apply(input: ProposeInput): Promise<ToolOutput> {
    const proposalId = this.#byInput.get(this.options.canonical(input));
    const proposal = proposalId ? this.#byId.get(proposalId) : undefined;
    if (!proposal) {
      return { ok: false, output: 'Not applied: this change was never shown to the person as a diff. Every edit is proposed with propose_edit and applied only after approval in the diff view.' };
    }
    if (proposal.refusal) return this.#finish(proposal, 'failed', `Not applied: ${proposal.refusal} Nothing was written.`);
    this.#update(proposal, { status: 'applying' });
    const writes: FileWrite[] = [];
    try {
      for (const [index, change] of input.files.entries()) {
        const before = proposal.base[index];
        if (!before || before.path !== change.path) return this.#finish(proposal, 'failed', 'Not applied: the files do not match the proposal. Nothing was written.');
        // Confined again: a folder could have become a link since the preview.
        const again = await confinePath(this.options.workspace(), change.path, 'write');
        if (!again.ok) return this.#finish(proposal, 'failed', `Not applied: ${again.error} Nothing was written.`);
        if (again.file !== before.file) return this.#finish(proposal, 'failed', `Not applied: ${change.path} now resolves elsewhere than when it was proposed. Nothing was written.`);
        writes.push({ file: before.file, base: before.bytes, bytes: encodeText(change.content, before.encoding, before.eol, change.path) });
      }
      await writeAllOrNone(writes);
    } catch (error) {
      if (error instanceof StaleFilesError) return this.#stale(proposal, error.files);
      if (error instanceof TextFileError) return this.#finish(proposal, 'failed', `Not applied: ${error.message}`);
      log.error('applying a proposal failed', { proposalId: proposal.view.proposalId, error });
      return this.#finish(proposal, 'failed', `Not applied: writing failed (${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'}); every file was left as it was.`);
    }
    const names = input.files.map((file) => file.path).join(', ');
    const edited = proposal.modified
      ? `\nThe person edited your proposal before approving it; what was written:\n${input.files.map((file) => `--- ${file.path}\n${file.content.slice(0, 20_000)}`).join('\n')}`
      : '';
    return this.#finish(proposal, 'applied', `Applied to ${input.files.length} file(s): ${names}.${edited}`, true);
  }

  /** The person's answer from the diff view, passed to the approval broker. */
  answer(answer: ProposalAnswer, approvals: ApprovalAnswerer): { accepted: boolean } {
    const proposal = this.#byId.get(answer.proposalId);
    if (!proposal) throw new SophiaError('bad_request', 'There is no such proposal.');
    const approvalId = proposal.view.approvalId;
    if (!approvalId || (proposal.view.status !== 'pending' && proposal.view.status !== 'failed')) {
      throw new SophiaError('refused', 'This proposal is no longer waiting for an answer.');
    }
    if (proposal.view.status === 'failed' && answer.action !== 'cancel') {
      throw new SophiaError('refused', proposal.view.message ?? 'This proposal cannot be applied.');
    }
    switch (answer.action) {
      case 'approve':
        return { accepted: approvals.answer({ approvalId, decision: 'approve' }) };
      case 'cancel':
        this.#update(proposal, { status: 'cancelled' });
        return { accepted: approvals.answer({ approvalId, decision: 'cancel', reason: 'Cancelled in the diff view.' }) };
      case 'add-tests':
        this.#update(proposal, { status: 'tests-requested' });
        return {
          accepted: approvals.answer({
            approvalId,
            decision: 'cancel',
            reason: 'Add Tests: propose this same change again with propose_edit, with tests for it added as further files in the same call.',
          }),
        };
      case 'modify': {
        const edits = new Map(answer.files.map((file) => [file.path, file.content]));
        for (const path of edits.keys()) {
          if (!proposal.input.files.some((file) => file.path === path)) throw new SophiaError('bad_request', `${path} is not part of this proposal.`);
        }
        const input: ProposeInput = {
          summary: proposal.input.summary,
          files: proposal.input.files.map((file) => ({ path: file.path, content: edits.get(file.path) ?? file.content })),
        };
        proposal.modified = true;
        this.#byInput.set(this.options.canonical(input), proposal.view.proposalId);
        this.#update(proposal, { files: proposal.view.files.map((file) => ({ ...file, proposed: edits.get(file.path) ?? file.proposed })) });
        return { accepted: approvals.answer({ approvalId, decision: 'modify', args: JSON.stringify(input) }) };
      }
      default: {
        const never: never = answer;
        throw new SophiaError('bad_request', `Unknown action ${String(never)}.`);
      }
    }
  }

  async #readBase(path: string): Promise<BaseFile | { error: string }> {
    const confined = await confinePath(this.options.workspace(), path, 'write');
    if (!confined.ok) return { error: confined.error };
    if (!confined.exists) return { path, file: confined.file, bytes: null, text: '', encoding: 'utf8', eol: 'lf' };
    const bytes = await readFile(confined.file).catch(() => undefined);
    if (!bytes) return { error: `${path} is not a readable file.` };
    try {
      const decoded = decodeText(bytes, path);
      if (decoded.text.length > codeLimits.fileText) return { error: `${path} is too large to edit here (${bytes.length} bytes).` };
      return { path, file: confined.file, bytes, ...decoded };
    } catch (error) {
      if (error instanceof TextFileError) return { error: error.message };
      throw error;
    }
  }

  #fileView(base: BaseFile | undefined, path: string, proposed: string, original?: string): ProposalFile {
    return {
      path,
      language: languageOf(path),
      original: (original ?? base?.text ?? '').slice(0, codeLimits.fileText),
      proposed: proposed.replace(/\r\n/g, '\n').slice(0, codeLimits.fileText),
      isNew: !base?.bytes,
      eol: base?.eol ?? 'lf',
      encoding: base?.encoding ?? 'utf8',
    };
  }

  /** Refused as a whole; the view shows the files as they are now against the proposal. */
  async #stale(proposal: Proposal, files: readonly string[]): Promise<ToolOutput> {
    const changed = proposal.base.filter((base) => files.includes(base.file)).map((base) => base.path);
    const fresh = await Promise.all(
      proposal.view.files.map(async (file, index) => {
        const base = proposal.base[index];
        const bytes = base ? await readFile(base.file).catch(() => null) : null;
        let now: string;
        try {
          now = bytes ? decodeText(bytes, file.path).text : '';
        } catch {
          now = '(no longer a text file)';
        }
        return { ...file, original: now.slice(0, codeLimits.fileText), isNew: bytes === null };
      }),
    );
    this.#update(proposal, { files: fresh });
    return this.#finish(
      proposal,
      'stale',
      `Not applied: ${changed.join(', ')} changed on disk since the proposal, so none of the ${proposal.base.length} file(s) was written. The diff view now shows the files as they are. Read them again and propose the change anew.`,
    );
  }

  #finish(proposal: Proposal, status: ProposalView['status'], message: string, ok = false): ToolOutput {
    this.#update(proposal, { status, message: message.slice(0, 4000) });
    return { ok, output: message };
  }

  #update(proposal: Proposal, change: Partial<ProposalView>): void {
    proposal.view = { ...proposal.view, ...change };
    if (proposal.view.approvalId) this.options.publish({ type: 'proposal', proposal: proposal.view });
  }

  #remember(proposal: Proposal): void {
    this.#byId.set(proposal.view.proposalId, proposal);
    this.#byInput.set(this.options.canonical(proposal.input), proposal.view.proposalId);
    if (this.#byId.size > maxProposals) {
      const oldest = this.#byId.keys().next().value;
      if (oldest !== undefined) this.#byId.delete(oldest);
    }
  }

  #observe(event: SophiaEvent): void {
    if (event.type === 'approval.request' && event.tool === 'propose_edit') {
      // The card the gate asks right after its preview: matched by its arguments, else the oldest waiting.
      const index = Math.max(0, this.#awaitingApproval.findIndex((proposal) => proposal.argsShown === event.args));
      const proposal = this.#awaitingApproval.splice(index, 1)[0];
      if (!proposal) return;
      proposal.view = { ...proposal.view, conversationId: event.conversationId };
      this.#update(proposal, { approvalId: event.approvalId });
    } else if (event.type === 'approval.resolved') {
      const proposal = [...this.#byId.values()].find((candidate) => candidate.view.approvalId === event.approvalId);
      if (!proposal) return;
      if (event.outcome === 'timeout' || event.outcome === 'stopped') this.#update(proposal, { status: 'expired', message: event.outcome === 'stopped' ? 'Stopped before it was answered.' : 'No answer in time.' });
      else if (event.outcome === 'cancelled' && (proposal.view.status === 'pending' || proposal.view.status === 'failed')) this.#update(proposal, { status: 'cancelled' });
    }
  }
}
