/**
 * Which IPC senders the main process answers: only our own window's main frame, showing a
 * page from our own origin. A subframe, another window, or a page that navigated away
 * (should navigation ever slip past the guards) is refused.
 */
export interface SenderFacts {
  /** The sending WebContents is the main window's. */
  readonly fromMainWindow: boolean;
  /** The sending frame is that window's top-level frame. */
  readonly fromMainFrame: boolean;
  /** The URL of the sending frame, if it still exists. */
  readonly frameUrl: string | undefined;
}

const originSchemes = new Set(['http:', 'https:', 'app:']);

/**
 * `scheme://host[:port]` for the schemes the app is served from. Node's URL gives custom
 * schemes such as `app:` the opaque origin "null", so the origin is built by hand here.
 */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return originSchemes.has(parsed.protocol) && parsed.host !== '' ? `${parsed.protocol}//${parsed.host}` : undefined;
  } catch {
    return undefined;
  }
}

export function isTrustedSender(facts: SenderFacts, trustedOrigin: string): boolean {
  return (
    facts.fromMainWindow &&
    facts.fromMainFrame &&
    facts.frameUrl !== undefined &&
    originOf(facts.frameUrl) === trustedOrigin
  );
}
