/**
 * The client store and profile conformance suite, run on every implementation: the IndexedDB
 * adapters in real Chromium (served by Vite's dev server, straight from the TypeScript sources),
 * and the in-memory and Node adapters here.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryClientStore, MemoryProfileStore } from '@parley/client';
import { clientStoreChecks, profileStoreChecks, runClientStoreConformance, runProfileStoreConformance } from '@parley/client/conformance';
import { DirectoryProfileStore, SqliteClientStore } from '@parley/client/node';
import type { Browser, Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { tempDir } from '../support/harness.js';
import { launchChromium, WEB_DIR } from './support.js';

const dir = tempDir('stores');
afterAll(() => dir.remove());
let counter = 0;

// One store per check; `create` opens it again on the same storage, as the next run of a program would.
describe('MemoryClientStore', () => {
  runClientStoreConformance({ storage: () => {
    const store = new MemoryClientStore();
    return async () => store;
  }, persistent: false, test: it });
});
describe('SqliteClientStore', () => {
  runClientStoreConformance({ storage: () => {
    const file = join(dir.path, `client-${counter++}.db`);
    return async () => new SqliteClientStore(file);
  }, persistent: true, test: it });
});
describe('MemoryProfileStore', () => {
  runProfileStoreConformance({ storage: () => {
    const store = new MemoryProfileStore();
    return async () => store;
  }, persistent: false, test: it });
});
describe('DirectoryProfileStore', () => {
  runProfileStoreConformance({ storage: () => {
    const profile = join(dir.path, `profile-${counter++}`);
    return async () => new DirectoryProfileStore(profile);
  }, persistent: true, test: it });
});

describe('IndexedDB stores in Chromium', () => {
  let vite: ViteDevServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // Only the storage modules and the conformance suite are loaded: plain TypeScript with type-only SDK imports.
    vite = await createServer({
      root: WEB_DIR,
      configFile: false,
      appType: 'custom',
      logLevel: 'error',
      optimizeDeps: { noDiscovery: true, include: [] },
      // The suite straight from the SDK's TypeScript sources, as the storage modules are.
      resolve: { alias: { '@parley/client/conformance': fileURLToPath(new URL('../../packages/client/src/store/conformance.ts', import.meta.url)) } },
      server: { host: '127.0.0.1', port: 0, hmr: false },
      plugins: [
        {
          name: 'blank-page',
          // An empty page on the dev server's origin to import the modules from.
          configureServer(server) {
            server.middlewares.use((request, response, next) => {
              if (request.url !== '/') return next();
              response.setHeader('content-type', 'text/html; charset=utf-8');
              response.end('<!doctype html><title>store conformance</title>');
            });
          },
        },
      ],
    });
    await vite.listen();
    const address = vite.httpServer?.address();
    if (!address || typeof address === 'string') throw new Error('the Vite dev server has no port');
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${address.port}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await vite?.close();
  });

  const run = (kind: 'client' | 'profile', name: string) =>
    // A string, so the code runs as written in the page (not as transformed for Node).
    page.evaluate(`import('/src/storage/browser-conformance.testkit.ts').then((kit) => kit.runCheck(${JSON.stringify(kind)}, ${JSON.stringify(name)}))`);

  describe('IndexedDbClientStore', () => {
    for (const check of clientStoreChecks) it(check.name, () => run('client', check.name));
  });
  it('IndexedDbClientStore upgrades a version 2 database, keeping its messages', () =>
    page.evaluate(`import('/src/storage/browser-conformance.testkit.ts').then((kit) => kit.runUpgradeFromVersion2())`));
  it('the outbox: a version 3 database upgrades to it, entries survive a reopen with their ciphertext, logging out clears it', () =>
    page.evaluate(`import('/src/storage/browser-conformance.testkit.ts').then((kit) => kit.runOutboxChecks())`));
  describe('IndexedDbProfileStore', () => {
    for (const check of profileStoreChecks) it(check.name, () => run('profile', check.name));
  });
});
