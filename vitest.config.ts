import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests run against the TypeScript sources; CLI end-to-end tests run the built bin.
export const alias = [
  { find: /^@parley\/client\/node$/, replacement: src('client/src/node.ts') },
  { find: /^@parley\/([a-z]+)$/, replacement: src('$1/src/index.ts') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/dos/**', '**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
