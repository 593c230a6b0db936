import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path, { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

/**
 * The dev server's React refresh preamble is an inline script, which the CSP meta tag in
 * `renderer/index.html` refuses: `electron-vite dev` serves the page without it. Builds keep it.
 */
const devWithoutCspMeta: Plugin = {
  name: 'sophia-dev-without-csp-meta',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace(/\s*<meta http-equiv="Content-Security-Policy"[^>]*>/, ''),
};

const projectRequire = createRequire(resolve(import.meta.dirname, 'package.json'));

/** Where Node finds a package from the project root (package.json itself may be outside an `exports` map). */
function packageFolder(name: string): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`The main process imports the package "${name}", which is not installed.`);
  }
}

/**
 * The import specifier Node's ESM loader accepts for an external package import. The main
 * process's dependencies stay in node_modules, and `out/main` is loaded by Node's ESM loader
 * (not Vite's resolver): a subpath of a package without an `exports` map must then name a
 * file, with its extension (`@pulumi/pulumi/automation` is a folder; Node refuses it). Such a
 * subpath is rewritten to the file CommonJS resolution picks (`.../automation/index.js`);
 * one that resolves to nothing fails the build here instead of the app at start.
 */
export function nodeEsmSpecifier(id: string): string {
  if (id.startsWith('.') || path.isAbsolute(id) || id.startsWith('node:') || builtinModules.includes(id) || id === 'electron') return id;
  const parts = id.split('/');
  const name = id.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? id);
  const subpath = id.slice(name.length + 1);
  if (!subpath) return id;
  const packageDir = packageFolder(name);
  const manifest = path.join(packageDir, 'package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown };
  // With an `exports` map Node resolves the subpath through it (test/build/entries.test.ts checks each import).
  if (pkg.exports !== undefined) return id;
  const literal = path.join(packageDir, subpath);
  if (existsSync(literal) && statSync(literal).isFile()) return id;
  let file: string;
  try {
    file = projectRequire.resolve(id);
  } catch (error) {
    throw new Error(`The main process imports "${id}", which does not resolve from the project.`, { cause: error });
  }
  return `${name}/${path.relative(packageDir, file).split(path.sep).join('/')}`;
}

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          index: resolve(import.meta.dirname, 'electron/main.ts'),
          // The browser host: the same services under plain Node (`npm run serve`).
          serve: resolve(import.meta.dirname, 'electron/host/serve.ts'),
          // `npm run audit:verify`: the audit log checked outside the app.
          auditVerify: resolve(import.meta.dirname, 'electron/audit/auditVerifyCli.ts'),
          // `sudo npm run sandbox:image`: the sandbox image built outside the app.
          sandboxImage: resolve(import.meta.dirname, 'electron/sandbox/sandboxImageCli.ts'),
          // `npm run mcp -- code` / `npx sophia-mcp code`: the MCP servers over stdio, bridged to the running app.
          mcp: resolve(import.meta.dirname, 'electron/mcp/mcpCli.ts'),
          // The code index's first build, in a worker thread (electron/code/indexService.ts finds it here).
          indexWorker: resolve(import.meta.dirname, 'electron/code/indexWorker.ts'),
        },
        output: { paths: nodeEsmSpecifier },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload cannot require npm packages: bundle everything, as CommonJS.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(import.meta.dirname, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(import.meta.dirname, 'renderer'),
    base: './',
    plugins: [react(), devWithoutCspMeta],
    worker: { format: 'es' },
    build: {
      outDir: resolve(import.meta.dirname, 'out/renderer'),
      emptyOutDir: true,
      chunkSizeWarningLimit: 8192,
      rolldownOptions: { input: { index: resolve(import.meta.dirname, 'renderer/index.html') } },
    },
  },
});
