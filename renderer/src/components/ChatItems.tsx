import { memo, useContext, useState } from 'react';
import type { PlanStep } from '../../../shared/contract';
import { intentLabels, type Intent } from '../../../shared/intents';
import type { ChatItem } from '../state/sophiaState';
import { MessageView } from './MessageView';
import { PullRequestCard } from './PullRequestCard';
import { ToolOutputReaderContext, ToolOutputViewer } from './ToolOutputViewer';

/** The recognised intent: a label only; the plan shown is the model's own. */
const IntentView = memo(function IntentView({ intent, plan }: { intent: Intent; plan: readonly string[] }) {
  return (
    <div className="intent" data-testid="intent">
      <span className="intent-badge">{intentLabels[intent]}</span>
      {plan.length > 0 && (
        <ol className="intent-plan">
          {plan.map((step) => (
            <li key={step}>{step}</li>
          ))}
        </ol>
      )}
    </div>
  );
});

const stepMarks: Readonly<Record<PlanStep['status'], string>> = { pending: '○', done: '✓', failed: '✗' };

/** The model's plan (update_plan) as a checklist, updated in place as the work goes on. */
const PlanView = memo(function PlanView({ steps }: { steps: readonly PlanStep[] }) {
  return (
    <div className="live-plan" data-testid="live-plan">
      <span className="live-plan-title">Plan</span>
      <ol className="live-plan-steps">
        {steps.map((step, index) => (
          <li key={`${index}:${step.text}`} className={`plan-step plan-step-${step.status}`} data-testid="plan-step" data-status={step.status}>
            <span className="plan-step-mark" aria-label={step.status}>
              {stepMarks[step.status]}
            </span>{' '}
            {step.text}
          </li>
        ))}
      </ol>
    </div>
  );
});

/** The model's progress notes between tool calls: one quiet line, opened on demand. */
const ThinkingView = memo(function ThinkingView({ text }: { text: string }) {
  const firstLine = text.split('\n', 1)[0] ?? '';
  return (
    <div className="thinking" data-testid="thinking">
      <details>
        <summary className="thinking-summary">{firstLine.length > 160 ? `${firstLine.slice(0, 160)}…` : firstLine}</summary>
        <div className="thinking-text">{text}</div>
      </details>
    </div>
  );
});

const ToolView = memo(function ToolView({ item }: { item: Extract<ChatItem, { kind: 'tool' }> }) {
  const [open, setOpen] = useState(false);
  const [viewing, setViewing] = useState(false);
  const read = useContext(ToolOutputReaderContext);
  const state = item.result ? (item.result.ok ? 'ok' : 'failed') : 'running';
  const result = item.result;
  const cut = result?.fullChars !== undefined ? result.fullChars - result.output.length - (result.tail?.length ?? 0) : 0;
  return (
    <div className={`tool tool-${state}`} data-testid="tool-call">
      <button type="button" className="tool-header" onClick={() => setOpen(!open)} aria-expanded={open}>
        <span className="tool-name">{item.tool}</span>
        <span className={`risk risk-${item.risk}`}>{item.risk}</span>
        <span className="tool-args">{JSON.stringify(item.args)?.slice(0, 160)}</span>
        <span className="tool-state">{state === 'running' ? 'running…' : state}</span>
      </button>
      {(open || state === 'failed') && result && (
        <pre className="tool-output" data-testid="tool-output">
          {result.output}
          {result.fullChars !== undefined && (
            <>
              <span className="tool-output-cut" data-testid="tool-output-cut">{`\n… ${cut.toLocaleString('en')} more characters: open the full output …\n`}</span>
              {result.tail}
            </>
          )}
        </pre>
      )}
      {(open || state === 'failed') && result?.fullChars !== undefined && read && (
        <button type="button" className="tool-output-open" data-testid="tool-output-open" onClick={() => setViewing(true)}>
          Open full output ({result.fullChars.toLocaleString('en')} characters)
        </button>
      )}
      {viewing && read && <ToolOutputViewer callId={item.id} tool={item.tool} read={read} onClose={() => setViewing(false)} />}
    </div>
  );
});

export function ChatItemView({ item }: { item: ChatItem }) {
  switch (item.kind) {
    case 'message':
      return <MessageView message={item.message} streaming={item.streaming} />;
    case 'intent':
      return <IntentView intent={item.intent} plan={item.plan} />;
    case 'tool':
      return <ToolView item={item} />;
    case 'pull-request':
      return <PullRequestCard pullRequest={item.pullRequest} />;
    case 'thinking':
      return <ThinkingView text={item.text} />;
    case 'plan':
      return <PlanView steps={item.steps} />;
  }
}
