import { resolve } from 'node:path';
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
