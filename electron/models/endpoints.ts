/**
 * Model servers' addresses, apart from the SDKs that talk to them: settings and the offline
 * check read these at start, and no provider SDK loads until the first model call.
 */

/** Where Ollama listens unless Settings say otherwise. */
export const defaultOllamaHost = 'http://127.0.0.1:11434';

/**
 * The address in OLLAMA_HOST, read the way Ollama's own CLI reads it: `host`, `host:port`,
 * `http://host[:port]` or `https://host[:port]`; without a scheme the port defaults to 11434,
 * with one to the scheme's port. 0.0.0.0 (a bind address) means this machine. Undefined when
 * unset or not an address.
 */
export function ollamaHostFromEnv(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  if (!hasScheme && !url.port) url.port = '11434';
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.href.replace(/\/$/, '');
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function isLoopbackUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && (loopbackHosts.has(parsed.hostname) || /^127\.\d+\.\d+\.\d+$/.test(parsed.hostname));
  } catch {
    return false;
  }
}

export const defaultOpenAiBaseUrl = 'https://api.openai.com/v1';

/** The Cortex Chat Completions address of a Snowflake account (its identifier, e.g. `myorg-myaccount`). */
export function cortexBaseUrl(account: string): string {
  return `https://${account.toLowerCase().replace(/_/g, '-')}.snowflakecomputing.com/api/v2/cortex/v1`;
}
