import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests run against the TypeScript sources; CLI end-to-end tests run the built bin.
export const alias = [
  { find: /^@parley\/client\/node$/, replacement: src('client/src/node.ts') },
  { find: /^@parley\/([a-z]+)$/, replacement: src('$1/src/index.ts') },
];

// Suites that need a live PostgreSQL or Redis are named *.pg.test.ts and *.redis.test.ts, and
// those that need both *.pg-redis.test.ts; each runs only when all its servers are configured,
// so an unconfigured run has no skipped tests.
const needsServices: [pattern: string, variables: string[]][] = [
  ['**/*.pg.test.ts', ['PARLEY_TEST_POSTGRES_URL']],
  ['**/*.redis.test.ts', ['PARLEY_TEST_REDIS_URL']],
  ['**/*.pg-redis.test.ts', ['PARLEY_TEST_POSTGRES_URL', 'PARLEY_TEST_REDIS_URL']],
];
const unavailable = needsServices.filter(([, variables]) => variables.some((variable) => !process.env[variable])).map(([pattern]) => pattern);
const excluded = ['test/dos/**', '**/node_modules/**', '**/dist/**', ...unavailable];

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'node', include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'], exclude: [...excluded, 'test/web/**'] } },
      // The web tests drive Chromium: it is found, or installed, before any of them runs.
      { extends: true, test: { name: 'web', include: ['test/web/**/*.test.ts'], exclude: excluded, globalSetup: ['test/support/browser-setup.ts'] } },
    ],
  },
});
