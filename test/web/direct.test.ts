/**
 * A direct session between the CLI and the web client in Chromium (issue #13, DESIGN §9):
 * `parley direct` asks, the browser's user accepts, and messages go both ways over the data
 * channel between werift and Chromium's own WebRTC; ending the input ends it in the browser too.
 * A reload while a direct send waits for its ack neither loses nor duplicates it (the outbox).
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startCli, type CliSession } from '../support/cli-session.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { buildWebClient, DIRECT_SESSION_ARGS, history, launchChromium, openClient, register, screenshot, send, startChat } from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 120_000;

/** Lets the test make the page's data channels deaf: what arrives on them is dropped while `__parleyChannelDeaf` is set. */
const CHANNEL_DEAFNESS = `(() => {
  const listen = RTCDataChannel.prototype.addEventListener;
  window.__parleyChannelDeaf = false;
  RTCDataChannel.prototype.addEventListener = function (type, listener, options) {
    if (type !== 'message') return listen.call(this, type, listener, options);
    return listen.call(this, type, (event) => { if (!window.__parleyChannelDeaf) listener.call(this, event); }, options);
  };
})();`;

describe('a direct session between the CLI and the web client', () => {
  const dir = tempDir('web-direct');
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let carl: CliSession | undefined;
  const cli = (args: string[]) => runCli(['--server', server.url, '--profile', join(dir.path, 'carl'), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });

  beforeAll(async () => {
    const webRoot = await buildWebClient(join(dir.path, 'dist'));
    server = await startTestServer({ dataDir: join(dir.path, 'data'), webRoot });
    browser = await launchChromium(DIRECT_SESSION_ARGS);
    ({ context, page } = await openClient(browser, server.url));
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
  }, SLOW);

  it('a reload while a direct send waits for its ack sends it once, through the server', async () => {
    await context.addInitScript(CHANNEL_DEAFNESS);
    await page.reload();
    carl = startCli(['--server', server.url, '--profile', join(dir.path, 'carl'), '--json', 'direct', 'wendy'], { PARLEY_PASSWORD: PASSWORD });
    await page.getByRole('alertdialog', { name: 'carl asks to go direct' }).getByRole('button', { name: 'Accept' }).click();
    await carl.waitFor((line) => line.event === 'direct' && line.state === 'open');
    await page.getByRole('status', { name: 'Direct session with carl' }).waitFor({ timeout: 30_000 });

    // Carl gets it over the channel and acks it, but the ack never reaches the page, which reloads meanwhile.
    await page.evaluate(() => Object.assign(window, { __parleyChannelDeaf: true }));
    await page.getByRole('textbox', { name: 'Message' }).fill('sent as the page reloads');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    expect(await carl.waitFor((line) => line.text === 'sent as the page reloads')).toMatchObject({ via: 'direct' });
    await history(page).getByRole('listitem').filter({ hasText: 'sent as the page reloads' }).getByText('Sending').waitFor();
    await page.reload();

    // The outbox kept it: after the reload it goes through the server, and shows once as sent.
    const line = history(page).getByRole('listitem').filter({ hasText: 'sent as the page reloads' });
    await line.getByText('Sent', { exact: true }).waitFor({ timeout: 30_000 });
    await expect(line.count()).resolves.toBe(1);
    await carl.waitFor((line) => line.event === 'direct' && line.state === 'closed');
    // Sent after it through the server: once carl shows this, he has had the resent copy too.
    await send(page, 'after the reload');
    expect(await carl.waitFor((line) => line.text === 'after the reload')).toMatchObject({ via: 'server' });
    expect(carl.lines().filter((line) => line.text === 'sent as the page reloads')).toHaveLength(1);
    expect(carl.lines().filter((line) => line.kind === 'error')).toEqual([]);
    carl.end();
    expect(await carl.exited).toBe(0);
  }, SLOW);
});
