/** The request channels of the hooks: list them by source, and replace the user's. */
import type { Handlers } from '../../shared/handlers';
import type { HookService } from './hookService';

export function hooksHandlers(hooks: HookService): Pick<Handlers, 'hooks.list' | 'hooks.save'> {
  return {
    'hooks.list': () => hooks.list(),
    'hooks.save': (input) => hooks.saveUser(input.hooks),
  };
}
