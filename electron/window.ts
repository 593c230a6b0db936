/**
 * The hardened window, after Electron's security checklist: sandboxed renderer, context
 * isolation, no Node integration, a strict CSP, the renderer served from a privileged
 * `app://` scheme rather than `file://`, navigation, new windows, webviews and permission
 * requests all refused.
 */
import { app, BrowserWindow, net, protocol, session, shell, type WebContents } from 'electron';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from './log';
import { contentSecurityPolicy, securityHeaders } from './host/contentSecurityPolicy';

const log = createLogger('window');

export const appScheme = 'app';
export const appOrigin = `${appScheme}://sophia`;

/** Must run before `app.whenReady()`. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: appScheme, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** The file an `app://sophia/...` URL names inside `root`, or undefined for anything else. */
export function resolveAppFile(root: string, requestUrl: string): string | undefined {
  let url: URL;
  let relative: string;
  try {
    url = new URL(requestUrl);
    relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
  } catch {
    return undefined;
  }
  if (url.protocol !== `${appScheme}:` || url.host !== 'sophia' || relative.includes('\0')) return undefined;
  const resolvedRoot = path.resolve(root);
  const file = path.resolve(resolvedRoot, `.${relative}`);
  return file.startsWith(resolvedRoot + path.sep) ? file : undefined;
}

/** Serves `out/renderer` on `app://sophia/`, nothing outside it, with the CSP header. */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(appScheme, async (request) => {
    const file = resolveAppFile(rendererDir, request.url);
    if (!file) return new Response('Not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', contentSecurityPolicy());
    for (const [name, value] of Object.entries(securityHeaders)) headers.set(name, value);
    return new Response(response.body, { status: response.status, headers });
  });
}

/**
 * Whether a link may leave for the system browser: https only, no credentials in it, the
 * default port, and a host on the person's list (`*.example.com` covers its subdomains,
 * not the bare name). Anything else could hand a crafted URL to another app.
 */
export function isAllowedExternalLink(link: string, hosts: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.port !== '') return false;
  const host = url.hostname.toLowerCase();
  return hosts.some((allowed) => {
    const entry = allowed.toLowerCase();
    return entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry;
  });
}

/**
 * Refuses every way out of the app for every web contents, present and future. A new window
 * becomes the system browser only for a link whose host is on `externalLinkHosts()` (a setting).
 */
export function lockDownWebContents(isAppUrl: (url: string) => boolean, externalLinkHosts: () => readonly string[]): void {
  // One exception: the app's own page may write text to the clipboard (a code block's Copy
  // button). Reading the clipboard stays refused, like every other permission.
  const clipboardWrite = (permission: string, url: string | undefined): boolean => permission === 'clipboard-sanitized-write' && url !== undefined && isAppUrl(url);
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) => {
    if (clipboardWrite(permission, details?.requestingUrl)) {
      callback(true);
      return;
    }
    log.warn('permission request refused', { permission });
    callback(false);
  });
  // A check names an origin, not a page: the origin's root is the page it stands for.
  session.defaultSession.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    clipboardWrite(permission, requestingOrigin ? `${requestingOrigin.replace(/\/$/, '')}/` : undefined),
  );
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) {
        event.preventDefault();
        log.warn('navigation refused', { url: url.slice(0, 200) });
      }
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // Links the user clicks open in their browser, never inside the app; only https, only listed hosts.
      if (isAllowedExternalLink(url, externalLinkHosts())) void shell.openExternal(url);
      else log.warn('external link refused: its host is not in Settings > Links', { url: url.slice(0, 200) });
      return { action: 'deny' };
    });
  });
}

export function createMainWindow(preloadPath: string, startUrl: string): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'Sophia',
    backgroundColor: '#11151c',
    show: false,
    webPreferences: {
      preload: preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(startUrl);
  return window;
}
