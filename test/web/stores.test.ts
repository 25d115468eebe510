/**
 * The client store and profile conformance suite, run on every implementation: the IndexedDB
 * adapters in real Chromium (served by Vite's dev server, straight from the TypeScript sources),
 * and the in-memory and Node adapters here.
 */
import { join } from 'node:path';
import { MemoryClientStore, MemoryProfileStore, type ClientStore, type ProfileStore } from '@parley/client';
import { DirectoryProfileStore, SqliteClientStore } from '@parley/client/node';
import type { Browser, Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { clientStoreChecks, profileStoreChecks, type Check } from '../../packages/web/src/storage/conformance.testkit.js';
import { tempDir } from '../support/harness.js';
import { launchChromium, WEB_DIR } from './support.js';

const dir = tempDir('stores');
afterAll(() => dir.remove());
let counter = 0;

function suite<S>(title: string, checks: Check<S>[], factory: () => () => Promise<S>, persistent: boolean): void {
  describe(title, () => {
    for (const check of checks) {
      if (check.persistentOnly && !persistent) continue;
      it(check.name, () => check.run(factory()));
    }
  });
}

// One store per check; `create` opens it again on the same storage, as the next run of a program would.
suite<ClientStore>('MemoryClientStore', clientStoreChecks, () => {
  const store = new MemoryClientStore();
  return async () => store;
}, false);
suite<ClientStore>('SqliteClientStore', clientStoreChecks, () => {
  const file = join(dir.path, `client-${counter++}.db`);
  return async () => new SqliteClientStore(file);
}, true);
suite<ProfileStore>('MemoryProfileStore', profileStoreChecks, () => {
  const store = new MemoryProfileStore();
  return async () => store;
}, false);
suite<ProfileStore>('DirectoryProfileStore', profileStoreChecks, () => {
  const profile = join(dir.path, `profile-${counter++}`);
  return async () => new DirectoryProfileStore(profile);
}, true);

describe('IndexedDB stores in Chromium', () => {
  let vite: ViteDevServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // Only the storage modules are loaded: plain TypeScript with type-only SDK imports.
    vite = await createServer({
      root: WEB_DIR,
      configFile: false,
      appType: 'custom',
      logLevel: 'error',
      optimizeDeps: { noDiscovery: true, include: [] },
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
  describe('IndexedDbProfileStore', () => {
    for (const check of profileStoreChecks) it(check.name, () => run('profile', check.name));
  });
});
