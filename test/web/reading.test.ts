/**
 * Reading in the web client (issue #15): messages grouped by sender with links, day separators
 * and full dates; "New messages" on opening; the scroll position kept with "Jump to latest";
 * 10,000 messages virtualised; system lines for membership and devices; focus after dialogs;
 * New chat checking the name; notifications while the tab is hidden. Real server, real Chromium,
 * a third user on the real CLI.
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { acceptRequest, buildWebClient, conversationEntry, DESKTOP, history, launchChromium, PHONE, register, screenshot, send, startChat } from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 180_000;

/** Records every Notification the page creates (the real one is still shown), in `window.shownNotifications`. */
const RECORD_NOTIFICATIONS = `
  const Real = window.Notification;
  window.shownNotifications = [];
  window.Notification = class extends Real {
    constructor(title, options) {
      window.shownNotifications.push({ title, body: options && options.body });
      super(title, options);
      window.lastNotification = this;
    }
  };
`;

interface Shown {
  title: string;
  body?: string;
}

/** As when the user switches to another tab: the page reads itself hidden (or visible again). */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((isHidden) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (isHidden ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => isHidden });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

const isFocused = (page: Page, name: string) => page.getByRole('textbox', { name }).evaluate((element) => element === document.activeElement);
const focusedName = (page: Page) => page.evaluate(() => document.activeElement?.textContent ?? '');

describe('reading in the web client', () => {
  const dir = tempDir('web-reading');
  const webRoot = join(dir.path, 'dist');
  let server: TestServer;
  let url = '';
  let browser: Browser;
  let alice: { context: BrowserContext; page: Page };
  let bob: { context: BrowserContext; page: Page };

  const cli = (profile: string, args: string[]) => runCli(['--server', url, '--profile', join(dir.path, profile), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
  const lines = (page: Page, text: string) => history(page).getByRole('listitem').filter({ hasText: text });

  /** A browser profile of its own, allowed to notify, recording what it shows. */
  async function openBrowser(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: DESKTOP, permissions: ['notifications'] });
    await context.addInitScript(RECORD_NOTIFICATIONS);
    const page = await context.newPage();
    page.on('pageerror', (error) => process.stderr.write(`[browser] ${error.message}\n`));
    await page.goto(`${url}/`);
    return { context, page };
  }

  beforeAll(async () => {
    await buildWebClient(webRoot);
    server = await startTestServer({ dataDir: join(dir.path, 'data'), webRoot });
    url = server.url;
    browser = await launchChromium();
    alice = await openBrowser();
    await register(alice.page, 'alice', PASSWORD);
    bob = await openBrowser();
    await register(bob.page, 'bob', PASSWORD);
    const carol = await cli('carol', ['register', 'carol']);
    expect(carol.code, carol.stderr).toBe(0);
  }, SLOW);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('New chat says at once that a name has no account, and opens a chat with one that has, focused on the composer', async () => {
    const newChat = alice.page.getByRole('button', { name: 'New chat' });
    await newChat.click();
    const dialog = alice.page.getByRole('dialog', { name: 'New chat' });
    await dialog.getByLabel('Username').fill('nobody-here');
    await dialog.getByRole('button', { name: 'Start chat' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'There is no user called nobody-here.' }).waitFor({ timeout: 30_000 });
    // Closing the dialog gives the focus back to the button that opened it.
    await alice.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect(focusedName(alice.page)).resolves.toBe('New chat');

    await startChat(alice.page, 'bob');
    await alice.page.getByRole('region', { name: 'Chat with bob' }).waitFor();
    await expect(isFocused(alice.page, 'Message')).resolves.toBe(true);
  }, SLOW);

  it('groups one sender’s messages, links addresses safely, separates days and gives the full date on hover', async () => {
    await send(alice.page, 'Hello Bob.');
    await send(alice.page, 'The agenda is at https://example.com/agenda?week=12 and mail me at alice@example.org');
    // Alice is a stranger to bob: her chat is a request until he accepts it (DESIGN §6 consent).
    await acceptRequest(bob.page, 'alice');
    await conversationEntry(bob.page, 'alice', { unread: 2 }).click({ timeout: 30_000 });

    // Bob lands on the first unread message, under "New messages", with the day above.
    const log = history(bob.page);
    await log.getByRole('separator', { name: 'New messages' }).waitFor();
    await log.getByRole('separator', { name: 'Today' }).waitFor();
    const link = log.getByRole('link', { name: 'https://example.com/agenda?week=12' });
    await expect(link.getAttribute('href')).resolves.toBe('https://example.com/agenda?week=12');
    await expect(link.getAttribute('rel')).resolves.toBe('noopener noreferrer');
    await expect(link.getAttribute('target')).resolves.toBe('_blank');
    await expect(log.getByRole('link', { name: 'alice@example.org' }).getAttribute('href')).resolves.toBe('mailto:alice@example.org');
    // What only looks like a link or markup stays text.
    const trap = 'javascript:alert(1) <img src=x onerror=alert(2)> <a href="https://evil.example">click</a>';
    await send(alice.page, trap);
    await lines(bob.page, 'javascript:alert(1)').waitFor({ timeout: 30_000 });
    await expect(lines(bob.page, 'javascript:alert(1)').locator('img').count()).resolves.toBe(0);
    // Any link in it is one the page made (web address, new tab, no opener), never the sender's markup.
    const made = await lines(bob.page, 'javascript:alert(1)').locator('a').evaluateAll((links) => links.map((a) => [a.getAttribute('href'), a.getAttribute('rel')]));
    expect(made.every(([href, rel]) => /^https?:/.test(href ?? '') && rel === 'noopener noreferrer')).toBe(true);
    await expect(lines(bob.page, 'javascript:alert(1)').textContent()).resolves.toContain(trap);
    await send(alice.page, 'Talk soon.');
    // The full date on hover; a direct chat shows no sender names (a screen reader still hears them).
    const year = String(new Date().getFullYear());
    await expect(lines(bob.page, 'Hello Bob.').locator('time').getAttribute('title')).resolves.toContain(year);
    await expect(lines(bob.page, 'Hello Bob.').textContent()).resolves.toContain('alice:');
    await expect(log.getByText('alice', { exact: true }).count()).resolves.toBe(0);

    // In a group, a run of messages by one sender is headed by the name once.
    await alice.page.getByRole('button', { name: 'New group' }).click();
    const dialog = alice.page.getByRole('dialog', { name: 'New group' });
    await dialog.getByLabel('Title').fill('Reading club');
    await dialog.getByLabel('Members').fill('bob');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });
    await alice.page.getByRole('region', { name: 'Group Reading club' }).waitFor();
    await expect(isFocused(alice.page, 'Message')).resolves.toBe(true);
    await alice.page.getByText('No messages yet. Everyone in the group sees what you send from now on.').waitFor();

    await conversationEntry(bob.page, 'Reading club', { group: true }).click({ timeout: 30_000 });
    await send(bob.page, 'First chapter done.');
    await send(bob.page, 'Second one too.');
    await lines(alice.page, 'Second one too.').waitFor({ timeout: 30_000 });
    await expect(history(alice.page).getByText('bob', { exact: true }).count()).resolves.toBe(1);
    await screenshot(alice.page, 'desktop-group-runs');
  }, SLOW);

  it('says in the group who was added, removed or left, and when a member has a new device; hints in an empty group', async () => {
    const members = alice.page.getByRole('button', { name: 'Members' });
    await members.click();
    const dialog = alice.page.getByRole('dialog', { name: 'Members of Reading club' });
    await dialog.getByLabel('Username').fill('carol');
    await dialog.getByRole('button', { name: 'Add member' }).click();
    await dialog.getByRole('list', { name: 'Members' }).getByText('carol').waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect(focusedName(alice.page)).resolves.toBe('Members');
    await lines(alice.page, 'You added carol.').waitFor({ timeout: 30_000 });
    await lines(bob.page, 'alice added carol.').waitFor({ timeout: 30_000 });

    await members.click();
    await dialog.getByRole('button', { name: 'Remove carol' }).click();
    await dialog.getByRole('list', { name: 'Members' }).getByText('carol').waitFor({ state: 'detached', timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await lines(alice.page, 'You removed carol.').waitFor({ timeout: 30_000 });
    await lines(bob.page, 'alice removed carol.').waitFor({ timeout: 30_000 });

    // Bob logs in on a terminal too: his browser adds that device to his chats when it next catches up.
    const login = await cli('bob-cli', ['login', 'bob', '--device-name', 'bob-terminal']);
    expect(login.code, login.stderr).toBe(0);
    await bob.page.reload();
    await conversationEntry(alice.page, 'bob').click();
    await lines(alice.page, 'bob has a new device.').waitFor({ timeout: 60_000 });
    await conversationEntry(alice.page, 'Reading club', { group: true }).click();
    await lines(alice.page, 'bob has a new device.').waitFor({ timeout: 30_000 });

    await conversationEntry(bob.page, 'Reading club', { group: true }).click({ timeout: 30_000 });
    await bob.page.getByRole('button', { name: 'Members' }).click();
    const bobs = bob.page.getByRole('dialog', { name: 'Members of Reading club' });
    await bobs.getByRole('button', { name: 'Leave group' }).click();
    await bobs.getByRole('button', { name: 'Leave', exact: true }).click();
    await bobs.waitFor({ state: 'detached', timeout: 30_000 });
    await lines(alice.page, 'bob left.').waitFor({ timeout: 30_000 });
    await screenshot(alice.page, 'desktop-system-lines');

    // The lines are kept: a reload shows them again, in place.
    await alice.page.reload();
    await conversationEntry(alice.page, 'Reading club', { group: true }).click({ timeout: 30_000 });
    for (const text of ['You added carol.', 'You removed carol.', 'bob has a new device.', 'bob left.']) await lines(alice.page, text).waitFor({ timeout: 30_000 });
    await alice.page.getByText('Only you are in this group so far.', { exact: false }).waitFor({ timeout: 30_000 });
  }, SLOW);

  it('keeps the reader’s place while messages arrive, offers Jump to latest with a count, and lands on the first unread', async () => {
    await conversationEntry(alice.page, 'Reading club', { group: true }).click();
    await conversationEntry(bob.page, 'alice').click();
    for (let i = 1; i <= 30; i++) await send(bob.page, `Line ${i} of the long story.`);
    await conversationEntry(alice.page, 'bob', { unread: 30 }).click({ timeout: 30_000 });
    const log = history(alice.page);
    const divider = log.getByRole('separator', { name: 'New messages' });
    await divider.waitFor();
    // Opened at "New messages", not at the bottom: the first unread is in view, the last is not.
    await expect(divider.isVisible()).resolves.toBe(true);
    await expect(inView(alice.page, 'Line 1 of the long story.')).resolves.toBe(true);
    await expect(inView(alice.page, 'Line 30 of the long story.')).resolves.toBe(false);
    await alice.page.getByRole('button', { name: /^Jump to latest/ }).waitFor();

    // Reading older messages: new ones arrive without moving the page, and are counted.
    const scroller = log.locator('xpath=..');
    const before = await scroller.evaluate((element) => element.scrollTop);
    await send(bob.page, 'Newer one.');
    await send(bob.page, 'Newest one.');
    const jump = alice.page.getByRole('button', { name: 'Jump to latest (2 new)' });
    await jump.waitFor({ timeout: 30_000 });
    await expect(scroller.evaluate((element) => element.scrollTop)).resolves.toBe(before);
    await screenshot(alice.page, 'desktop-jump-to-latest');
    await jump.click();
    await lines(alice.page, 'Newest one.').waitFor();
    await expect(inView(alice.page, 'Newest one.')).resolves.toBe(true);
    await alice.page.getByRole('button', { name: /^Jump to latest/ }).waitFor({ state: 'detached' });

    // At the bottom, a new message is followed into view.
    await send(bob.page, 'Followed into view.');
    await lines(alice.page, 'Followed into view.').waitFor({ timeout: 30_000 });
    await expect.poll(() => inView(alice.page, 'Followed into view.')).toBe(true);

    // The same screen in dark mode, on a desktop and a phone.
    await alice.page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(alice.page, 'desktop-dark-chat');
    await alice.page.setViewportSize(PHONE);
    await screenshot(alice.page, 'phone-dark-chat');
    await alice.page.setViewportSize(DESKTOP);
    await alice.page.emulateMedia({ colorScheme: 'light' });
  }, SLOW);

  it('notifies of a new message while the tab is hidden (sender and text, or only the sender), with the count in the title and favicon', async () => {
    // Not offered on arrival: a fresh browser that has opened no chat sees no offer.
    const fresh = await openBrowser();
    await register(fresh.page, 'dave', PASSWORD);
    await expect(fresh.page.getByRole('region', { name: 'Notifications offer' }).count()).resolves.toBe(0);
    await fresh.context.close();

    // Offered in a chat; the browser's permission is asked when the user says yes.
    const offer = alice.page.getByRole('region', { name: 'Notifications offer' });
    await offer.getByRole('button', { name: 'Turn on notifications' }).click();
    await offer.waitFor({ state: 'detached' });
    await alice.page.getByRole('button', { name: 'Settings' }).click();
    await expect(alice.page.getByLabel('Notify me of new messages').isChecked()).resolves.toBe(true);
    await conversationEntry(alice.page, 'bob').click();

    await setHidden(alice.page, true);
    await send(bob.page, 'Are you still there?');
    await expect.poll(() => alice.page.evaluate(() => (window as unknown as { shownNotifications: Shown[] }).shownNotifications), { timeout: 30_000 }).toEqual([{ title: 'bob', body: 'Are you still there?' }]);
    await expect.poll(() => alice.page.title()).toBe('(1) Parley');
    await expect(alice.page.locator('link[rel="icon"]').getAttribute('href')).resolves.toMatch(/^data:image\/svg\+xml,/);

    // Back in view: read, the title says so, and "New messages" now stands above what came meanwhile.
    await setHidden(alice.page, false);
    await expect.poll(() => alice.page.title()).toBe('Parley');
    const divider = history(alice.page).getByRole('separator', { name: 'New messages' });
    await expect.poll(() => divider.evaluate((row) => row.nextElementSibling?.textContent ?? '')).toContain('Are you still there?');
    await expect(alice.page.locator('link[rel="icon"]').getAttribute('href')).resolves.toBe('/favicon.svg');

    // With the text hidden, a notification says only who wrote; clicking it opens the chat.
    await alice.page.getByRole('button', { name: 'Settings' }).click();
    await alice.page.getByLabel('Show the message text in notifications').uncheck();
    await setHidden(alice.page, true);
    await send(bob.page, 'A secret plan.');
    await expect
      .poll(() => alice.page.evaluate(() => (window as unknown as { shownNotifications: Shown[] }).shownNotifications.at(-1)), { timeout: 30_000 })
      .toEqual({ title: 'bob', body: 'New message' });
    await setHidden(alice.page, false);
    await alice.page.evaluate(() => (window as unknown as { lastNotification: Notification }).lastNotification.dispatchEvent(new Event('click')));
    await lines(alice.page, 'A secret plan.').waitFor({ timeout: 30_000 });
    // Bob did not turn them on: he got none.
    await expect(bob.page.evaluate(() => (window as unknown as { shownNotifications: Shown[] }).shownNotifications)).resolves.toEqual([]);
  }, SLOW);

  it('virtualises 10,000 messages: few rows in the page, and the whole history scrolls', async () => {
    // 10,000 messages straight into this browser's store, as a long-used device would hold.
    const seeded = await alice.page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('parley-messages');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const conversations = await new Promise<{ groupId: string; peer?: string }[]>((resolve) => {
        const request = db.transaction('conversations').objectStore('conversations').getAll();
        request.onsuccess = () => resolve(request.result as { groupId: string; peer?: string }[]);
      });
      const groupId = conversations.find((c) => c.peer === 'bob')?.groupId ?? '';
      const tx = db.transaction('messages', 'readwrite');
      const start = Date.now() - 20 * 86_400_000;
      for (let i = 1; i <= 10_000; i++) {
        tx.objectStore('messages').put({ groupId, seq: 1_000_000 + i, sender: i % 3 === 0 ? 'alice' : 'bob', senderDevice: 'seeded', sentAt: start + i * 60_000, text: `Archived message ${i}.`, read: 1 });
      }
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
      return groupId;
    });
    expect(seeded).not.toBe('');
    await conversationEntry(alice.page, 'Reading club', { group: true }).click();
    await conversationEntry(alice.page, 'bob').click();
    await lines(alice.page, 'Archived message 10000.').waitFor({ timeout: 30_000 });
    const rendered = await history(alice.page).getByRole('listitem').count();
    expect(rendered).toBeGreaterThan(3);
    expect(rendered).toBeLessThan(80);

    const scroller = history(alice.page).locator('xpath=..');
    await scroller.evaluate((element) => element.scrollTo({ top: 0 }));
    await lines(alice.page, 'Hello Bob.').waitFor({ timeout: 30_000 });
    await scroller.evaluate((element) => element.scrollTo({ top: element.scrollHeight / 2 }));
    const middle = history(alice.page).getByRole('listitem').filter({ hasText: /Archived message \d+/ }).first();
    await middle.waitFor();
    const shown = Number(/Archived message (\d+)\./.exec((await middle.textContent()) ?? '')?.[1]);
    expect(shown).toBeGreaterThan(2_000);
    expect(shown).toBeLessThan(8_000);
    await expect(history(alice.page).getByRole('listitem').count()).resolves.toBeLessThan(80);
    await alice.page.setViewportSize(PHONE);
    await screenshot(alice.page, 'phone-long-history');
    await alice.page.setViewportSize(DESKTOP);
  }, SLOW);

  /** Whether the history row holding `text` is inside the scrolled list's visible area. */
  function inView(page: Page, text: string): Promise<boolean> {
    return lines(page, text)
      .first()
      .evaluate((row) => {
        const list = row.closest('.messages');
        if (!list) return false;
        const box = row.getBoundingClientRect();
        const frame = list.getBoundingClientRect();
        return box.bottom > frame.top && box.top < frame.bottom;
      })
      .catch(() => false);
  }
});
