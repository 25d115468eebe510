/**
 * A direct session between the CLI and the web client in Chromium (issue #13, DESIGN §9):
 * `parley direct` asks, the browser's user accepts, and messages go both ways over the data
 * channel between werift and Chromium's own WebRTC; ending the input ends it in the browser too.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startCli, type CliSession } from '../support/cli-session.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { buildWebClient, DIRECT_SESSION_ARGS, history, launchChromium, openClient, register, screenshot, send, startChat } from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 120_000;

describe('a direct session between the CLI and the web client', () => {
  const dir = tempDir('web-direct');
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let carl: CliSession | undefined;
  const cli = (args: string[]) => runCli(['--server', server.url, '--profile', join(dir.path, 'carl'), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });

  beforeAll(async () => {
    const webRoot = await buildWebClient(join(dir.path, 'dist'));
    server = await startTestServer({ dataDir: join(dir.path, 'data'), webRoot });
    browser = await launchChromium(DIRECT_SESSION_ARGS);
    ({ page } = await openClient(browser, server.url));
  }, SLOW);
  afterAll(async () => {
    carl?.kill();
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('exchanges messages both ways over the channel, and ends in the browser when the input ends', async () => {
    await register(page, 'wendy', PASSWORD);
    expect((await cli(['register', 'carl'])).code).toBe(0);
    // Contacts: wendy writes first, carl accepts her request.
    await startChat(page, 'carl');
    await send(page, 'hi carl');
    expect((await cli(['sync'])).code).toBe(0);
    expect((await cli(['accept', 'wendy'])).code).toBe(0);

    carl = startCli(['--server', server.url, '--profile', join(dir.path, 'carl'), '--json', 'direct', 'wendy'], { PARLEY_PASSWORD: PASSWORD });
    const prompt = page.getByRole('alertdialog', { name: 'carl asks to go direct' });
    await prompt.getByRole('button', { name: 'Accept' }).click();
    expect(await carl.waitFor((line) => line.event === 'direct')).toEqual({ event: 'direct', peer: 'wendy', state: 'open' });
    const indicator = page.getByRole('status', { name: 'Direct session with carl' });
    await indicator.waitFor({ timeout: 30_000 });
    await expect(indicator.getByText('direct', { exact: true }).isVisible()).resolves.toBe(true);

    carl.write('hello from the terminal');
    await history(page).getByRole('listitem').filter({ hasText: 'hello from the terminal' }).waitFor({ timeout: 30_000 });
    await send(page, 'hello from the browser');
    expect(await carl.waitFor((line) => line.text === 'hello from the browser')).toMatchObject({ sender: 'wendy', conversation: 'wendy', via: 'direct' });
    await screenshot(page, 'desktop-direct');

    carl.end();
    await page.getByText('Direct session ended: ended').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Go direct' }).waitFor();
    expect(await carl.exited).toBe(0);
  });
});
