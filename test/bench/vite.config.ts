/**
 * Builds the benchmarks for plain Node (`npm run bench:audit`, `npm run bench:stop`): an SSR
 * build keeps every npm package external, so the native modules load as they do in the app.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir: resolve(import.meta.dirname, '../../out/bench'),
    emptyOutDir: true,
    target: 'node22',
    minify: false,
    rolldownOptions: {
      input: {
        auditBench: resolve(import.meta.dirname, 'auditBench.ts'),
        stopBench: resolve(import.meta.dirname, 'stopBench.ts'),
        agentOverheadBench: resolve(import.meta.dirname, 'agentOverheadBench.ts'),
        renderBench: resolve(import.meta.dirname, 'renderBench.ts'),
        gitStatusBench: resolve(import.meta.dirname, 'gitStatusBench.ts'),
        indexBench: resolve(import.meta.dirname, 'indexBench.ts'),
        longSessionBench: resolve(import.meta.dirname, 'longSessionBench.ts'),
      },
      output: { format: 'es', entryFileNames: '[name].js' },
    },
  },
});
