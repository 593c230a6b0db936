/**
 * The browser host: the same main-process services as the Electron app, served to a
 * browser on 127.0.0.1. The built renderer is served over HTTP; the contract travels over
 * one WebSocket guarded by a random per-launch token, an Origin check and a Host check
 * (against DNS rebinding). A bad frame gets a typed error; the host stays up.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SophiaError, type Result } from '../../shared/errors';
import {
  maxFrameBytes,
  requestFrame,
  tokenProtocolPrefix,
  wireProtocol,
  type ResponseFrame,
  type ServerFrame,
} from '../../shared/wire';
import type { SophiaCore } from '../app/sophiaCore';
import { dispatch } from '../ipc/dispatch';
import { createLogger } from '../log';
import { contentSecurityPolicy, securityHeaders } from './contentSecurityPolicy';
import { readStaticFile } from './staticFiles';

const log = createLogger('browserHost');

export interface BrowserHostOptions {
  core: SophiaCore;
  /** The built renderer (`out/renderer`). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Only loopback is allowed. */
  hostname?: '127.0.0.1' | 'localhost' | '::1';
  /** A fixed token for tests; random otherwise. */
  token?: string;
  /** Called once, after the first answer to a tab: its page is up and talking. */
  onFirstAnswer?: () => void;
}

export interface BrowserHost {
  readonly port: number;
  readonly origin: string;
  readonly token: string;
  /** The address to open: the token travels in the fragment, which is never sent to a server. */
  readonly url: string;
  /** Connected browser tabs: someone who can answer an approval. */
  clients(): number;
  close(): Promise<void>;
}

function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const hostname = options.hostname ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('hex');
  const { core, rendererDir } = options;

  let port = 0;
  const allowedHosts = (): Set<string> =>
    new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const allowedOrigins = (): Set<string> =>
    new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void serveHttp(request, response);
  });

  async function serveHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!allowedHosts().has(request.headers.host ?? '')) {
      response.writeHead(403).end();
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const urlPath = new URL(request.url ?? '/', 'http://placeholder').pathname;
    const file = await readStaticFile(rendererDir, urlPath);
    if (!file) {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    response.writeHead(200, {
      ...securityHeaders,
      'Content-Type': file.contentType,
      'Content-Security-Policy': contentSecurityPolicy([`ws://${request.headers.host}`]),
      'Cache-Control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : file.body);
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    handleProtocols: (protocols) => (protocols.has(wireProtocol) ? wireProtocol : false),
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://placeholder').pathname;
    if (path !== '/ws') return refuseUpgrade(socket, 404, 'Not Found');
    if (!allowedHosts().has(request.headers.host ?? '')) return refuseUpgrade(socket, 403, 'Forbidden');
    if (!allowedOrigins().has(request.headers.origin ?? '')) {
      log.warn('websocket refused: foreign origin', { origin: String(request.headers.origin).slice(0, 200) });
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const given = offered.find((p) => p.startsWith(tokenProtocolPrefix))?.slice(tokenProtocolPrefix.length);
    if (given === undefined || !sameSecret(token, given)) {
      log.warn('websocket refused: missing or wrong token');
      return refuseUpgrade(socket, 401, 'Unauthorized');
    }
    wss.handleUpgrade(request, socket, head, (ws) => serveSocket(ws));
  });

  function send(ws: WebSocket, frame: ServerFrame): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  }

  let answered = false;
  function reply(ws: WebSocket, id: number | null, result: Result<unknown>): void {
    const frame: ResponseFrame = { kind: 'response', id, result };
    send(ws, frame);
    if (!answered) {
      answered = true;
      options.onFirstAnswer?.();
    }
  }

  function serveSocket(ws: WebSocket): void {
    const unsubscribe = core.events.subscribe((event) => send(ws, { kind: 'event', event }));
    ws.on('close', unsubscribe);
    ws.on('error', (error) => log.warn('websocket error', { error }));
    ws.on('message', (data, isBinary) => {
      void (async () => {
        let parsedJson: unknown;
        try {
          if (isBinary) throw new Error('binary frame');
          parsedJson = JSON.parse(data.toString());
        } catch {
          reply(ws, null, { ok: false, error: new SophiaError('bad_frame', 'A frame must be a JSON text message.').toJSON() });
          return;
        }
        const frame = requestFrame.safeParse(parsedJson);
        if (!frame.success) {
          const maybeId = (parsedJson as { id?: unknown } | null)?.id;
          const id = typeof maybeId === 'number' && Number.isSafeInteger(maybeId) && maybeId >= 0 ? maybeId : null;
          const message = 'A request frame is {kind:"request", id, channel, input}.';
          reply(ws, id, { ok: false, error: new SophiaError('bad_frame', message).toJSON() });
          return;
        }
        const { id, channel, input } = frame.data;
        reply(ws, id, await dispatch(core.handlers, channel, input, { transport: 'websocket' }));
      })().catch((error: unknown) => log.error('websocket message failed', { error }));
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const authority = hostname === '::1' ? `[::1]:${port}` : `${hostname}:${port}`;
  const origin = `http://${authority}`;
  log.info('browser host listening', { origin });

  return {
    port,
    origin,
    token,
    url: `${origin}/#token=${token}`,
    clients: () => wss.clients.size,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
