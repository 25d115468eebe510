/**
 * The web client's account screens and addresses in Chromium (issue #15): the recovery key shown
 * until confirmed, a refused long username, Change password, Log out asking first, Forgot
 * password with the recovery key, and a URL per conversation that a reload and Back/Forward keep.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/harness.js';
import { conversationEntry, DESKTOP, history, logIn, openClient, register, send, startChat, startWebRig } from './support.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';
const RECOVERED_PASSWORD = 'recovered at last, 2026';
const SLOW = 120_000;

describe('the web client: account and addresses', () => {
  const dir = tempDir('web-account');
  let close: () => Promise<void> = async () => dir.remove();
  let url = '';
  let browser: Browser;

  beforeAll(async () => {
    ({ url, browser, close } = await startWebRig(dir));
  }, SLOW);

  afterAll(() => close());

  it('shows the recovery key again after the tab was closed on it, until the user confirms saving it', async () => {
    const { context, page } = await openClient(browser, `${url}/`, DESKTOP);
    await page.getByLabel('Username').fill('erin');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    const key = page.getByLabel('Recovery key', { exact: true });
    await key.waitFor({ timeout: 30_000 });
    const recoveryKey = await key.textContent();
    await page.close();

    const reopened = await context.newPage();
    await reopened.goto(`${url}/`);
    const again = reopened.getByLabel('Recovery key', { exact: true });
    await again.waitFor({ timeout: 30_000 });
    await expect(again.textContent()).resolves.toBe(recoveryKey);
    await reopened.getByLabel('I have saved my recovery key').check();
    await reopened.getByRole('button', { name: 'Continue' }).click();
    await reopened.getByRole('button', { name: 'New chat' }).waitFor();

    // Confirmed: the next open goes straight to the chats.
    await reopened.reload();
    await reopened.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });
    await expect(reopened.getByLabel('Recovery key', { exact: true }).count()).resolves.toBe(0);
    await context.close();
  }, SLOW);

  it('refuses a username longer than 32 characters with the rule, instead of cutting it', async () => {
    const { context, page } = await openClient(browser, `${url}/`, DESKTOP);
    const long = 'a'.repeat(40);
    await page.getByLabel('Username').fill(long);
    await expect(page.getByLabel('Username').inputValue()).resolves.toBe(long);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'Usernames are 3 to 32 characters' }).waitFor({ timeout: 30_000 });
    await expect(page.getByLabel('Recovery key', { exact: true }).count()).resolves.toBe(0);
    await context.close();
  }, SLOW);

  it('changes the password in Settings, logs out after asking, and sets a new one with the recovery key', async () => {
    const { context, page } = await openClient(browser, `${url}/`, DESKTOP);
    const recoveryKey = await register(page, 'frank', PASSWORD);

    await page.getByRole('button', { name: 'Settings' }).click();
    const form = page.getByRole('form', { name: 'Change password' });
    await form.getByLabel('Current password').fill('not my password');
    await form.getByLabel('New password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('alert').filter({ hasText: 'The current password is wrong' }).waitFor({ timeout: 30_000 });
    await form.getByLabel('Current password').fill(PASSWORD);
    await form.getByLabel('New password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('status').filter({ hasText: 'Password changed.' }).waitFor({ timeout: 30_000 });

    // Log out asks first and says what happens to this browser's keys and messages; Cancel keeps all.
    await page.getByRole('button', { name: 'Log out' }).click();
    const ask = page.getByRole('dialog', { name: 'Log out of this browser?' });
    await expect(ask.textContent()).resolves.toContain('This browser forgets your keys and every message kept in it.');
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Log out' }).click();
    await ask.getByRole('button', { name: 'Log out' }).click();
    const loggedOut = page.getByRole('status').filter({ hasText: 'You are logged out.' });
    await loggedOut.waitFor({ timeout: 30_000 });

    // The old password no longer works; the new error replaces the "logged out" notice.
    await logIn(page, 'frank', PASSWORD);
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor({ timeout: 30_000 });
    await expect(loggedOut.count()).resolves.toBe(0);

    await page.getByRole('button', { name: 'Forgot password?' }).click();
    const reset = page.getByRole('form', { name: 'Reset password' });
    await reset.getByLabel('Username').fill('frank');
    await reset.getByLabel('Recovery key').fill('0000-NOT-A-REAL-KEY');
    await reset.getByLabel('New password').fill(RECOVERED_PASSWORD);
    await reset.getByRole('button', { name: 'Set new password' }).click();
    await reset.getByRole('alert').waitFor({ timeout: 30_000 });
    await reset.getByLabel('Recovery key').fill(recoveryKey);
    await reset.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });

    // The recovered password is the one that works now.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('dialog', { name: 'Log out of this browser?' }).getByRole('button', { name: 'Log out' }).click();
    await logIn(page, 'frank', NEW_PASSWORD);
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor({ timeout: 30_000 });
    await logIn(page, 'frank', RECOVERED_PASSWORD);
    await page.getByRole('button', { name: 'New chat' }).waitFor({ timeout: 30_000 });
    await context.close();
  }, SLOW);

  it('gives each conversation an address that a reload reopens and Back and Forward walk', async () => {
    const grace = await openClient(browser, `${url}/`, DESKTOP);
    await register(grace.page, 'grace', PASSWORD);
    const heidi = await openClient(browser, `${url}/`, DESKTOP);
    await register(heidi.page, 'heidi', PASSWORD);
    const page = grace.page;

    await startChat(page, 'heidi');
    await send(page, 'Hello Heidi');
    await page.waitForURL(/#\/chat\/[A-Za-z0-9_-]+$/);
    const chatUrl = page.url();

    await page.reload();
    await page.getByRole('region', { name: 'Chat with heidi' }).waitFor({ timeout: 30_000 });
    await history(page).getByText('Hello Heidi').waitFor();
    expect(page.url()).toBe(chatUrl);

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.waitForURL(/#\/settings$/);
    await page.getByRole('region', { name: 'Settings' }).waitFor();
    await page.goBack();
    await page.getByRole('region', { name: 'Chat with heidi' }).waitFor();
    expect(page.url()).toBe(chatUrl);
    await page.goForward();
    await page.getByRole('region', { name: 'Settings' }).waitFor();
    await page.goBack();
    await page.getByRole('region', { name: 'Chat with heidi' }).waitFor();
    await conversationEntry(page, 'heidi', { unread: 0 }).waitFor();
    await grace.context.close();
    await heidi.context.close();
  }, SLOW);
});
