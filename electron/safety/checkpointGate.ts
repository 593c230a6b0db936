/**
 * Records a checkpoint before every applied change: wraps the approval gate, and once the
 * gate has allowed a call that may change state (any tool not declared read-only), records
 * the workspace before the executor runs. This is the one async seam between "approved"
 * and "executed" (`ToolRegistry.invoke` runs the executor right after the gate answers).
 *
 * It fails closed: when the workspace cannot be recorded, the change does not run, since
 * it could not be rolled back.
 */
import type { GateDecision, ToolCallRequest, ToolGate } from '../agent/tools';
import { SophiaError } from '../../shared/errors';
import { createLogger } from '../log';

const log = createLogger('checkpointGate');

export interface CheckpointRecorder {
  /** Undefined when there is nothing to record (no workspace open). */
  recordBefore(conversationId: string, label: string): Promise<unknown>;
}

export function withCheckpoints(gate: ToolGate, recorder: CheckpointRecorder): ToolGate {
  return {
    async decide(request: ToolCallRequest, signal: AbortSignal): Promise<GateDecision> {
      const decision = await gate.decide(request, signal);
      if (!decision.allowed || request.tool.risk === 'read-only' || signal.aborted) return decision;
      const input = decision.modifiedInput ?? request.input;
      let what: string;
      try {
        what = request.tool.describe?.(input as never) ?? request.tool.name;
      } catch {
        what = request.tool.name;
      }
      try {
        await recorder.recordBefore(request.conversationId, `before ${what}`);
        return decision;
      } catch (error) {
        log.error('checkpoint failed; the change does not run', { tool: request.tool.name, error });
        const reason = error instanceof SophiaError ? error.message : 'the workspace could not be recorded';
        return { ...decision, allowed: false, decidedBy: 'error', reasons: [`No checkpoint could be taken before ${request.tool.name}, so it did not run: ${reason}`] };
      }
    },
  };
}
