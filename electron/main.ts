/**
 * The Electron main process: one hardened window, the main-process services, and the
 * contract carried over two IPC channels. Requests from any sender but our own window's
 * main frame, served from our own origin, are refused.
 */
import { app, BrowserWindow, dialog, globalShortcut, ipcMain, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipcChannels } from '../shared/contract';
import { fail, SophiaError } from '../shared/errors';
import { createSophiaCore } from './app/sophiaCore';
import { dispatch } from './ipc/dispatch';
import { startAppMcpHost } from './app/appMcpHost';
import { isTrustedSender, originOf, type SenderFacts } from './ipc/senderPolicy';
import { createLogger } from './log';
import { registerStopShortcut } from './safety/stopShortcut';
import { appOrigin, createMainWindow, lockDownWebContents, registerAppScheme, serveRenderer } from './window';

const log = createLogger('main');
const here = path.dirname(fileURLToPath(import.meta.url));
// electron-vite sets this only for `electron-vite dev`; a packaged or previewed app has none.
const devServerUrl = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'];
const startUrl = devServerUrl ?? `${appOrigin}/index.html`;
const trustedOrigin = originOf(startUrl) ?? appOrigin;

const isAppUrl = (url: string): boolean => originOf(url) === trustedOrigin;

registerAppScheme();
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void app.whenReady().then(start);
}

function start(): void {
  serveRenderer(path.resolve(here, '../renderer'));
  const dataDir = app.getPath('userData');
  // The workspace picker is the system's own folder dialog, over the one window.
  const parent: { window?: BrowserWindow } = {};
  const pickFolder = async (defaultPath: string | undefined): Promise<string | undefined> => {
    const owner = parent.window;
    if (!owner || owner.isDestroyed()) return undefined;
    const picked = await dialog.showOpenDialog(owner, {
      title: 'Choose the workspace folder',
      properties: ['openDirectory', 'dontAddToRecent'],
      ...(defaultPath ? { defaultPath } : {}),
    });
    return picked.canceled ? undefined : picked.filePaths[0];
  };
  const core = createSophiaCore({ host: 'electron', dataDir, pickFolder });
  lockDownWebContents(isAppUrl, () => core.settings.get().externalLinkHosts);
  const window = createMainWindow(path.resolve(here, '../preload/index.cjs'), startUrl);
  parent.window = window;
  // The sandbox (crash clean-up, warm pool), outside MCP servers and the MCP endpoint wait for the first paint.
  let mcp: Promise<{ close(): Promise<void> } | undefined> = Promise.resolve(undefined);
  window.once('ready-to-show', () => {
    core.startAfterWindow();
    mcp = startAppMcpHost(core, dataDir, () => !window.isDestroyed());
  });

  const senderFacts = (event: IpcMainInvokeEvent): SenderFacts => ({
    fromMainWindow: !window.isDestroyed() && event.sender === window.webContents,
    fromMainFrame: event.senderFrame !== null && event.senderFrame === window.webContents.mainFrame,
    frameUrl: event.senderFrame?.url,
  });

  ipcMain.handle(ipcChannels.request, async (event, channel: unknown, input: unknown) => {
    if (!isTrustedSender(senderFacts(event), trustedOrigin)) {
      log.warn('ipc refused: unexpected sender', { url: event.senderFrame?.url.slice(0, 200) });
      return fail(new SophiaError('refused', 'Requests are accepted only from the Sophia window.'));
    }
    return dispatch(core.handlers, channel, input, { transport: 'ipc' });
  });

  const unsubscribe = core.events.subscribe((event) => {
    if (!window.isDestroyed()) window.webContents.send(ipcChannels.event, event);
  });

  window.on('closed', unsubscribe);
  const unregisterStopShortcut = registerStopShortcut(globalShortcut, () => core.stop.stopAll());
  app.on('will-quit', unregisterStopShortcut);
  app.on('window-all-closed', () => {
    void Promise.allSettled([mcp.then((host) => host?.close()), core.close()]).finally(() => app.quit());
  });
  app.on('second-instance', () => {
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  log.info('sophia started', { windows: BrowserWindow.getAllWindows().length });
}
