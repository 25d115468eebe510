/**
 * Time-locked messages in the web client, in real Chromium (DESIGN §8): a locked message counts
 * down and opens in place when the server releases it; "Open now" solves its puzzle in a Web
 * Worker with a progress bar, the time left and a cancel that keeps the work done; the composer
 * sets an unlock time. The other user is on the real CLI; the server counts 50 squarings a
 * second, so an hour's lock is a short solve.
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { acceptRequest, buildWebClient, conversationEntry, DESKTOP, history, launchChromium, openClient, register, screenshot, send } from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 120_000;

describe('time-locked messages in the web client', () => {
  const dir = tempDir('web-timelock');
  let server: TestServer;
  let browser: Browser;
  let bob: { context: BrowserContext; page: Page };

  const alice = async (args: string[]) => {
    const result = await runCli(['--server', server.url, '--profile', join(dir.path, 'alice'), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
    expect(result.code, result.stderr).toBe(0);
    return result.stdout
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  const item = (text: string | RegExp): Locator => history(bob.page).getByRole('listitem').filter({ hasText: text });
  /** The locked messages from Alice in Bob's open chat, oldest first. */
  const lockedItems = () => history(bob.page).getByRole('listitem').filter({ hasText: 'Time-locked until' });
  const secondsLeft = async (locked: Locator) => Number(/Opens in (\d+) s/.exec((await locked.getByRole('timer').textContent()) ?? '')?.[1]);

  beforeAll(async () => {
    const webRoot = await buildWebClient(join(dir.path, 'dist'));
    server = await startTestServer({ dataDir: join(dir.path, 'data'), webRoot, timelockSquaringsPerSecond: 50 });
    browser = await launchChromium();
    bob = await openClient(browser, `${server.url}/`, DESKTOP);
    await bob.page.getByRole('button', { name: 'Create account' }).waitFor();
    await register(bob.page, 'bob', PASSWORD);
    await alice(['register', 'alice']);
  }, SLOW);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('shows a locked message with a countdown and no text, and opens it in place when the server releases it', async () => {
    const [sent] = await alice(['send', 'bob', 'opens in place', '--unlock-at', '+15s']);
    const unlockAt = Date.parse(String(sent?.unlockAt));
    await acceptRequest(bob.page, 'alice');
    await conversationEntry(bob.page, 'alice').click();
    const locked = lockedItems().first();
    await locked.waitFor({ timeout: 30_000 });
    await expect(locked.textContent()).resolves.toContain('Time-locked until');
    await expect(bob.page.getByText('opens in place').count()).resolves.toBe(0);
    await expect(locked.locator('time').first().getAttribute('datetime')).resolves.toBe(new Date(unlockAt).toISOString());
    const first = await secondsLeft(locked);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(15);
    await bob.page.waitForTimeout(2_100);
    expect(await secondsLeft(locked)).toBeLessThan(first);
    await screenshot(bob.page, 'desktop-timelock-countdown');

    // The same item, now with the text: nothing was added or moved.
    const count = await history(bob.page).getByRole('listitem').count();
    const opened = item('opens in place');
    await opened.waitFor({ timeout: 40_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(unlockAt);
    await expect(opened.getByText('time-locked, opened at its time').count()).resolves.toBe(1);
    await expect(history(bob.page).getByRole('listitem').count()).resolves.toBe(count);
    await expect(lockedItems().count()).resolves.toBe(0);
  }, SLOW);

  it('"Open now" solves the puzzle in a worker, with progress, the time left and a cancel that keeps the work', async () => {
    // 8 hours at 50 squarings a second: 1,440,000 squarings.
    await alice(['send', 'bob', 'solved in the browser', '--unlock-at', '+8h']);
    const locked = lockedItems().first();
    await locked.waitFor({ timeout: 30_000 });
    await expect(locked.getByRole('timer').textContent()).resolves.toMatch(/^Opens in (7 h 5\d|8 h 0) min$/);

    const worker = bob.page.waitForEvent('worker');
    await locked.getByRole('button', { name: 'Open now' }).click();
    expect((await worker).url()).toMatch(/\/assets\/timelock\.worker-[\w-]+\.js$/);
    const bar = locked.getByRole('progressbar', { name: 'Opening' });
    await bar.waitFor();
    await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 60_000 }).toBeGreaterThan(100_000);
    await expect(locked.getByRole('status').textContent()).resolves.toMatch(/^\d+% · about .+ left$/);
    await screenshot(bob.page, 'desktop-timelock-opening');
    await locked.getByRole('button', { name: 'Cancel' }).click();
    await locked.getByRole('button', { name: 'Open now' }).waitFor();
    await expect(bar.count()).resolves.toBe(0);
    const stoppedAt = await bob.page.evaluate(async () => {
      // What the solver saved before it was cancelled, straight from IndexedDB.
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('parley-messages');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const all = await new Promise<{ done: number }[]>((resolve, reject) => {
        const request = db.transaction('solveCheckpoints').objectStore('solveCheckpoints').getAll();
        request.onsuccess = () => resolve(request.result as { done: number }[]);
        request.onerror = () => reject(request.error);
      });
      db.close();
      return Math.max(0, ...all.map((checkpoint) => checkpoint.done));
    });
    expect(stoppedAt).toBeGreaterThan(100_000);

    // Again: it resumes from the checkpoint, then opens in place.
    await locked.getByRole('button', { name: 'Open now' }).click();
    await expect.poll(async () => Number((await bar.getAttribute('value').catch(() => null)) ?? 0), { timeout: 30_000 }).toBeGreaterThan(stoppedAt);
    const opened = item('solved in the browser');
    await opened.waitFor({ timeout: 120_000 });
    await expect(opened.getByText('time-locked, opened by solving its puzzle').count()).resolves.toBe(1);
    await expect(lockedItems().count()).resolves.toBe(0);
  }, 240_000);

  it('the composer sends a time-locked message: the recipient sees it locked, with no text', async () => {
    await bob.page.getByLabel('Time lock').selectOption({ label: 'Opens in 1 hour' });
    const before = Date.now();
    await send(bob.page, 'see you in an hour');
    await expect(item('see you in an hour').getByText(/^time-locked, locked until /).count()).resolves.toBe(1);
    // One message only: the composer is back to no lock.
    await expect(bob.page.getByLabel('Time lock').inputValue()).resolves.toBe('');
    const synced = await alice(['sync']);
    expect(synced).toEqual([{ conversation: 'bob', sender: 'bob', sentAt: expect.any(String), seq: expect.any(Number), locked: true, unlockAt: expect.any(String) }]);
    const unlockAt = Date.parse(String(synced[0]?.unlockAt));
    expect(unlockAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(unlockAt).toBeLessThan(Date.now() + 3_600_000);

    // A chosen time in the past: the browser refuses the form, with its message; nothing is sent.
    await bob.page.getByLabel('Time lock').selectOption({ label: 'Opens at a chosen time…' });
    const when = bob.page.getByLabel('Unlock time');
    await when.fill('2020-01-01T10:00');
    await bob.page.getByRole('textbox', { name: 'Message' }).fill('too late');
    await bob.page.getByRole('button', { name: 'Send' }).click();
    await expect(when.evaluate((input: HTMLInputElement) => [input.validity.rangeUnderflow, input.validationMessage.length > 0])).resolves.toEqual([true, true]);
    await expect(bob.page.getByRole('textbox', { name: 'Message' }).inputValue()).resolves.toBe('too late');
    await expect(item('too late').count()).resolves.toBe(0);

    // A chosen time ahead is sent with it.
    const at = new Date(Date.now() + 2 * 86_400_000);
    at.setSeconds(0, 0);
    const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await when.fill(local);
    await bob.page.getByRole('button', { name: 'Send' }).click();
    await item('too late').getByText('Sent', { exact: true }).waitFor({ timeout: 30_000 });
    await expect(alice(['sync'])).resolves.toEqual([expect.objectContaining({ locked: true, unlockAt: at.toISOString() })]);
  }, SLOW);
});
