/**
 * Registration on a busy server from a browser: the server demands a proof of work (DESIGN §10)
 * and the web client solves it in a Web Worker, so the page stays responsive, then signs in.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { buildWebClient, launchChromium, openClient } from './support.js';

const PASSWORD = 'correct horse battery staple';

describe('proof of work in the browser', () => {
  const dir = tempDir('web-pow');
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const webRoot = await buildWebClient(join(dir.path, 'dist'));
    // Any sign-up attempt counts as load: difficulty climbs a bit a second while attempts go on.
    server = await startTestServer({ dataDir: join(dir.path, 'data'), webRoot, powTargetPerSecond: 0, powMaxDifficulty: 10 });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('solves the challenge of a busy server in a worker, then registers', async () => {
    const load = await connectClient(server);
    await load.register('taken', PASSWORD);
    let loading = true;
    const busy = (async () => {
      // Sign-ups for a taken name, one after another: each first asks without a proof of work.
      while (loading) {
        const client = await connectClient(server);
        await client.register('taken', PASSWORD).catch(() => undefined);
        client.close();
      }
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const { page } = await openClient(browser, `${server.url}/`);
      const worker = page.waitForEvent('worker', { timeout: 60_000 });
      await page.getByLabel('Username').fill('dora');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      expect((await worker).url()).toMatch(/\/assets\/pow\.worker-[\w-]+\.js$/);
      await page.getByLabel('Recovery key', { exact: true }).waitFor({ timeout: 60_000 });
    } finally {
      loading = false;
      await busy;
      load.close();
    }
  }, 120_000);
});
