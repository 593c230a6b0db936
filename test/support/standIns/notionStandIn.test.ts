/**
 * The Notion stand-in against real HTTP clients: Node's fetch for the wire shape, and the
 * fixture's own sync script (Python's urllib) before and after its fix.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { notionVersion, startNotionStandIn, type NotionStandIn } from './notionStandIn';

const run = promisify(execFile);
const token = 'secret_e2eNotionToken0123456789abcdef';
const fixture = path.join(import.meta.dirname, '..', 'notionSync');
const open: NotionStandIn[] = [];
afterEach(async () => {
  for (const standIn of open.splice(0)) await standIn.close();
});

async function start(options: Partial<Parameters<typeof startNotionStandIn>[0]> = {}): Promise<NotionStandIn> {
  const standIn = await startNotionStandIn({ token, ...options });
  open.push(standIn);
  return standIn;
}

const query = (standIn: NotionStandIn, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}`, 'notion-version': notionVersion }, database = standIn.databaseId) =>
  fetch(`${standIn.baseURL}/v1/databases/${database}/query`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('Notion stand-in', () => {
  it('answers 429 rate_limited with Retry-After, keeps limiting a client that does not wait, then paginates', async () => {
    const standIn = await start({ pages: 7, rateLimitFirst: 1, retryAfterSeconds: 1 });
    const limited = await query(standIn, { page_size: 3 });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ object: 'error', status: 429, code: 'rate_limited' });
    expect((await query(standIn, { page_size: 3 })).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const titles: string[] = [];
    let cursor: string | undefined;
    for (let pageNo = 0; pageNo < 5; pageNo += 1) {
      const response = await query(standIn, cursor ? { page_size: 3, start_cursor: cursor } : { page_size: 3 });
      expect(response.status).toBe(200);
      const list = (await response.json()) as { object: string; results: { object: string; properties: { Name: { title: { plain_text: string }[] } } }[]; next_cursor: string | null; has_more: boolean; type: string };
      expect(list).toMatchObject({ object: 'list', type: 'page_or_database' });
      titles.push(...list.results.map((page) => page.properties.Name.title.map((part) => part.plain_text).join('')));
      expect(list.has_more).toBe(list.next_cursor !== null);
      if (!list.has_more) break;
      cursor = list.next_cursor ?? undefined;
    }
    expect(titles).toEqual(standIn.titles);
  });

  it('401 without the bearer token, 400 missing_version without Notion-Version, 404 for another database, 400 for a bad cursor', async () => {
    const standIn = await start({ rateLimitFirst: 0 });
    const noAuth = await query(standIn, {}, { 'notion-version': notionVersion });
    expect(noAuth.status).toBe(401);
    expect(await noAuth.json()).toMatchObject({ object: 'error', code: 'unauthorized' });
    const noVersion = await query(standIn, {}, { authorization: `Bearer ${token}` });
    expect(await noVersion.json()).toMatchObject({ status: 400, code: 'missing_version' });
    const other = await query(standIn, {}, undefined, '00000000-0000-4000-8000-000000000000');
    expect(await other.json()).toMatchObject({ status: 404, code: 'object_not_found' });
    const badCursor = await query(standIn, { start_cursor: 'nope' });
    expect(await badCursor.json()).toMatchObject({ status: 400, code: 'validation_error' });
    expect(standIn.requests.map((request) => request.status)).toEqual([401, 400, 404, 400]);
  });

  it("the fixture's sync script and its tests fail on the 429; the fixed one waits and reads every page", async () => {
    const standIn = await start({ pages: 7, rateLimitFirst: 1, retryAfterSeconds: 1 });
    const dir = await mkdtemp(path.join(tmpdir(), 'notion-sync-'));
    await cp(fixture, dir, { recursive: true });
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ api_base: standIn.baseURL, database_id: standIn.databaseId }));
    const env = { ...process.env, NOTION_TOKEN: token, NO_PROXY: '*' };
    const broken = await run('python3', ['sync.py'], { cwd: dir, env }).catch((error: { code: number; stderr: string }) => error);
    expect(broken).toMatchObject({ code: 1 });
    expect((broken as { stderr: string }).stderr).toContain('HTTP 429');
    const tests = await run('python3', ['-m', 'unittest', '-q'], { cwd: dir, env }).catch((error: { code: number; stderr: string }) => error);
    expect(tests).toMatchObject({ code: 1 });

    await cp(path.join(fixture, 'fixed', 'sync.py'), path.join(dir, 'sync.py'));
    await run('python3', ['-m', 'unittest', '-q'], { cwd: dir, env });
    const fixed = await run('python3', ['sync.py'], { cwd: dir, env });
    expect(fixed.stdout).toContain('notion-sync: synced 7 pages');
    const served = standIn.requests.filter((request) => request.status === 200);
    expect(served.map((request) => (request.body as { start_cursor?: string }).start_cursor !== undefined)).toEqual([false, true, true]);
    expect(standIn.requests.every((request) => request.authorization === `Bearer ${token}` && request.notionVersion === notionVersion)).toBe(true);
  }, 30_000);
});
