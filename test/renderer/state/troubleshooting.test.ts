import { describe, expect, it } from 'vitest';
import type { ProposalView } from '../../../shared/code';
import type { SophiaEvent } from '../../../shared/contract';
import { diagnosisResult } from '../../../shared/troubleshoot';
import { initialState, reduce, type SophiaState } from '../../../renderer/src/state/sophiaState';
import { deriveFlow, showsFlow } from '../../../renderer/src/state/troubleshooting';

const c = 'conv-1';
const fold = (events: SophiaEvent[], state: SophiaState = initialState): SophiaState => events.reduce((s, event) => reduce(s, { type: 'event', event }), state);
const call = (callId: string, tool: string, args: unknown): SophiaEvent => ({ type: 'tool.call', conversationId: c, callId, tool, args, risk: 'read-only' });
const result = (callId: string, ok: boolean, output: string): SophiaEvent => ({ type: 'tool.result', conversationId: c, callId, ok, output });
const proposal = (status: ProposalView['status']): SophiaEvent => ({
  type: 'proposal',
  proposal: { proposalId: 'p1', conversationId: c, callId: 'e1', summary: 'Back off and paginate', status, files: [], createdAt: 1 },
});
const flowOf = (state: SophiaState) => deriveFlow(state.items, state.proposals);

describe('troubleshooting flow', () => {
  it('follows what happened: evidence, a failing reproduction, the checked diagnosis, the fix, the verification', () => {
    let state = fold([{ type: 'agent.intent', conversationId: c, intent: 'troubleshoot', plan: [] }]);
    expect(showsFlow(state.items)).toBe(true);
    expect(Object.values(flowOf(state)).map((step) => step.status)).toEqual(['waiting', 'waiting', 'waiting', 'waiting', 'waiting']);

    state = fold([call('r1', 'read_logs', { source: 'notion-sync' })], state);
    expect(flowOf(state).evidence.status).toBe('running');
    state = fold([result('r1', true, 'ERROR 429 rate_limited'), call('x1', 'run_command', { command: 'python3 sync.py' }), result('x1', false, 'The command failed with exit code 1 (0.4 s).\nTraceback')], state);
    let flow = flowOf(state);
    expect(flow.evidence).toMatchObject({ status: 'done', reads: [{ what: 'notion-sync' }] });
    // A failing run before any fix is the reproduction, done: it reproduced the failure.
    expect(flow.reproduction).toMatchObject({ status: 'done', runs: [{ what: 'python3 sync.py', result: { ok: false } }] });
    expect(flow.verification.status).toBe('waiting');

    const evidence = [{ source: 'notion-sync', lines: ['ERROR 429 rate_limited', 'ERROR invented'] }];
    state = fold([call('d1', 'report_diagnosis', { cause: 'No backoff on 429.', evidence, reproduction: 'x1' })], state);
    expect(flowOf(state).evidence.quoted.map((line) => line.found)).toEqual([undefined, undefined]);
    state = fold([result('d1', true, diagnosisResult([{ source: 'notion-sync', line: 'a', found: true }, { source: 'notion-sync', line: 'b', found: false }]))], state);
    flow = flowOf(state);
    expect(flow.cause).toMatchObject({ status: 'done', text: 'No backoff on 429.' });
    expect(flow.evidence.quoted).toEqual([
      { source: 'notion-sync', line: 'ERROR 429 rate_limited', found: true },
      { source: 'notion-sync', line: 'ERROR invented', found: false },
    ]);
    expect(flow.reproduction.named).toBe('x1');

    state = fold([call('e1', 'propose_edit', { summary: 'Back off and paginate' }), proposal('pending')], state);
    expect(flowOf(state).fix).toMatchObject({ status: 'running', proposal: { status: 'pending' } });
    state = fold([proposal('applied'), result('e1', true, 'Applied to 1 file(s)'), call('x2', 'run_command', { command: 'python3 sync.py' })], state);
    flow = flowOf(state);
    expect(flow.fix.status).toBe('done');
    expect(flow.reproduction.runs.map((run) => run.callId)).toEqual(['x1']);
    expect(flow.verification).toMatchObject({ status: 'running', runs: [{ callId: 'x2' }] });
    state = fold([result('x2', true, 'Exit code 0 (1.1 s).\n3 pages synced')], state);
    expect(flowOf(state).verification.status).toBe('done');
  });

  it('a failed verification fails its step; a rejected fix fails the fix and keeps later runs as reproduction', () => {
    let state = fold([
      { type: 'agent.intent', conversationId: c, intent: 'troubleshoot', plan: [] },
      call('d1', 'report_diagnosis', { cause: 'First idea', evidence: [] }),
      call('e1', 'propose_edit', {}),
      proposal('cancelled'),
      result('e1', false, 'Not approved'),
      call('x1', 'run_command', { command: 'pytest' }),
      call('d2', 'report_diagnosis', { cause: 'Second idea', evidence: [] }),
    ]);
    let flow = flowOf(state);
    expect(flow.fix.status).toBe('failed');
    expect(flow.reproduction.runs.map((run) => run.callId)).toEqual(['x1']);
    expect(flow.cause).toMatchObject({ text: 'Second idea', earlier: ['First idea'] });

    state = fold([call('e2', 'propose_edit', {}), result('e2', true, 'Applied'), call('x2', 'run_command', { command: 'pytest' }), result('x2', false, 'The command failed with exit code 1')], state);
    flow = flowOf(state);
    expect(flow.fix.status).toBe('done');
    expect(flow.verification.status).toBe('failed');
  });

  it('is not shown for a conversation that is not troubleshooting and read no logs', () => {
    const state = fold([{ type: 'agent.intent', conversationId: c, intent: 'code-edit', plan: [] }, call('x1', 'run_command', { command: 'npm test' })]);
    expect(showsFlow(state.items)).toBe(false);
  });
});
