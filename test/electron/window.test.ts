/**
 * No Electron binary runs here, so the window's hardening is checked at the seam: the
 * options our code hands to Electron and the handlers it installs, with Electron's API
 * replaced by recorders. The real window is exercised by `npm start` on a desktop.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const recorded = vi.hoisted(() => ({
  windowOptions: undefined as unknown,
  appHandlers: new Map<string, (...args: unknown[]) => void>(),
  permissionHandler: undefined as undefined | ((...args: unknown[]) => void),
  permissionCheck: undefined as undefined | (() => boolean),
  openExternal: [] as string[],
}));

vi.mock('electron', () => ({
  app: { on: (name: string, handler: (...args: unknown[]) => void) => recorded.appHandlers.set(name, handler) },
  BrowserWindow: class {
    constructor(options: unknown) {
      recorded.windowOptions = options;
    }
    once(): void {}
    loadURL(): Promise<void> {
      return Promise.resolve();
    }
  },
  net: {},
  protocol: {},
  session: {
    defaultSession: {
      setPermissionRequestHandler: (handler: (...args: unknown[]) => void) => (recorded.permissionHandler = handler),
      setPermissionCheckHandler: (handler: () => boolean) => (recorded.permissionCheck = handler),
    },
  },
  shell: { openExternal: (url: string) => recorded.openExternal.push(url) },
}));

const { createMainWindow, isAllowedExternalLink, lockDownWebContents, resolveAppFile } = await import('../../electron/window');
const { isTrustedSender } = await import('../../electron/ipc/senderPolicy');

describe('the main window', () => {
  it('is created sandboxed, isolated, without Node and without webviews', () => {
    createMainWindow('/app/preload.cjs', 'app://sophia/index.html');
    expect(recorded.windowOptions).toMatchObject({
      webPreferences: {
        preload: '/app/preload.cjs',
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
      },
    });
  });
});

describe('web contents lock-down', () => {
  class FakeContents extends EventEmitter {
    openHandler: ((details: { url: string }) => { action: string }) | undefined;
    setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
      this.openHandler = handler;
    }
  }
  const navigate = (contents: FakeContents, event: string, url: string): boolean => {
    const prevented = { value: false };
    contents.emit(event, { preventDefault: () => (prevented.value = true) }, url);
    return prevented.value;
  };
  let contents: FakeContents;
  let hosts: string[] = ['docs.example', '*.allowed.example'];

  beforeEach(() => {
    recorded.openExternal.length = 0;
    lockDownWebContents((url) => url.startsWith('app://sophia/'), () => hosts);
    contents = new FakeContents();
    recorded.appHandlers.get('web-contents-created')?.({}, contents);
  });

  it('refuses navigation and redirects away from the app', () => {
    expect(navigate(contents, 'will-navigate', 'https://evil.example/')).toBe(true);
    expect(navigate(contents, 'will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(navigate(contents, 'will-redirect', 'http://127.0.0.1:1/')).toBe(true);
    expect(navigate(contents, 'will-navigate', 'app://sophia/index.html')).toBe(false);
  });

  it('refuses every new window; https links to listed hosts go to the system browser', () => {
    expect(contents.openHandler?.({ url: 'https://docs.example/' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: 'javascript:alert(1)' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(recorded.openExternal).toEqual(['https://docs.example/']);
  });

  it('opens only https links to a host on the list, which the person can extend', () => {
    hosts = ['docs.example', '*.allowed.example'];
    for (const url of [
      'https://evil.example/',
      'https://docs.example.evil.example/',
      'https://evildocs.example/',
      'https://allowed.example/',
      'http://docs.example/',
      'https://user:pw@docs.example/',
      'https://docs.example:8443/',
      'https://docs.example@evil.example/',
      'ms-settings:',
      'not a url',
    ]) {
      contents.openHandler?.({ url });
      expect(isAllowedExternalLink(url, hosts), url).toBe(false);
    }
    expect(recorded.openExternal).toEqual([]);
    contents.openHandler?.({ url: 'https://a.allowed.example/page' });
    contents.openHandler?.({ url: 'https://DOCS.example/x' });
    expect(recorded.openExternal).toEqual(['https://a.allowed.example/page', 'https://DOCS.example/x']);
    hosts = [...hosts, 'evil.example'];
    contents.openHandler?.({ url: 'https://evil.example/' });
    expect(recorded.openExternal).toHaveLength(3);
  });

  it('refuses webviews and every permission', () => {
    const prevented = { value: false };
    contents.emit('will-attach-webview', { preventDefault: () => (prevented.value = true) });
    expect(prevented.value).toBe(true);
    const answers: boolean[] = [];
    recorded.permissionHandler?.({}, 'media', (granted: boolean) => answers.push(granted));
    recorded.permissionHandler?.({}, 'geolocation', (granted: boolean) => answers.push(granted));
    expect(answers).toEqual([false, false]);
    expect(recorded.permissionCheck?.()).toBe(false);
  });

  it("lets only the app's own page write to the clipboard (a code block's Copy), and never read it", () => {
    const answers: boolean[] = [];
    const check = recorded.permissionCheck as unknown as (contents: unknown, permission: string, origin: string) => boolean;
    recorded.permissionHandler?.({}, 'clipboard-sanitized-write', (granted: boolean) => answers.push(granted), { requestingUrl: 'app://sophia/index.html' });
    recorded.permissionHandler?.({}, 'clipboard-sanitized-write', (granted: boolean) => answers.push(granted), { requestingUrl: 'https://evil.example/' });
    recorded.permissionHandler?.({}, 'clipboard-read', (granted: boolean) => answers.push(granted), { requestingUrl: 'app://sophia/index.html' });
    expect(answers).toEqual([true, false, false]);
    expect(check({}, 'clipboard-sanitized-write', 'app://sophia')).toBe(true);
    expect(check({}, 'clipboard-read', 'app://sophia')).toBe(false);
    expect(check({}, 'clipboard-sanitized-write', 'https://evil.example')).toBe(false);
  });
});

describe('app:// file resolution', () => {
  const root = path.resolve('/srv/sophia/renderer');
  it('maps app URLs into the renderer directory', () => {
    expect(resolveAppFile(root, 'app://sophia/')).toBe(path.join(root, 'index.html'));
    expect(resolveAppFile(root, 'app://sophia/assets/a.js')).toBe(path.join(root, 'assets/a.js'));
  });
  it('refuses traversal, other hosts and other schemes', () => {
    // A literal `..` is folded by URL parsing and stays inside the root.
    expect(resolveAppFile(root, 'app://sophia/../secret')).toBe(path.join(root, 'secret'));
    expect(resolveAppFile(root, 'app://sophia/%2e%2e/%2e%2e/etc/passwd')).toBe(path.join(root, 'etc/passwd'));
    for (const url of [
      'app://sophia/..%2f..%2fetc/passwd',
      'app://other/index.html',
      'file:///etc/passwd',
      'app://sophia/%00',
      'app://sophia/%E0%A4%A',
      'not a url',
    ]) {
      expect(resolveAppFile(root, url), url).toBeUndefined();
    }
  });
});

describe('IPC sender policy', () => {
  const origin = 'app://sophia';
  const trusted = { fromMainWindow: true, fromMainFrame: true, frameUrl: 'app://sophia/index.html' };
  it('answers only our main frame on our origin', () => {
    expect(isTrustedSender(trusted, origin)).toBe(true);
    expect(isTrustedSender({ ...trusted, fromMainWindow: false }, origin)).toBe(false);
    expect(isTrustedSender({ ...trusted, fromMainFrame: false }, origin)).toBe(false);
    expect(isTrustedSender({ ...trusted, frameUrl: undefined }, origin)).toBe(false);
    expect(isTrustedSender({ ...trusted, frameUrl: 'https://evil.example/' }, origin)).toBe(false);
    expect(isTrustedSender({ ...trusted, frameUrl: 'app://sophia.evil/x' }, origin)).toBe(false);
    expect(isTrustedSender({ ...trusted, frameUrl: 'file:///index.html' }, 'null')).toBe(false);
  });
});

describe('origins', () => {
  it('are computed for the app scheme too (Node calls its origin "null")', async () => {
    const { originOf } = await import('../../electron/ipc/senderPolicy');
    expect(originOf('app://sophia/index.html')).toBe('app://sophia');
    expect(originOf('http://localhost:5173/x')).toBe('http://localhost:5173');
    expect(originOf('file:///etc/passwd')).toBeUndefined();
    expect(originOf('data:text/html,hi')).toBeUndefined();
    expect(originOf('::')).toBeUndefined();
  });
});
