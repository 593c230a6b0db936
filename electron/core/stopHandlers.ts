/** The request channels of the red button: stop everything, and resume once the person says so. */
import type { Handlers } from '../../shared/handlers';
import type { StopController } from './stopController';

export function stopHandlers(stop: StopController, options: { readonly resumed: () => void }): Pick<Handlers, 'stop.all' | 'stop.resume'> {
  return {
    'stop.all': () => stop.stopAll(),
    'stop.resume': () => {
      stop.resume();
      options.resumed();
      return { locked: false as const };
    },
  };
}
