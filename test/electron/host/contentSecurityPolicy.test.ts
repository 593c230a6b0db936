/** The CSP meta tag in `renderer/index.html` is the policy the hosts send, so it holds where no header is sent. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, metaContentSecurityPolicy } from '../../../electron/host/contentSecurityPolicy';

const html = readFileSync(path.resolve(import.meta.dirname, '../../../renderer/index.html'), 'utf8');

describe('the Content-Security-Policy meta tag', () => {
  it('is in renderer/index.html, before any script, and matches the policy in contentSecurityPolicy.ts', () => {
    const tags = [...html.matchAll(/<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*\/?>/g)];
    expect(tags).toHaveLength(1);
    expect(tags[0]![1]).toBe(metaContentSecurityPolicy());
    expect(tags[0]!.index).toBeLessThan(html.indexOf('<script'));
  });

  it('differs from the header only by frame-ancestors, which browsers ignore in a meta tag', () => {
    expect(contentSecurityPolicy()).toBe(`${metaContentSecurityPolicy()}; frame-ancestors 'none'`);
    expect(metaContentSecurityPolicy()).not.toContain('frame-ancestors');
    expect(metaContentSecurityPolicy()).toContain("script-src 'self'");
    expect(metaContentSecurityPolicy()).toContain("default-src 'none'");
  });
});
