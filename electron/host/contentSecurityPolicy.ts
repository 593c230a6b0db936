/**
 * The renderer's Content-Security-Policy, sent as a header by both hosts (the Electron
 * `app://` protocol and the browser host), and written into `renderer/index.html` as a meta
 * tag so that it also holds where no header is sent (a file opened directly, a proxy that drops
 * it). Nothing loads from anywhere but the app itself: no CDN, no remote script, no eval.
 * Monaco needs inline styles and blob-free workers. A test checks the meta tag against
 * `metaContentSecurityPolicy()`.
 */
export function contentSecurityPolicy(connectSources: readonly string[] = []): string {
  return [metaContentSecurityPolicy(connectSources), headerOnlyDirectives].join('; ');
}

/** Browsers ignore `frame-ancestors` in a meta tag (and say so in the console): it goes in the header only. */
const headerOnlyDirectives = "frame-ancestors 'none'";

/** The policy as the meta tag in `renderer/index.html` carries it: the header's, less the header-only directive. */
export function metaContentSecurityPolicy(connectSources: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "worker-src 'self'",
    `connect-src 'self'${connectSources.map((source) => ` ${source}`).join('')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join('; ');
}

export const securityHeaders: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
