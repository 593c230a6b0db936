/** The request channels of git and checkpoints, over the contract. */
import type { Handlers } from '../../shared/handlers';
import type { GitService } from './gitService';

type GitChannel = 'git.status' | 'git.diff' | 'checkpoint.list' | 'checkpoint.rollback';

export function gitHandlers(git: GitService): Pick<Handlers, GitChannel> {
  return {
    'git.status': () => git.status(),
    'git.diff': (input) => git.diff(input.path),
    'checkpoint.list': async (input) => ({ checkpoints: git.settingsHaveWorkspace() ? await git.checkpoints().list(input.conversationId) : [] }),
    // A user action that rewrites files: audited as a request, and by the service as a git operation.
    'checkpoint.rollback': (input) => git.rollback(input.conversationId, input.checkpointId),
  };
}
