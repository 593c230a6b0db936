// The startup benchmark's floor: bare Node serving the same static renderer folder over HTTP
// on 127.0.0.1, and a WebSocket (the same `ws` library the browser host uses) that echoes
// every frame. It prints its address the way `npm run serve` does, then idles.
//   node test/bench/startupFloor.mjs out/renderer
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { WebSocketServer } from 'ws';

const root = path.resolve(process.argv[2] ?? 'out/renderer');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.ttf': 'font/ttf' };

const server = createServer((request, response) => {
  const pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
  const file = path.join(root, pathname === '/' ? 'index.html' : pathname);
  if (!file.startsWith(root + path.sep)) return void response.writeHead(403).end();
  readFile(file).then(
    (body) => response.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(body),
    () => response.writeHead(404).end(),
  );
});
const sockets = new WebSocketServer({ server, path: '/ws' });
sockets.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`Floor is running. Open:\n  http://127.0.0.1:${port}/#token=${randomBytes(32).toString('hex')}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
