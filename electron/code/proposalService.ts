/**
 * Proposals: the agent's changes to the workspace, shown as a diff before anything is
 * written. The `propose_edit` tool goes through the approval gate like every tool; this
 * service is what the gate's preview and the tool's executor share:
 *
 * 1. preview: the files on disk are read and kept (bytes, encoding, line endings) as the
 *    proposal's base, and a unified diff (jsdiff) is the approval card's preview.
 * 2. The proposal is filed under its tool call (conversation and call id, which the gate
 *    passes to the preview and puts on its approval request too). The diff view shows it with
 *    Approve / Modify / Add Tests / Cancel, each answered through the broker to the approval
 *    pending for that same call, and the executor applies the proposal of the call it runs for.
 *    Nothing is matched by argument text (the gate redacts the card's, the tool does not).
 * 3. execute: all files are written or none, refused if any changed on disk since the base
 *    (the view then shows a fresh diff), each in its own encoding and line endings.
 *
 * Add Tests keeps the approval pending: the model is asked for tests in a side turn (see
 * testWriter.ts), its test files join this proposal as more diffs, and Approve then
 * answers the gate with the whole change, tests included, so the audit log holds exactly
 * what is written.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as JsDiff from 'diff';
import { codeLimits, languageOf, type ProposalAnswer, type ProposalFile, type ProposalView } from '../../shared/code';
import type { ApprovalDecisionInput, SophiaEvent } from '../../shared/contract';
import { SophiaError } from '../../shared/errors';
import { differentApproachReason } from '../../shared/troubleshoot';
import { clientShown, type EditFileSummary, type InvokeOutcome, type ToolCallRef, type ToolOutput } from '../agent/tools';
import { createLogger } from '../log';
import { StaleFilesError, writeAllOrNone, type FileWrite } from './atomicWrite';
import type { TestsRequester } from './testWriter';
import { decodeText, encodeText, TextFileError, type Encoding, type Eol } from './textFile';
import { confinePath } from '../core/workspacePaths';
import { requireOnFirstUse } from '../core/lazyRequire';

const log = createLogger('proposals');
// jsdiff is required with the first diff drawn, not at start.
const jsdiff = requireOnFirstUse<typeof JsDiff>('diff');

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
  /** The change as it stands: the model's files, then any tests added to them, or the person's Modify. */
  input: ProposeInput;
  /** The key of the call the gate is asking about. */
  readonly askedKey: string;
  /** One per file of `input`, in the same order. */
  readonly base: BaseFile[];
  /** Why it cannot be applied, found while reading it (a refused path, a binary file). */
  readonly refusal: string | undefined;
  modified: boolean;
  /** Paths of the files Add Tests added. */
  readonly testFiles: string[];
  /** The Add Tests side turn in flight. */
  tests: AbortController | undefined;
  /** Approved in the diff view (as shown or modified) and waiting for the gate's last word, which may still refuse it. */
  answered: boolean;
}

/** The broker, as the diff view answers it: only the approval pending for one call. */
export interface ApprovalAnswerer {
  answerCall(call: { readonly conversationId: string; readonly callId: string }, answer: ApprovalDecisionInput): boolean;
}

const maxProposals = 200;

/** A call's key: call ids are unique within a conversation only. */
function callKey(call: { readonly conversationId: string; readonly callId: string }): string {
  return JSON.stringify([call.conversationId, call.callId]);
}

export class ProposalService {
  readonly #byId = new Map<string, Proposal>();
  /** The call's key -> its proposal: the one tie between a call, its approval and its proposal. */
  readonly #byCall = new Map<string, string>();

  constructor(
    private readonly options: {
      readonly publish: (event: SophiaEvent) => void;
      readonly workspace: () => string;
      /** Parses tool input the way the registry does, so an approved input compares with the proposal's. */
      readonly canonical: (input: unknown) => string;
      /** Asks the model for tests of a change (Add Tests); without it, Add Tests is refused. */
      readonly requestTests?: TestsRequester;
      readonly now?: () => number;
    },
  ) {}

  close(): void {
    for (const proposal of this.#byId.values()) proposal.tests?.abort();
  }

  get(proposalId: string): ProposalView | undefined {
    return this.#byId.get(proposalId)?.view;
  }

  list(): ProposalView[] {
    return [...this.#byId.values()].map((proposal) => proposal.view);
  }

  /** The gate's preview for one call: reads the base, files the proposal under the call, returns a unified diff and its counts. */
  async preview(input: ProposeInput, call: ToolCallRef): Promise<{ text: string; edit: EditFileSummary[] }> {
    const key = callKey(call);
    const earlier = this.#byCall.get(key);
    if (earlier !== undefined && this.#byId.has(earlier)) {
      // A call id is used once; a second preview under it could be answered for the first.
      throw new SophiaError('refused', 'This call already has a proposal.');
    }
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
        conversationId: call.conversationId,
        callId: call.callId,
        ...(call.client === undefined ? {} : { client: clientShown(call.client) }),
        summary: input.summary.slice(0, 2000),
        status: refusal ? 'failed' : 'pending',
        ...(refusal ? { message: `This change cannot be applied: ${refusal}` } : {}),
        files: input.files.map((change, index) => this.#fileView(base[index], change.path, change.content)),
        createdAt: (this.options.now ?? Date.now)(),
      },
      input,
      askedKey: this.options.canonical(input),
      base,
      refusal,
      modified: false,
      testFiles: [],
      tests: undefined,
      answered: false,
    };
    this.#remember(key, proposal);
    this.options.publish({ type: 'proposal', proposal: proposal.view });
    const patches = patchesOf(input, base);
    return {
      text: [refusal ? `REFUSED: ${refusal}\n` : '', `${input.summary}\n`, patches.map((patch) => patch.text).join('\n')].join('\n'),
      edit: patches.map((patch, index) => ({ path: input.files[index]?.path ?? '', added: patch.added, removed: patch.removed, isNew: !base[index]?.bytes })),
    };
  }

  /** The tool's executor: applies the proposal the person approved (or modified), all files or none. */
  async apply(input: ProposeInput, call: ToolCallRef): Promise<ToolOutput> {
    const proposalId = this.#byCall.get(callKey(call));
    const proposal = proposalId ? this.#byId.get(proposalId) : undefined;
    if (!proposal) {
      return { ok: false, output: 'Not applied: this change was never shown to the person as a diff. Every edit is proposed with propose_edit and applied only after approval in the diff view.' };
    }
    // Only what the person approved in the diff view, for this call, exactly as it stands there.
    if (!proposal.answered || proposal.view.status !== 'pending') {
      return { ok: false, output: 'Not applied: this proposal was not approved in the diff view, or was already answered. Nothing was written.' };
    }
    if (this.options.canonical(input) !== this.options.canonical(proposal.input)) {
      return this.#finish(proposal, 'failed', 'Not applied: the change to run is not the one approved in the diff view. Nothing was written.');
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
    const testsWritten = proposal.testFiles.filter((path) => input.files.some((file) => file.path === path));
    if (input.files.length < proposal.view.files.length) {
      // Approved from the approval card as first asked: the tests added since were not part of it.
      this.#update(proposal, { files: proposal.view.files.slice(0, input.files.length) });
    }
    const tests = testsWritten.length
      ? `\nAt the person's request (Add Tests), these test files were added to your change and written with it: ${testsWritten.join(', ')}.`
      : '';
    const edited = proposal.modified
      ? `\nThe person edited your proposal before approving it; what was written:\n${input.files.map((file) => `--- ${file.path}\n${file.content.slice(0, 20_000)}`).join('\n')}`
      : '';
    return this.#finish(proposal, 'applied', `Applied to ${input.files.length} file(s): ${names}.${tests}${edited}`, true);
  }

  /** The person's answer from the diff view, passed to the approval broker. */
  answer(answer: ProposalAnswer, approvals: ApprovalAnswerer): { accepted: boolean } {
    const proposal = this.#byId.get(answer.proposalId);
    if (!proposal) throw new SophiaError('bad_request', 'There is no such proposal.');
    const { status } = proposal.view;
    if (status !== 'pending' && status !== 'failed' && status !== 'tests-requested') {
      throw new SophiaError('refused', 'This proposal is no longer waiting for an answer.');
    }
    if (status === 'failed' && answer.action !== 'cancel') {
      throw new SophiaError('refused', proposal.view.message ?? 'This proposal cannot be applied.');
    }
    if (status === 'tests-requested' && answer.action !== 'cancel') {
      throw new SophiaError('refused', 'Tests are being written for this change; answer once they are shown, or cancel.');
    }
    // The approval pending for this proposal's own call, through the broker's one path: a call
    // with none pending (never asked, answered, timed out, stopped) is refused there.
    const call = { conversationId: proposal.view.conversationId, callId: proposal.view.callId };
    const approve = (decision: ApprovalDecisionInput): { accepted: boolean } => {
      const accepted = approvals.answerCall(call, decision);
      if (accepted) proposal.answered = true;
      return { accepted };
    };
    switch (answer.action) {
      case 'approve':
        if (this.options.canonical(proposal.input) !== proposal.askedKey) {
          // Tests were added, or an earlier Modify: the person approves the change as shown, which is not what the call first asked.
          return approve({ decision: 'modify', args: JSON.stringify(proposal.input) });
        }
        return approve({ decision: 'approve' });
      case 'cancel': {
        const accepted = approvals.answerCall(call, { decision: 'cancel', reason: 'Cancelled in the diff view.' });
        proposal.tests?.abort();
        if (accepted) this.#update(proposal, { status: 'cancelled' });
        return { accepted };
      }
      case 'different-approach': {
        const accepted = approvals.answerCall(call, { decision: 'cancel', reason: differentApproachReason(answer.reason) });
        proposal.tests?.abort();
        if (accepted) this.#update(proposal, { status: 'cancelled', message: 'Rejected with "Try a different approach".' });
        return { accepted };
      }
      case 'add-tests': {
        const requestTests = this.options.requestTests;
        if (!requestTests) throw new SophiaError('unavailable', 'Add Tests is not available here.');
        if (proposal.input.files.length >= codeLimits.filesPerProposal) {
          throw new SophiaError('refused', `This proposal already has ${codeLimits.filesPerProposal} files, the most one proposal holds.`);
        }
        const { message: _previous, ...rest } = proposal.view;
        proposal.view = rest;
        this.#update(proposal, { status: 'tests-requested' });
        void this.#addTests(proposal, requestTests).catch((error: unknown) => {
          log.error('adding tests failed', { proposalId: proposal.view.proposalId, error });
          this.#testsDone(proposal, 'No tests were added: something went wrong inside Sophia; the details are in the log.');
        });
        return { accepted: true };
      }
      case 'modify': {
        const edits = new Map(answer.files.map((file) => [file.path, file.content]));
        for (const path of edits.keys()) {
          if (!proposal.input.files.some((file) => file.path === path)) throw new SophiaError('bad_request', `${path} is not part of this proposal.`);
        }
        const input: ProposeInput = {
          summary: proposal.input.summary,
          files: proposal.input.files.map((file) => ({ path: file.path, content: edits.get(file.path) ?? file.content })),
        };
        const answered = approve({ decision: 'modify', args: JSON.stringify(input) });
        if (!answered.accepted) return answered;
        proposal.modified = true;
        proposal.input = input;
        this.#update(proposal, { files: proposal.view.files.map((file) => ({ ...file, proposed: edits.get(file.path) ?? file.proposed })) });
        return answered;
      }
      default: {
        const never: never = answer;
        throw new SophiaError('bad_request', `Unknown action ${String(never)}.`);
      }
    }
  }

  /** The side turn of Add Tests, then its files merged into the proposal as more diffs. */
  async #addTests(proposal: Proposal, requestTests: TestsRequester): Promise<void> {
    const controller = new AbortController();
    proposal.tests = controller;
    let result: Awaited<ReturnType<TestsRequester>>;
    try {
      result = await requestTests(
        { conversationId: proposal.view.conversationId, summary: proposal.input.summary, patch: patchOf(proposal.input, proposal.base) },
        controller.signal,
      );
    } finally {
      if (proposal.tests === controller) proposal.tests = undefined;
    }
    // Cancelled, stopped or timed out meanwhile: the answer is already given.
    if (proposal.view.status !== 'tests-requested') return;
    if (!result.ok) {
      this.#testsDone(proposal, `No tests were added: ${result.reason}`);
      return;
    }
    const files = [...proposal.input.files];
    const skipped: string[] = [];
    const added: string[] = [];
    for (const test of result.files) {
      const at = files.findIndex((file) => file.path === test.path);
      if (at >= 0) {
        if (!proposal.testFiles.includes(test.path)) {
          skipped.push(`${test.path} (it is part of the change under review)`);
          continue;
        }
        files[at] = { path: test.path, content: test.content };
        proposal.view = { ...proposal.view, files: proposal.view.files.map((file, index) => (index === at ? { ...file, proposed: test.content.replace(/\r\n/g, '\n').slice(0, codeLimits.fileText) } : file)) };
        added.push(test.path);
        continue;
      }
      if (files.length >= codeLimits.filesPerProposal) {
        skipped.push(`${test.path} (a proposal holds at most ${codeLimits.filesPerProposal} files)`);
        continue;
      }
      const read = await this.#readBase(test.path);
      if ('error' in read) {
        skipped.push(`${test.path} (${read.error})`);
        continue;
      }
      if (proposal.base.some((base) => base.file === read.file)) {
        skipped.push(`${test.path} (the same file as another in the proposal)`);
        continue;
      }
      if (proposal.view.status !== 'tests-requested') return;
      proposal.base.push(read);
      files.push({ path: test.path, content: test.content });
      proposal.testFiles.push(test.path);
      proposal.view = { ...proposal.view, files: [...proposal.view.files, { ...this.#fileView(read, test.path, test.content), addedTests: true }] };
      added.push(test.path);
    }
    if (proposal.view.status !== 'tests-requested') return;
    proposal.input = { summary: proposal.input.summary, files };
    const left = skipped.length ? ` Left out: ${skipped.join('; ')}.` : '';
    const note = result.note ? ` ${result.note}` : '';
    this.#testsDone(proposal, added.length ? `Tests added to this change: ${added.join(', ')}.${note}${left}` : `No tests were added.${left}`);
  }

  #testsDone(proposal: Proposal, message: string): void {
    if (proposal.view.status !== 'tests-requested') return;
    this.#update(proposal, { status: 'pending', message: message.slice(0, 4000) });
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
    this.options.publish({ type: 'proposal', proposal: proposal.view });
  }

  #remember(key: string, proposal: Proposal): void {
    this.#byId.set(proposal.view.proposalId, proposal);
    this.#byCall.set(key, proposal.view.proposalId);
    if (this.#byId.size > maxProposals) {
      const [oldest] = this.#byId.values();
      if (oldest !== undefined) {
        oldest.tests?.abort();
        this.#byId.delete(oldest.view.proposalId);
        this.#byCall.delete(callKey(oldest.view));
      }
    }
  }

  /**
   * How the proposal's call ended, told by the registry for that call: refused, timed out,
   * stopped or cancelled without running, or refused by the gate after the person approved it
   * (a change riskier than its card, after Add Tests). The diff view says so instead of waiting.
   */
  settled(call: ToolCallRef, outcome: InvokeOutcome): void {
    const proposalId = this.#byCall.get(callKey(call));
    const proposal = proposalId ? this.#byId.get(proposalId) : undefined;
    if (!proposal) return;
    proposal.tests?.abort();
    if (outcome.kind === 'executed' || !['pending', 'failed', 'tests-requested'].includes(proposal.view.status)) return;
    if (outcome.kind === 'invalid-input') {
      this.#update(proposal, { status: 'failed', message: `Not applied: ${outcome.message}`.slice(0, 4000) });
      return;
    }
    const { decidedBy, reasons } = outcome.decision;
    switch (decidedBy) {
      case 'timeout':
        this.#update(proposal, { status: 'expired', message: 'No answer in time.' });
        return;
      case 'stop':
        this.#update(proposal, { status: 'expired', message: 'Stopped before it was answered.' });
        return;
      case 'user':
        this.#update(proposal, { status: 'cancelled' });
        return;
      default:
        this.#update(proposal, { status: 'failed', message: `Not applied: ${reasons[0] ?? 'refused.'}`.slice(0, 4000) });
    }
  }
}

/** The change as unified diffs (jsdiff), each file against its base, with its lines added and removed. */
function patchesOf(input: ProposeInput, base: readonly BaseFile[]): { text: string; added: number; removed: number }[] {
  return input.files.map((change, index) => {
    const before = base[index];
    const oldName = before?.bytes ? `a/${change.path}` : '/dev/null';
    const patch = jsdiff().structuredPatch(oldName, `b/${change.path}`, before?.text ?? '', change.content.replace(/\r\n/g, '\n'));
    let added = 0;
    let removed = 0;
    for (const hunk of patch.hunks) {
      for (const line of hunk.lines) {
        if (line.startsWith('+')) added += 1;
        else if (line.startsWith('-')) removed += 1;
      }
    }
    return { text: jsdiff().formatPatch(patch), added, removed };
  });
}

function patchOf(input: ProposeInput, base: readonly BaseFile[]): string {
  return patchesOf(input, base)
    .map((patch) => patch.text)
    .join('\n');
}
