/**
 * The hook service as the gate and the agent use it (their interfaces, met structurally: this
 * layer does not import them). What each event's verdict means:
 * - PreToolUse: deny (or a failure) refuses the call; ask makes the gate ask the person.
 * - UserPromptSubmit: deny blocks the prompt, with the reason shown.
 * - PostToolUse: deny marks the result failed and tells the model why.
 * - Stop: an explicit block of a user or managed hook keeps the agent working with its reason
 *   (bounded by the agent); a failing Stop hook is shown, and the agent stops as it would have.
 */
import type { HookService, HookVerdict } from './hookService';

const reasonsOf = (verdict: HookVerdict): string[] => [...verdict.blocks, ...verdict.failures];

export function preToolUseCheck(hooks: HookService) {
  return async (
    request: { readonly conversationId: string; readonly callId: string; readonly tool: { readonly name: string }; readonly input: unknown },
    signal: AbortSignal,
  ): Promise<{ decision: 'deny' | 'ask' | 'none'; reasons: readonly string[] }> => {
    const verdict = await hooks.run('PreToolUse', { conversationId: request.conversationId, toolName: request.tool.name, toolInput: request.input, toolUseId: request.callId }, signal);
    switch (verdict.decision) {
      case 'deny':
        return { decision: 'deny', reasons: reasonsOf(verdict) };
      case 'ask':
        return { decision: 'ask', reasons: verdict.asks };
      case 'none':
        return { decision: 'none', reasons: [] };
    }
  };
}

export function hookTurn(hooks: HookService) {
  return {
    userPromptSubmit: async (conversationId: string, prompt: string, signal: AbortSignal) => {
      const verdict = await hooks.run('UserPromptSubmit', { conversationId, prompt }, signal);
      return verdict.decision === 'deny' ? { block: reasonsOf(verdict).join(' '), context: [] } : { context: verdict.context };
    },
    postToolUse: async (
      conversationId: string,
      call: { readonly callId: string; readonly tool: string; readonly input: unknown },
      result: { readonly ok: boolean; readonly output: string },
      signal: AbortSignal,
    ) => {
      const verdict = await hooks.run(
        'PostToolUse',
        { conversationId, toolName: call.tool, toolInput: call.input, toolUseId: call.callId, toolResponse: { success: result.ok, output: result.output } },
        signal,
      );
      return verdict.decision === 'deny' ? { block: reasonsOf(verdict).join(' '), context: verdict.context } : { context: verdict.context };
    },
    stop: async (conversationId: string, stopHookActive: boolean, signal: AbortSignal) => {
      const verdict = await hooks.run('Stop', { conversationId, stopHookActive }, signal);
      return {
        ...(verdict.blocks.length > 0 ? { continueWith: verdict.blocks.join(' ') } : {}),
        ...(verdict.failures.length > 0 ? { problem: `A Stop hook failed, so it could not keep Sophia working: ${verdict.failures.join(' ')}` } : {}),
      };
    },
  };
}
