/**
 * The main-process services, free of Electron: the Electron main process and the browser
 * host both start exactly this, so what the browser tests exercise is what ships.
 */
import type { AppStatus } from '../../shared/contract';
import type { Handlers } from '../ipc/dispatch';
import { ChatService } from './chatService';
import { EventHub } from './eventHub';
import { StopController } from './stopController';
import { appVersion } from './version';

export interface SophiaCore {
  readonly events: EventHub;
  readonly stop: StopController;
  readonly handlers: Handlers;
  status(): AppStatus;
}

export function createSophiaCore(options: { host: AppStatus['host'] }): SophiaCore {
  const events = new EventHub();
  const stop = new StopController(events);
  const chat = new ChatService(events, stop);

  const status = (): AppStatus => ({
    version: appVersion,
    host: options.host,
    platform: process.platform,
    locked: stop.locked,
    model: { provider: 'none', name: 'not configured', offline: false },
  });

  const handlers: Handlers = {
    'app.status': () => status(),
    'chat.send': (input) => chat.send(input.text, input.conversationId),
    'chat.history': (input) => ({ messages: chat.history(input.conversationId) }),
    'stop.all': () => stop.stopAll(),
    'stop.resume': () => {
      stop.resume();
      events.publish({ type: 'status', status: status() });
      return { locked: false as const };
    },
  };

  return { events, stop, handlers, status };
}
