/**
 * A loopback stand-in for the Notion API's "query a database" endpoint, in Notion's real wire
 * shape (API version 2022-06-28): `POST /v1/databases/{database_id}/query` with `page_size` and
 * `start_cursor`, answering `{ object: 'list', results, next_cursor, has_more, type:
 * 'page_or_database', page_or_database: {} }`; errors as `{ object: 'error', status, code,
 * message }`: 401 `unauthorized` without the bearer token, 400 `missing_version` without the
 * Notion-Version header, 404 `object_not_found` for another database, 400 `validation_error`
 * for a bad body or cursor, and 429 `rate_limited` with `Retry-After` (whole seconds). The first
 * `rateLimitFirst` requests are rate limited, and so is any request sent before the last
 * Retry-After has passed: a client that does not wait stays rate limited.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const notionVersion = '2022-06-28';

export interface NotionRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly notionVersion: string | undefined;
  readonly body: unknown;
  readonly at: number;
  readonly status: number;
}

export interface NotionStandIn {
  /** e.g. http://127.0.0.1:PORT (the API's paths start with /v1). */
  readonly baseURL: string;
  readonly port: number;
  readonly databaseId: string;
  /** The pages' titles, in the order the database holds them. */
  readonly titles: readonly string[];
  readonly requests: NotionRequest[];
  close(): Promise<void>;
}

export interface NotionStandInOptions {
  readonly token: string;
  readonly pages?: number;
  /** How many requests are answered 429 before any is served. */
  readonly rateLimitFirst?: number;
  readonly retryAfterSeconds?: number;
}

function errorBody(status: number, code: string, message: string) {
  return { object: 'error', status, code, message, request_id: randomUUID() };
}

function pageObject(id: string, databaseId: string, title: string, index: number) {
  const time = new Date(Date.UTC(2026, 10, 1, 9, index)).toISOString().replace(/\.\d{3}Z$/, '.000Z');
  return {
    object: 'page',
    id,
    created_time: time,
    last_edited_time: time,
    created_by: { object: 'user', id: '7d3c3b4e-1f2a-4c5d-8e9f-0a1b2c3d4e5f' },
    last_edited_by: { object: 'user', id: '7d3c3b4e-1f2a-4c5d-8e9f-0a1b2c3d4e5f' },
    cover: null,
    icon: null,
    parent: { type: 'database_id', database_id: databaseId },
    archived: false,
    in_trash: false,
    properties: {
      Name: { id: 'title', type: 'title', title: [{ type: 'text', text: { content: title, link: null }, annotations: { bold: false, italic: false, strikethrough: false, underline: false, code: false, color: 'default' }, plain_text: title, href: null }] },
    },
    url: `https://www.notion.so/${title.replace(/\W+/g, '-')}-${id.replace(/-/g, '')}`,
    public_url: null,
  };
}

export async function startNotionStandIn(options: NotionStandInOptions): Promise<NotionStandIn> {
  const databaseId = randomUUID();
  const count = options.pages ?? 7;
  const titles = Array.from({ length: count }, (_, i) => `Task ${i + 1}`);
  const pages = titles.map((title, index) => pageObject(randomUUID(), databaseId, title, index));
  const requests: NotionRequest[] = [];
  const retryAfter = options.retryAfterSeconds ?? 1;
  let limitedLeft = options.rateLimitFirst ?? 1;
  let blockedUntil = 0;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 64 * 1024) chunks.push(chunk);
    });
    request.on('end', () => {
      const now = Date.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      let bodyOk = true;
      try {
        body = raw === '' ? {} : JSON.parse(raw);
      } catch {
        bodyOk = false;
      }
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        requests.push({
          method: request.method ?? '',
          path: request.url ?? '',
          authorization: request.headers.authorization,
          notionVersion: request.headers['notion-version'] as string | undefined,
          body,
          at: now,
          status,
        });
        response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        response.end(JSON.stringify(payload));
      };
      const route = /^\/v1\/databases\/([0-9a-f-]+)\/query$/.exec((request.url ?? '').split('?')[0] ?? '');
      if (!route || request.method !== 'POST') return send(400, errorBody(400, 'invalid_request_url', 'Invalid request URL.'));
      if (request.headers.authorization !== `Bearer ${options.token}`) return send(401, errorBody(401, 'unauthorized', 'API token is invalid.'));
      if (!request.headers['notion-version']) {
        return send(400, errorBody(400, 'missing_version', 'Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.'));
      }
      if (limitedLeft > 0 || now < blockedUntil) {
        limitedLeft = Math.max(0, limitedLeft - 1);
        blockedUntil = now + retryAfter * 1000;
        return send(429, errorBody(429, 'rate_limited', "You have been rate limited. Please try again in a few minutes."), { 'retry-after': String(retryAfter) });
      }
      if (route[1]?.replace(/-/g, '') !== databaseId.replace(/-/g, '')) {
        return send(404, errorBody(404, 'object_not_found', `Could not find database with ID: ${route[1] ?? ''}. Make sure the relevant pages and databases are shared with your integration.`));
      }
      const query = (bodyOk && body !== null && typeof body === 'object' ? body : undefined) as { page_size?: unknown; start_cursor?: unknown } | undefined;
      if (!query) return send(400, errorBody(400, 'invalid_json', 'Error parsing JSON body.'));
      const pageSize = query.page_size ?? 100;
      if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
        return send(400, errorBody(400, 'validation_error', `body failed validation: body.page_size should be ≤ \`100\`, instead was \`${String(pageSize)}\`.`));
      }
      let start = 0;
      if (query.start_cursor !== undefined) {
        start = pages.findIndex((page) => page.id === query.start_cursor);
        if (start < 0) return send(400, errorBody(400, 'validation_error', `body failed validation: body.start_cursor should be a valid uuid, instead was \`${JSON.stringify(query.start_cursor)}\`.`));
      }
      const results = pages.slice(start, start + pageSize);
      const next = pages[start + pageSize];
      return send(200, { object: 'list', results, next_cursor: next ? next.id : null, has_more: next !== undefined, type: 'page_or_database', page_or_database: {}, request_id: randomUUID() });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}`,
    port,
    databaseId,
    titles,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
