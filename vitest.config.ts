import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/closingLineReporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/fixtures/**', 'test/electron/sandbox/**', 'node_modules/**'],
          testTimeout: 30_000,
          // No warm sandbox containers for cores that unit tests start; the sandbox project tests the pool.
          env: { SOPHIA_LOG_LEVEL: 'error', SOPHIA_SANDBOX_POOL_SIZE: '0' },
        },
      },
      {
        test: {
          name: 'sandbox',
          environment: 'node',
          // Against the real Docker engine: slow, and one file at a time on a 2-core machine.
          include: ['test/electron/sandbox/**/*.test.ts'],
          fileParallelism: false,
          // Builds the sandbox image through the product's own build step (minutes to half an hour on a loaded machine, once).
          globalSetup: ['test/electron/sandbox/globalSetup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          env: { SOPHIA_LOG_LEVEL: 'error' },
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.e2e.test.ts'],
          // One Chromium at a time on a 2-core machine.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The app under test is a separate process (out/main/serve.js) on a shared 2-core machine:
          // a poll waits for what it expects up to 15 s (a bound on waiting, not a timed assertion).
          expect: { poll: { timeout: 15_000 } },
          env: { SOPHIA_SANDBOX_POOL_SIZE: '0' },
        },
      },
    ],
  },
});
