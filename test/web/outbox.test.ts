/**
 * The web client's outbox in Chromium (issue #15): the server, in its own process, is killed
 * while a send waits for its reply (the message is stored, the reply lost); messages written
 * while it is down wait in IndexedDB; the page is reloaded with them pending, and the server is
 * started again on the same data. Every message reaches the peer (a CLI user) exactly once, in
 * order. A message that cannot be sent shows why, with Retry and Delete.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/harness.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { buildWebClient, DESKTOP, history, launchChromium, openClient, register, screenshot, send, startChat } from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 180_000;

/** Lets the test make the page deaf: the socket's incoming frames are dropped while `__parleyDeaf` is set. */
const DEAFNESS = `(() => {
  const Native = WebSocket;
  window.__parleyDeaf = false;
  window.WebSocket = class extends Native {
    addEventListener(type, listener, options) {
      if (type !== 'message') return super.addEventListener(type, listener, options);
      return super.addEventListener(type, (event) => { if (!window.__parleyDeaf) listener.call(this, event); }, options);
    }
  };
})();`;

describe('the web client outbox', () => {
  const dir = tempDir('web-outbox');
  const webRoot = join(dir.path, 'dist');
  const dataDir = join(dir.path, 'data');
  let server: ServerProcess;
  let url = '';
  let browser: Browser;

  const bob = (args: string[]) => runCli(['--server', url, '--profile', join(dir.path, 'bob'), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
  const storedMessages = (): number => {
    const db = new Database(join(dataDir, 'parley.db'), { readonly: true });
    try {
      return (db.prepare("select count(*) as n from group_log where kind = 'message'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const until = async (what: string, check: () => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const line = (page: Page, text: string) => history(page).getByRole('listitem').filter({ hasText: text });

  beforeAll(async () => {
    await buildWebClient(webRoot);
    server = await startServerProcess({ dataDir, webRoot });
    url = server.url;
    browser = await launchChromium();
  }, SLOW);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    dir.remove();
  });

  it('sends what waited, after a lost reply, a killed server and a reload, exactly once and in order', async () => {
    const registered = await bob(['register', 'bob']);
    expect(registered.code, registered.stderr).toBe(0);
    const { context, page } = await openClient(browser, `${url}/`, DESKTOP);
    await context.addInitScript(DEAFNESS);
    await page.reload();
    await register(page, 'alice', PASSWORD);
    await startChat(page, 'bob');
    await send(page, 'one: before anything breaks');

    // The server stores the next message, but its reply never reaches the page; then the server dies.
    const before = storedMessages();
    await page.evaluate(() => Object.assign(window, { __parleyDeaf: true }));
    await page.getByRole('textbox', { name: 'Message' }).fill('two: its reply is lost');
    await page.getByRole('button', { name: 'Send' }).click();
    await until('the server to store message two', () => storedMessages() > before);
    await server.kill();
    await line(page, 'two: its reply is lost').getByText('Waiting to send').waitFor({ timeout: 30_000 });

    // Written while the server is down: kept, shown as waiting.
    for (const text of ['three: written offline', 'four: also offline']) {
      await page.getByRole('textbox', { name: 'Message' }).fill(text);
      await page.getByRole('button', { name: 'Send' }).click();
      await line(page, text).getByText('Waiting to send').waitFor();
    }
    await screenshot(page, 'desktop-outbox-waiting');

    // The server comes back on the same data and address; the page reloads with all three still pending.
    server = await startServerProcess({ dataDir, webRoot, port: Number(new URL(url).port) });
    await page.reload();
    await page.getByRole('region', { name: 'Chat with bob' }).waitFor({ timeout: 30_000 });
    for (const text of ['two: its reply is lost', 'three: written offline', 'four: also offline']) {
      await line(page, text).getByText('Sent', { exact: true }).waitFor({ timeout: 60_000 });
    }

    // Stored once each (until every device has acknowledged them).
    expect(storedMessages()).toBe(4);
    // Alice is a stranger to bob: her chat reaches him as a message request, which he accepts.
    const fetched = await bob(['sync']);
    expect(fetched.code, fetched.stderr).toBe(0);
    // With --json an entry that failed would be a {"kind":"error"} line here: there is none.
    expect(fetched.stdout.trim()).toBe('');
    const accepted = await bob(['accept', 'alice']);
    expect(accepted.code, accepted.stderr).toBe(0);
    const synced = await bob(['sync']);
    expect(synced.code, synced.stderr).toBe(0);
    const texts = synced.stdout
      .split('\n')
      .filter((text) => text.trim())
      .map((text) => (JSON.parse(text) as { text: string }).text);
    expect(texts).toEqual(['one: before anything breaks', 'two: its reply is lost', 'three: written offline', 'four: also offline']);
    // Bob's client saw no replay of two: the server recognised the resent copy instead of storing it again.
    expect(synced.stderr).toBe('');

    // Alice's own history holds each once too, after one more reload.
    await page.reload();
    await line(page, 'four: also offline').getByText('Sent', { exact: true }).waitFor({ timeout: 30_000 });
    await expect(history(page).getByRole('listitem').count()).resolves.toBe(4);
    await context.close();
  }, SLOW);

  it('shows why a message cannot be sent, with Retry and Delete, and a reload keeps it until deleted', async () => {
    const { context, page } = await openClient(browser, `${url}/`, DESKTOP);
    await register(page, 'carol', PASSWORD);
    // New chat refuses a name with no account at once (#15 item 6); a link to a draft still opens one.
    await page.goto(`${url}/#/new/zed-nobody`);
    await page.getByRole('region', { name: 'Chat with zed-nobody' }).waitFor({ timeout: 30_000 });
    await page.getByRole('textbox', { name: 'Message' }).fill('Are you there?');
    await page.getByRole('button', { name: 'Send' }).click();
    const failed = line(page, 'Are you there?');
    await failed.getByText('Not sent: There is no user called zed-nobody.').waitFor({ timeout: 30_000 });
    await screenshot(page, 'desktop-outbox-failed');

    await failed.getByRole('button', { name: 'Retry' }).click();
    await failed.getByText('Not sent: There is no user called zed-nobody.').waitFor({ timeout: 30_000 });

    await page.reload();
    await failed.getByText('Not sent: There is no user called zed-nobody.').waitFor({ timeout: 30_000 });
    // Logging out would lose it: the question says so.
    await page.getByRole('button', { name: 'Log out' }).click();
    const ask = page.getByRole('dialog', { name: 'Log out of this browser?' });
    await ask.getByRole('alert').filter({ hasText: '1 message you wrote here is not sent yet and will be lost.' }).waitFor();
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await failed.getByRole('button', { name: 'Delete' }).click();
    await failed.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('region', { name: 'Chat with zed-nobody' }).waitFor({ timeout: 30_000 });
    await expect(history(page).getByRole('listitem').count()).resolves.toBe(0);
    await context.close();
  }, SLOW);
});
