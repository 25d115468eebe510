import { defineConfig } from 'vitest/config';
import { alias } from './vitest.config.js';

// The heavy abuse scenarios (DESIGN §10), `npm run test:dos` (test/dos/run.sh). One file at a
// time, so each scenario has the machine to itself and its figures mean something. slowhttptest
// is found, or installed, before any scenario runs.
export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/dos/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/support/dos-setup.ts'],
  },
});
