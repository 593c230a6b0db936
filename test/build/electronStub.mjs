/**
 * A stand-in for the `electron` module, for loading the built Electron main (out/main/index.js)
 * under plain Node: every property is a recorder, every call is recorded by name in
 * `globalThis.__electronStubCalls`. `app.getPath()` answers SOPHIA_STUB_USER_DATA, the
 * single-instance lock is granted and `app.whenReady()` resolves, so the main's start-up runs.
 */
const calls = [];
globalThis.__electronStubCalls = calls;

const answers = {
  'app.requestSingleInstanceLock': () => true,
  'app.whenReady': () => Promise.resolve(),
  'app.getPath': () => process.env['SOPHIA_STUB_USER_DATA'] ?? '/nonexistent',
  'app.getVersion': () => '0.0.0-stub',
  'app.isPackaged': () => false,
};

function recorder(name) {
  return new Proxy(function electronStub() {}, {
    get(_target, property) {
      if (property === 'then') return undefined;
      if (property === Symbol.toPrimitive) return () => `[electron stub ${name}]`;
      if (name === 'app' && property === 'isPackaged') return false;
      return recorder(`${name}.${String(property)}`);
    },
    apply(_target, _this, args) {
      calls.push(name);
      const answer = answers[name];
      return answer ? answer(...args) : recorder(`${name}()`);
    },
    construct() {
      calls.push(`new ${name}`);
      return recorder(`new ${name}`);
    },
  });
}

export const app = recorder('app');
export const BrowserWindow = recorder('BrowserWindow');
export const globalShortcut = recorder('globalShortcut');
export const ipcMain = recorder('ipcMain');
export const net = recorder('net');
export const protocol = recorder('protocol');
export const session = recorder('session');
export const shell = recorder('shell');
export const webContents = recorder('webContents');
export const dialog = recorder('dialog');
export const Menu = recorder('Menu');
export const nativeTheme = recorder('nativeTheme');
export const contextBridge = recorder('contextBridge');
export const ipcRenderer = recorder('ipcRenderer');
export default { app, BrowserWindow, globalShortcut, ipcMain, net, protocol, session, shell, webContents, dialog, Menu, nativeTheme, contextBridge, ipcRenderer };
