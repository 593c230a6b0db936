import { memo, useState } from 'react';
import type { PlanStep } from '../../../shared/contract';
import { intentLabels, type Intent } from '../../../shared/intents';
import type { ChatItem } from '../state/sophiaState';
import { MessageView } from './MessageView';
import { PullRequestCard } from './PullRequestCard';

/** The recognised intent: a label only; the plan shown is the model's own. */
const IntentView = memo(function IntentView({ intent, plan }: { intent: Intent; plan: readonly string[] }) {
  return (
    <li className="intent" data-testid="intent">
      <span className="intent-badge">{intentLabels[intent]}</span>
      {plan.length > 0 && (
        <ol className="intent-plan">
          {plan.map((step) => (
            <li key={step}>{step}</li>
          ))}
        </ol>
      )}
    </li>
  );
});

const stepMarks: Readonly<Record<PlanStep['status'], string>> = { pending: '○', done: '✓', failed: '✗' };

/** The model's plan (update_plan) as a checklist, updated in place as the work goes on. */
const PlanView = memo(function PlanView({ steps }: { steps: readonly PlanStep[] }) {
  return (
    <li className="live-plan" data-testid="live-plan">
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
    </li>
  );
});

/** The model's progress notes between tool calls: one quiet line, opened on demand. */
const ThinkingView = memo(function ThinkingView({ text }: { text: string }) {
  const firstLine = text.split('\n', 1)[0] ?? '';
  return (
    <li className="thinking" data-testid="thinking">
      <details>
        <summary className="thinking-summary">{firstLine.length > 160 ? `${firstLine.slice(0, 160)}…` : firstLine}</summary>
        <div className="thinking-text">{text}</div>
      </details>
    </li>
  );
});

const shownOutput = 4000;

const ToolView = memo(function ToolView({ item }: { item: Extract<ChatItem, { kind: 'tool' }> }) {
  const [open, setOpen] = useState(false);
  const state = item.result ? (item.result.ok ? 'ok' : 'failed') : 'running';
  const output = item.result?.output ?? '';
  return (
    <li className={`tool tool-${state}`} data-testid="tool-call">
      <button type="button" className="tool-header" onClick={() => setOpen(!open)} aria-expanded={open}>
        <span className="tool-name">{item.tool}</span>
        <span className={`risk risk-${item.risk}`}>{item.risk}</span>
        <span className="tool-args">{JSON.stringify(item.args)?.slice(0, 160)}</span>
        <span className="tool-state">{state === 'running' ? 'running…' : state}</span>
      </button>
      {(open || state === 'failed') && item.result && (
        <pre className="tool-output" data-testid="tool-output">
          {output.length > shownOutput ? `${output.slice(0, shownOutput)}\n… (${output.length - shownOutput} more characters)` : output}
        </pre>
      )}
    </li>
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
