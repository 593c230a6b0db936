/**
 * A real git server on 127.0.0.1: Debian git's `git http-backend` (CGI) behind a small Node
 * HTTP server that checks basic auth first. Pushes and fetches speak git's real smart HTTP
 * protocol; tests read the bare repositories with the git CLI afterwards.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const backend = '/usr/lib/git-core/git-http-backend';
/** A CGI call that takes longer than this is killed: no test hangs on the git server. */
const requestTimeoutMs = 30_000;

export interface GitHttpServer {
  readonly baseURL: string;
  readonly root: string;
  /** Basic-auth attempts seen: user name and whether the password matched. */
  readonly attempts: { user: string; ok: boolean }[];
  /** A bare repository `owner/name.git` with one commit on `main` (README.md). */
  createRepository(owner: string, name: string): string;
  /** The URL to push to (no credentials in it). */
  urlOf(owner: string, name: string): string;
  /** The git CLI in the bare repository. */
  git(owner: string, name: string, ...args: string[]): string;
  close(): Promise<void>;
}

export function gitCli(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir() },
    timeout: 30_000,
  }).trim();
}

/**
 * The git CLI without blocking the event loop: needed whenever it talks to a server in this
 * same process (clone, push, fetch).
 */
export function gitCliAsync(cwd: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir() }, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args[0] ?? ''} failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

export async function startGitHttpServer(options: { user?: string; password: string }): Promise<GitHttpServer> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sophia-git-server-'));
  const attempts: { user: string; ok: boolean }[] = [];
  const server = http.createServer((request, response) => {
    const header = request.headers.authorization ?? '';
    const [scheme, encoded = ''] = header.split(' ');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : '';
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    const ok = scheme === 'Basic' && password === options.password && (options.user === undefined || user === options.user);
    if (header) attempts.push({ user, ok });
    if (!ok) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="sophia-test"', 'Content-Type': 'text/plain' });
      response.end('Authentication required\n');
      request.resume();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const child = spawn(backend, [], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: root,
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: request.method ?? 'GET',
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        ...(request.headers['content-length'] ? { CONTENT_LENGTH: request.headers['content-length'] } : {}),
        ...(request.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: request.headers['content-encoding'] } : {}),
        ...(request.headers['git-protocol'] ? { GIT_PROTOCOL: String(request.headers['git-protocol']) } : {}),
        // An authenticated user enables receive-pack (push).
        REMOTE_USER: user || 'sophia',
        REMOTE_ADDR: '127.0.0.1',
        SERVER_PROTOCOL: 'HTTP/1.1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), requestTimeoutMs);
    request.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    let headerBuffer = Buffer.alloc(0);
    let headersSent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        response.write(chunk);
        return;
      }
      headerBuffer = Buffer.concat([headerBuffer, chunk]);
      const end = headerBuffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = headerBuffer.subarray(0, end).toString('latin1').split('\r\n');
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        const name = line.slice(0, at).trim();
        const value = line.slice(at + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      response.writeHead(status, headers);
      headersSent = true;
      response.write(headerBuffer.subarray(end + 4));
    });
    child.stderr.resume();
    child.on('close', () => {
      clearTimeout(timer);
      if (!headersSent) response.writeHead(500);
      response.end();
    });
    response.on('close', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const baseURL = `http://127.0.0.1:${port}`;
  const repoDir = (owner: string, name: string) => path.join(root, owner, `${name}.git`);
  return {
    baseURL,
    root,
    attempts,
    createRepository(owner, name) {
      const bare = repoDir(owner, name);
      mkdirSync(bare, { recursive: true });
      gitCli(bare, 'init', '--bare', '--quiet', '--initial-branch=main');
      const seed = mkdtempSync(path.join(os.tmpdir(), 'sophia-git-seed-'));
      gitCli(seed, 'init', '--quiet', '--initial-branch=main');
      writeFileSync(path.join(seed, 'README.md'), '# Payroll\n');
      gitCli(seed, 'add', 'README.md');
      gitCli(seed, '-c', 'user.name=Seed', '-c', 'user.email=seed@example.com', 'commit', '--quiet', '-m', 'Initial commit');
      gitCli(seed, 'push', '--quiet', bare, 'main');
      return bare;
    },
    urlOf: (owner, name) => `${baseURL}/${owner}/${name}.git`,
    git: (owner, name, ...args) => gitCli(repoDir(owner, name), ...args),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
