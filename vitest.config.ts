import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { SkippedSuitesReporter, unavailableSuitePatterns } from './test/support/service-suites.js';

const root = fileURLToPath(new URL('.', import.meta.url));
const src = (path: string): string => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests run against the TypeScript sources; CLI end-to-end tests run the built bin.
export const alias = [
  { find: /^@parley\/client\/node$/, replacement: src('client/src/node/index.ts') },
  { find: /^@parley\/client\/conformance$/, replacement: src('client/src/store/conformance.ts') },
  { find: /^@parley\/crypto\/node$/, replacement: src('crypto/src/node.ts') },
  { find: /^@parley\/([a-z]+)$/, replacement: src('$1/src/index.ts') },
];

// Suites that need PostgreSQL or Redis run only when their servers are configured; every run
// lists the ones it left out (test/support/service-suites.ts).
const excluded = ['test/dos/**', '**/node_modules/**', '**/dist/**', ...unavailableSuitePatterns(process.env)];

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', new SkippedSuitesReporter(root, ['packages', 'test'])],
    projects: [
      { extends: true, test: { name: 'node', include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'], exclude: [...excluded, 'test/web/**'] } },
      // The web tests drive Chromium: it is found, or installed, before any of them runs.
      { extends: true, test: { name: 'web', include: ['test/web/**/*.test.ts'], exclude: excluded, globalSetup: ['test/support/browser-setup.ts'] } },
    ],
  },
});
