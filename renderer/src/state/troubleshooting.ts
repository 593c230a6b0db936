/**
 * The troubleshooting flow as the chat shows it: evidence read → reproduction → cause → fix →
 * verification. Derived from what happened (the tool calls and their results, and the
 * proposals), never from the model's prose: a run_command before the fix was applied is a
 * reproduction, one after it a verification; the quoted evidence is marked by the main
 * process's check against what read_logs returned.
 */
import type { ProposalView } from '../../../shared/code';
import { parseDiagnosisResult } from '../../../shared/troubleshoot';
import type { ChatItem, ToolResultView } from './sophiaState';

export type FlowStepStatus = 'waiting' | 'running' | 'done' | 'failed';

type ToolItem = Extract<ChatItem, { kind: 'tool' }>;

/** One tool call of the flow: what it was asked and what came back. */
export interface FlowCall {
  readonly callId: string;
  /** The command run, or the log source read. */
  readonly what: string;
  readonly result?: ToolResultView;
}

export interface QuotedLine {
  readonly source: string;
  readonly line: string;
  /** undefined until the check's verdict is in. */
  readonly found?: boolean;
}

export interface TroubleshootFlow {
  readonly evidence: { readonly status: FlowStepStatus; readonly reads: readonly FlowCall[]; readonly quoted: readonly QuotedLine[] };
  readonly reproduction: { readonly status: FlowStepStatus; readonly runs: readonly FlowCall[]; readonly named?: string };
  readonly cause: { readonly status: FlowStepStatus; readonly text?: string; readonly earlier: readonly string[] };
  readonly fix: { readonly status: FlowStepStatus; readonly callId?: string; readonly proposal?: ProposalView };
  readonly verification: { readonly status: FlowStepStatus; readonly runs: readonly FlowCall[] };
}

export const flowTools = { read: 'read_logs', run: 'run_command', diagnose: 'report_diagnosis', fix: 'propose_edit' } as const;

const argOf = (item: ToolItem, key: string): unknown => (item.args !== null && typeof item.args === 'object' ? (item.args as Record<string, unknown>)[key] : undefined);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const callOf = (item: ToolItem, what: string): FlowCall => ({ callId: item.id, what, ...(item.result ? { result: item.result } : {}) });

function statusOfCalls(calls: readonly FlowCall[], failedWhenLastFails: boolean): FlowStepStatus {
  const last = calls.at(-1);
  if (!last) return 'waiting';
  if (!last.result) return 'running';
  return failedWhenLastFails && !last.result.ok ? 'failed' : 'done';
}

/** Whether the conversation is one to show the flow for: troubleshooting, or any step of it taken. */
export function showsFlow(items: readonly ChatItem[]): boolean {
  const intent = items.findLast((item) => item.kind === 'intent');
  if (intent?.kind === 'intent' && intent.intent === 'troubleshoot') return true;
  return items.some((item) => item.kind === 'tool' && (item.tool === flowTools.diagnose || item.tool === flowTools.read));
}

export function deriveFlow(items: readonly ChatItem[], proposals: readonly ProposalView[]): TroubleshootFlow {
  const tools = items.filter((item): item is ToolItem => item.kind === 'tool');
  const proposalOf = (callId: string): ProposalView | undefined => proposals.findLast((proposal) => proposal.callId === callId);

  const reads = tools.filter((item) => item.tool === flowTools.read).map((item) => callOf(item, text(argOf(item, 'source'))));
  const diagnoses = tools.filter((item) => item.tool === flowTools.diagnose);
  const diagnosis = diagnoses.at(-1);

  // The fix: the latest propose_edit; the flow's verification is whatever ran after an applied one.
  const fixes = tools.filter((item) => item.tool === flowTools.fix);
  const fixItem = fixes.at(-1);
  const proposal = fixItem ? proposalOf(fixItem.id) : undefined;
  const applied = (item: ToolItem): boolean => proposalOf(item.id)?.status === 'applied' || item.result?.ok === true;
  const appliedAt = tools.findLastIndex((item) => item.tool === flowTools.fix && applied(item));
  const runs = tools.map((item, index) => ({ item, index })).filter(({ item }) => item.tool === flowTools.run);
  const reproductionRuns = runs.filter(({ index }) => appliedAt < 0 || index < appliedAt).map(({ item }) => callOf(item, text(argOf(item, 'command'))));
  const verificationRuns = runs.filter(({ index }) => appliedAt >= 0 && index > appliedAt).map(({ item }) => callOf(item, text(argOf(item, 'command'))));

  // The quoted lines, with the main process's verdict once the call has its result.
  const flags = diagnosis?.result ? parseDiagnosisResult(diagnosis.result.output) : undefined;
  const evidence = argOf(diagnosis ?? ({ args: null } as ToolItem), 'evidence');
  const quoted: QuotedLine[] = [];
  if (Array.isArray(evidence)) {
    for (const group of evidence as { source?: unknown; lines?: unknown }[]) {
      if (!Array.isArray(group.lines)) continue;
      for (const line of group.lines) {
        const found = flags?.[quoted.length];
        quoted.push({ source: text(group.source), line: text(line), ...(found === undefined ? {} : { found }) });
      }
    }
  }

  // Diagnoses the model gave before its latest (one the person turned down, say), latest last.
  const earlier = diagnoses
    .slice(0, -1)
    .map((item) => text(argOf(item, 'cause')))
    .filter((cause) => cause !== '');

  const fixStatus: FlowStepStatus = !fixItem
    ? 'waiting'
    : proposal?.status === 'applied' || fixItem.result?.ok === true
      ? 'done'
      : fixItem.result || (proposal && ['cancelled', 'failed', 'expired', 'stale'].includes(proposal.status))
        ? 'failed'
        : 'running';

  const named = text(argOf(diagnosis ?? ({ args: null } as ToolItem), 'reproduction'));
  return {
    evidence: { status: statusOfCalls(reads, reads.every((read) => read.result?.ok === false)), reads, quoted },
    reproduction: { status: statusOfCalls(reproductionRuns, false), runs: reproductionRuns, ...(named ? { named } : {}) },
    cause: {
      status: !diagnosis ? 'waiting' : !diagnosis.result ? 'running' : diagnosis.result.ok ? 'done' : 'failed',
      ...(diagnosis ? { text: text(argOf(diagnosis, 'cause')) } : {}),
      earlier,
    },
    fix: { status: fixStatus, ...(fixItem ? { callId: fixItem.id } : {}), ...(proposal ? { proposal } : {}) },
    verification: { status: statusOfCalls(verificationRuns, true), runs: verificationRuns },
  };
}
