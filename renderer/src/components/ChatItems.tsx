import { memo, useState } from 'react';
import { intentLabels, type Intent } from '../../../shared/intents';
import type { ChatItem } from '../state/sophiaState';
import { MessageView } from './MessageView';
import { PullRequestCard } from './PullRequestCard';

const IntentView = memo(function IntentView({ intent, plan }: { intent: Intent; plan: readonly string[] }) {
  return (
    <li className="intent" data-testid="intent">
      <span className="intent-badge">{intentLabels[intent]}</span>
      <ol className="intent-plan">
        {plan.map((step) => (
          <li key={step}>{step}</li>
        ))}
      </ol>
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
  }
}
