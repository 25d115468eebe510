/**
 * Safety numbers in the web client (DESIGN §11): two browsers see the same number and QR code,
 * one marks it verified, and a swapped identity key in the server's directory (a malicious
 * server, simulated by editing its database and logging the swap in its key log) is shown as
 * KEY CHANGED and refused on send.
 */
import { join } from 'node:path';
import { safetyNumber } from '@parley/crypto';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { swapIdentityKeyAndLog } from '../support/key-log.js';
import { acceptRequest, buildWebClient, conversationEntry, DESKTOP, history, launchChromium, openClient, PHONE, register, screenshot, send, startChat } from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 120_000;

/** The safety number as the Verify screen shows it, digits only. */
async function shownNumber(page: Page): Promise<string> {
  const text = (await page.getByRole('group', { name: 'Safety number' }).textContent()) ?? '';
  // Twelve groups of five, as printed by `parley verify`.
  expect(text).toMatch(/^(\d{5} ){11}\d{5}$/);
  return text.replaceAll(' ', '');
}

/** The dark modules of the QR code the page drew, as "row,col" (its path is one rectangle per run). */
async function shownQrModules(page: Page, label: string): Promise<Set<string>> {
  const qr = page.getByRole('img', { name: label });
  await expect(qr.evaluate((element) => element.tagName.toLowerCase())).resolves.toBe('svg');
  const path = (await qr.locator('path').getAttribute('d')) ?? '';
  const dark = new Set<string>();
  for (const [, x, y, run] of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    for (let i = 0; i < Number(run); i++) dark.add(`${Number(y) - 4},${Number(x) - 4 + i}`);
  }
  return dark;
}

/** What an independent encoder makes of the payload `parley verify` also shows. */
function expectedQrModules(digits: string): Set<string> {
  const { modules } = QRCode.create(`parley-safety:v1:${digits}`, { errorCorrectionLevel: 'M' });
  const dark = new Set<string>();
  for (let row = 0; row < modules.size; row++) for (let col = 0; col < modules.size; col++) if (modules.get(row, col)) dark.add(`${row},${col}`);
  return dark;
}

describe('safety numbers in the web client', () => {
  const dir = tempDir('web-safety');
  const webRoot = join(dir.path, 'dist');
  const dataDir = join(dir.path, 'data');
  let server: TestServer;
  let browser: Browser;
  let alice: { context: BrowserContext; page: Page };
  let bob: { context: BrowserContext; page: Page };
  let number = '';

  /** Read the running server's database (SQLite in WAL mode lets a reader in beside it). */
  const query = <T>(sql: string, ...params: unknown[]): T => {
    const db = new Database(join(dataDir, 'parley.db'), { readonly: true });
    try {
      return db.prepare(sql).get(...params) as T;
    } finally {
      db.close();
    }
  };
  const identityKey = (username: string): Uint8Array => new Uint8Array(query<{ key: Buffer }>('select identity_key as key from accounts where username = ?', username).key);
  /** Every message and commit the server holds for any group. */
  const groupLogLength = (): number => query<{ n: number }>('select count(*) as n from group_log').n;

  beforeAll(async () => {
    await buildWebClient(webRoot);
    server = await startTestServer({ dataDir, webRoot });
    browser = await launchChromium();
  }, SLOW);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('alice and bob see the same number and QR code; alice marks bob verified', async () => {
    alice = await openClient(browser, `${server.url}/`, DESKTOP);
    await register(alice.page, 'alice', PASSWORD);
    bob = await openClient(browser, `${server.url}/`, PHONE);
    await register(bob.page, 'bob', PASSWORD);

    await startChat(alice.page, 'bob');
    await send(alice.page, 'Shall we compare safety numbers?');
    await acceptRequest(bob.page, 'alice');
    await conversationEntry(bob.page, 'alice').click({ timeout: 30_000 });
    await history(bob.page).getByText('Shall we compare safety numbers?').waitFor({ timeout: 30_000 });
    await send(bob.page, 'Yes, open Verify.');
    await history(alice.page).getByText('Yes, open Verify.').waitFor({ timeout: 30_000 });

    await alice.page.getByRole('button', { name: 'Verify safety number' }).click();
    await bob.page.getByRole('button', { name: 'Verify safety number' }).click();
    await alice.page.getByRole('heading', { name: 'Safety number with bob' }).waitFor();
    await bob.page.getByRole('heading', { name: 'Safety number with alice' }).waitFor();
    number = await shownNumber(alice.page);
    expect(await shownNumber(bob.page)).toBe(number);
    // The same as computed here from the identity keys the server's directory holds.
    expect(safetyNumber({ username: 'alice', identityKey: identityKey('alice') }, { username: 'bob', identityKey: identityKey('bob') }).replaceAll(' ', '')).toBe(number);

    // The QR code carries exactly `parley-safety:v1:<the number shown>`.
    const expected = expectedQrModules(number);
    expect(await shownQrModules(alice.page, 'QR code of the safety number with bob')).toEqual(expected);
    expect(await shownQrModules(bob.page, 'QR code of the safety number with alice')).toEqual(expected);

    for (const page of [alice.page, bob.page]) await page.getByRole('status').filter({ hasText: 'Not verified.' }).waitFor();
    await screenshot(bob.page, 'phone-verify');

    await alice.page.getByRole('button', { name: 'Mark as verified' }).click();
    await alice.page.getByRole('status').filter({ hasText: 'Verified. You compared this number with bob.' }).waitFor({ timeout: 30_000 });
    await expect(alice.page.getByRole('button', { name: 'Mark as verified' }).count()).resolves.toBe(0);
    await conversationEntry(alice.page, 'bob', { trust: 'verified' }).waitFor();
    await screenshot(alice.page, 'desktop-verify');
    // Verification is alice's own record: bob has not compared yet.
    await expect(bob.page.getByRole('status').filter({ hasText: 'Not verified.' }).count()).resolves.toBe(1);

    await alice.page.getByRole('button', { name: 'Back to chat' }).click();
    await expect(alice.page.getByRole('region', { name: 'Chat with bob' }).getByText('verified', { exact: true }).isVisible()).resolves.toBe(true);
    await alice.page.getByRole('button', { name: 'Verify safety number' }).click();
  }, SLOW);

  it('a swapped identity key in the directory shows KEY CHANGED, and nothing is sent to bob', async () => {
    // A malicious server swaps bob's identity key in its directory, and logs the swap so that its
    // key log vouches for it (unlogged, the browser would refuse the entry outright).
    const port = server.port;
    await server.close();
    const db = new Database(join(dataDir, 'parley.db'));
    swapIdentityKeyAndLog(db, 'bob', new Uint8Array(32).fill(7));
    db.close();
    server = await startTestServer({ dataDir, port, webRoot });

    // Alice's Verify screen looks again once her browser has reconnected.
    const warning = alice.page.getByRole('alert').filter({ hasText: 'KEY CHANGED.' });
    await warning.waitFor({ timeout: 60_000 });
    await expect(warning.textContent()).resolves.toContain('Nothing is sent to bob until you compare the new number');
    const changed = await shownNumber(alice.page);
    expect(changed).not.toBe(number);
    expect(await shownQrModules(alice.page, 'QR code of the safety number with bob')).toEqual(expectedQrModules(changed));
    await expect(alice.page.getByRole('button', { name: 'Mark as verified' }).count()).resolves.toBe(0);
    await expect(alice.page.getByRole('button', { name: 'Trust new key' }).isVisible()).resolves.toBe(true);
    await conversationEntry(alice.page, 'bob', { trust: 'key changed' }).waitFor();
    await screenshot(alice.page, 'desktop-verify-key-changed');
    await alice.page.setViewportSize(PHONE);
    await screenshot(alice.page, 'phone-verify-key-changed');
    await alice.page.setViewportSize(DESKTOP);

    // The chat warns before anything is typed, and a send is refused in words.
    await alice.page.getByRole('button', { name: 'Back to chat' }).click();
    await alice.page.getByRole('alert').filter({ hasText: 'bob’s identity key changed.' }).waitFor();
    // The history says so too, where it happened, and keeps saying it after the warning is resolved.
    await history(alice.page).getByRole('listitem').filter({ hasText: 'bob’s safety number changed.' }).waitFor({ timeout: 30_000 });
    const logged = groupLogLength();
    await alice.page.getByRole('textbox', { name: 'Message' }).fill('This must not reach a stranger.');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    const refused = history(alice.page).getByRole('listitem').filter({ hasText: 'This must not reach a stranger.' });
    await refused.getByText('Not sent: bob’s identity key changed, so nothing was sent. Compare safety numbers with bob').waitFor({ timeout: 30_000 });
    await expect(refused.getByText('Sent', { exact: true }).count()).resolves.toBe(0);

    // Nothing reached the server: the browser refused before encrypting.
    expect(groupLogLength()).toBe(logged);

    // After comparing the new number, alice can trust the new key explicitly.
    await alice.page.getByRole('button', { name: 'Compare safety numbers' }).click();
    await alice.page.getByRole('button', { name: 'Trust new key' }).click();
    await alice.page.getByRole('status').filter({ hasText: 'Verified.' }).waitFor({ timeout: 30_000 });
    await expect(alice.page.getByRole('alert').filter({ hasText: 'KEY CHANGED.' }).count()).resolves.toBe(0);
    await conversationEntry(alice.page, 'bob', { trust: 'verified' }).waitFor();
    await alice.page.getByRole('button', { name: 'Back to chat' }).click();
    await history(alice.page).getByRole('listitem').filter({ hasText: 'bob’s safety number changed.' }).waitFor();
    await expect(history(alice.page).getByRole('listitem').filter({ hasText: 'bob’s safety number changed.' }).count()).resolves.toBe(1);
  }, SLOW);
});
