/**
 * A loopback container registry speaking the Docker Registry HTTP API v2 (pull only): one
 * repository with one tag, its image a single layer made in the test. Docker treats
 * 127.0.0.0/8 as an insecure registry by default, so an engine on this machine pulls from it
 * over plain HTTP with no configuration. Serves the real wire format: schema 2 manifest,
 * config blob and gzip'd layer, each addressed by its sha256 digest.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export interface RegistryStandIn {
  /** `127.0.0.1:<port>/<repository>:<tag>` */
  readonly image: string;
  /** The image id an engine gets: the config blob's digest. */
  readonly imageId: string;
  /** Requests seen, as `METHOD path`. */
  readonly requests: string[];
  close(): Promise<void>;
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function layerTar(files: Record<string, string>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name, mode: 0o644 }, content);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startRegistryStandIn(options: { repository?: string; tag?: string; files?: Record<string, string> } = {}): Promise<RegistryStandIn> {
  const repository = options.repository ?? 'sophia/pull-test';
  const tag = options.tag ?? 'v1';
  const tar = await layerTar(options.files ?? { 'hello.txt': 'pulled from the stand-in registry\n' });
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/hello.txt'] },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'registry stand-in' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
    }),
  );
  const blobs = new Map<string, Buffer>([
    [sha256(config), config],
    [sha256(layer), layer],
  ]);
  const requests: string[] = [];

  const send = (response: ServerResponse, request: IncomingMessage, status: number, body: Buffer, headers: Record<string, string>): void => {
    response.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', 'Content-Length': String(body.length), ...headers });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://registry');
    requests.push(`${request.method ?? ''} ${url.pathname}`);
    if (url.pathname === '/v2/' || url.pathname === '/v2') return send(response, request, 200, Buffer.from('{}'), { 'Content-Type': 'application/json' });
    const manifestPath = `/v2/${repository}/manifests/`;
    if (url.pathname.startsWith(manifestPath)) {
      const reference = url.pathname.slice(manifestPath.length);
      if (reference === tag || reference === sha256(manifest)) {
        return send(response, request, 200, manifest, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json', 'Docker-Content-Digest': sha256(manifest) });
      }
    }
    const blobPath = `/v2/${repository}/blobs/`;
    if (url.pathname.startsWith(blobPath)) {
      const blob = blobs.get(url.pathname.slice(blobPath.length));
      if (blob) return send(response, request, 200, blob, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': url.pathname.slice(blobPath.length) });
    }
    const error = Buffer.from(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    return send(response, request, 404, error, { 'Content-Type': 'application/json' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    image: `127.0.0.1:${port}/${repository}:${tag}`,
    imageId: sha256(config),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
