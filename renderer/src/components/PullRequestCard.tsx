import { memo } from 'react';
import type { PullRequestView } from '../../../shared/contract';

/** The pull request the agent opened, with its link and status. https links open in the system browser. */
export const PullRequestCard = memo(function PullRequestCard({ pullRequest }: { pullRequest: PullRequestView }) {
  const safeUrl = /^https?:\/\//.test(pullRequest.url) ? pullRequest.url : undefined;
  return (
    <div className="pull-request" data-testid="pull-request">
      <span className={`pr-state pr-${pullRequest.state}`}>{pullRequest.state}</span>
      <span className="pr-title">
        Pull request{' '}
        {safeUrl ? (
          <a href={safeUrl} target="_blank" rel="noreferrer noopener" data-testid="pull-request-link">
            #{pullRequest.number} {pullRequest.title}
          </a>
        ) : (
          <span>
            #{pullRequest.number} {pullRequest.title}
          </span>
        )}
      </span>
      <span className="pr-branches">
        {pullRequest.head} → {pullRequest.base}
      </span>
    </div>
  );
});
