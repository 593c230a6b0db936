import { readFile } from 'node:fs/promises';
import path from 'node:path';

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

/**
 * Reads a file of the built renderer by its URL path. Returns undefined for anything
 * outside `root` (traversal, encoded or not) or missing.
 */
export async function readStaticFile(
  root: string,
  urlPath: string,
): Promise<{ body: Buffer; contentType: string } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const resolvedRoot = path.resolve(root);
  const file = path.resolve(resolvedRoot, relative);
  if (file !== resolvedRoot && !file.startsWith(resolvedRoot + path.sep)) return undefined;
  try {
    const body = await readFile(file);
    return { body, contentType: contentTypes[path.extname(file)] ?? 'application/octet-stream' };
  } catch {
    return undefined;
  }
}
