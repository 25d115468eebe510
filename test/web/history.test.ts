/**
 * History on a new browser (issue #15): alice logs in on a new browser context, which is a new
 * device of her account. It says her earlier messages are on her other devices; her first browser
 * asks whether to send them, and once she agrees they appear in the new one. Set to send without
 * asking, the first browser sends them to the next new device by itself. A group's title shows at
 * once on the new browser.
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/harness.js';
import { conversationEntry, DESKTOP, history, logIn, openClient, register, screenshot, send, startChat, startWebRig } from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 180_000;

describe('the web client: history on a new browser', () => {
  const dir = tempDir('web-history');
  let close: () => Promise<void> = async () => dir.remove();
  let url = '';
  let browser: Browser;
  let first: { context: BrowserContext; page: Page };

  const bob = (args: string[]) => runCli(['--server', url, '--profile', join(dir.path, 'bob'), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });

  /** Alice on a new browser: her chat with bob is there at once, its earlier messages not yet. */
  async function newBrowser(): Promise<{ context: BrowserContext; page: Page }> {
    const client = await openClient(browser, `${url}/`, DESKTOP);
    await logIn(client.page, 'alice', PASSWORD);
    await client.page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });
    return client;
  }

  beforeAll(async () => {
    ({ url, browser, close } = await startWebRig(dir));
  }, SLOW);

  afterAll(() => close());

  it('a new browser gets the earlier messages from another of my devices once I agree there', async () => {
    const registered = await bob(['register', 'bob']);
    expect(registered.code, registered.stderr).toBe(0);
    first = await openClient(browser, `${url}/`, DESKTOP);
    await register(first.page, 'alice', PASSWORD);
    await startChat(first.page, 'bob');
    await send(first.page, 'Hello from my first browser');
    const reply = await bob(['send', 'alice', 'Welcome, alice']);
    expect(reply.code, reply.stderr).toBe(0);
    await history(first.page).getByText('Welcome, alice').waitFor({ timeout: 30_000 });
    await first.page.getByRole('button', { name: 'New group' }).click();
    const dialog = first.page.getByRole('dialog', { name: 'New group' });
    await dialog.getByLabel('Title').fill('Reading list');
    await dialog.getByLabel('Members').fill('bob');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });

    const second = await newBrowser();
    const page = second.page;
    // The group's title, not a stand-in: the first browser tells it as the new one joins.
    await conversationEntry(page, 'Reading list', { group: true }).waitFor({ timeout: 30_000 });
    await conversationEntry(page, 'bob').waitFor({ timeout: 30_000 });
    await expect(conversationEntry(page, 'bob').textContent()).resolves.toContain('Earlier messages are on your other devices');
    await conversationEntry(page, 'bob').click();
    await page.getByText('Earlier messages of this chat are on your other devices.').waitFor();

    // The first browser asks, naming the new device.
    const ask = first.page.getByRole('region', { name: 'Message history' });
    await ask.getByText('A new device').waitFor({ timeout: 30_000 });
    await screenshot(first.page, 'desktop-history-offer');
    await screenshot(page, 'desktop-history-expected');
    await ask.getByRole('button', { name: 'Send history' }).click();
    await first.page.getByRole('status').filter({ hasText: 'Message history sent to your new device.' }).waitFor({ timeout: 30_000 });

    await history(page).getByText('Hello from my first browser').waitFor({ timeout: 30_000 });
    await history(page).getByText('Welcome, alice').waitFor();
    await page.getByRole('status').filter({ hasText: 'Earlier messages arrived from your other device.' }).waitFor();
    await screenshot(page, 'desktop-history-arrived');
    await expect(page.getByText('Earlier messages of this chat are on your other devices.').count()).resolves.toBe(0);

    // Kept: a reload shows them again, and the new device talks on in the same chat.
    await page.reload();
    await history(page).getByText('Hello from my first browser').waitFor({ timeout: 30_000 });
    await send(page, 'And hello from my second browser');
    const synced = await bob(['sync']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stdout).toContain('And hello from my second browser');
    // The first browser shows it too, not as unread: alice wrote it herself.
    const inFirst = conversationEntry(first.page, 'bob', { unread: 0 });
    await inFirst.filter({ hasText: 'You: And hello from my second browser' }).waitFor({ timeout: 30_000 });
    await second.context.close();
  }, SLOW);

  it('set to send without asking, my first browser sends the history to the next new device by itself', async () => {
    await first.page.getByRole('button', { name: 'Settings' }).click();
    await first.page.getByLabel('Send my message history to my new devices without asking').check();
    await screenshot(first.page, 'desktop-settings');

    const third = await newBrowser();
    await conversationEntry(third.page, 'bob').click();
    await history(third.page).getByText('Hello from my first browser').waitFor({ timeout: 60_000 });
    await history(third.page).getByText('Welcome, alice').waitFor();
    await expect(first.page.getByRole('region', { name: 'Message history' }).count()).resolves.toBe(0);
    await third.context.close();
    await first.context.close();
  }, SLOW);
});
