/**
 * The web client end to end: the real server serving the built bundle, real Chromium
 * (playwright-core driving Debian's /usr/bin/chromium), and a third user on the real CLI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import {
  buildWebClient,
  conversationEntry,
  DESKTOP,
  history,
  launchChromium,
  logIn,
  openClient,
  pageLoadTiming,
  PHONE,
  register,
  RESULTS_DIR,
  screenshot,
  send,
  startChat,
} from './support.js';

const PASSWORD = 'correct horse battery staple';
const SLOW = 120_000;

interface CliMessage {
  conversation: string;
  group?: string;
  sender: string;
  sentAt: string;
  seq: number;
  text: string;
}

describe('the web client in Chromium', () => {
  const dir = tempDir('web');
  const webRoot = join(dir.path, 'dist');
  let server: TestServer;
  let url = '';
  let browser: Browser;
  let alice: { context: BrowserContext; page: Page };
  let bob: { context: BrowserContext; page: Page };
  const timings: Record<string, unknown> = {};

  const carol = (args: string[], env: Record<string, string> = {}) =>
    runCli(['--server', url, '--profile', join(dir.path, 'carol'), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD, ...env } });
  const carolSync = async (): Promise<CliMessage[]> => {
    const result = await carol(['sync']);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line) as CliMessage);
  };

  /** On a phone, the list and a chat take turns; Back shows the list again. */
  const backToList = async (page: Page) => {
    const back = page.getByRole('button', { name: 'Back to conversations' });
    if (await back.isVisible()) await back.click();
  };

  beforeAll(async () => {
    await buildWebClient(webRoot);
    server = await startTestServer({ dataDir: join(dir.path, 'data'), webRoot });
    url = server.url;
    browser = await launchChromium();
  }, SLOW);

  afterAll(async () => {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'web-page-load.json'), JSON.stringify(timings, null, 2) + '\n');
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('serves the app from the server at /', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toContain('<div id="root"></div>');
    // A client route gets the app too; the API's own paths do not.
    expect((await fetch(`${url}/some/route`)).status).toBe(200);
    expect((await (await fetch(`${url}/healthz`)).json()) as { status: string }).toMatchObject({ status: 'ok' });
  });

  it('alice and bob register in two browsers and chat both ways, live', async () => {
    alice = await openClient(browser, `${url}/`, DESKTOP);
    await alice.page.getByRole('button', { name: 'Create account' }).waitFor();
    timings.firstLoadNewBrowser = await pageLoadTiming(alice.page);
    await screenshot(alice.page, 'desktop-sign-in');
    await alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    const aliceKey = await register(alice.page, 'alice', PASSWORD, {
      onRecoveryScreen: async () => {
        await screenshot(alice.page, 'desktop-recovery-key');
        await alice.page.getByRole('button', { name: 'Copy' }).click();
        await alice.page.getByText('Copied to the clipboard.').waitFor();
      },
    });
    await expect(alice.page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(aliceKey);

    // Bob is on a phone for the whole test.
    bob = await openClient(browser, `${url}/`, PHONE);
    await bob.page.getByRole('button', { name: 'Create account' }).waitFor();
    // The same, in a browser that is already running (the first load above includes its start-up).
    timings.firstLoadWarmBrowser = await pageLoadTiming(bob.page);
    await screenshot(bob.page, 'phone-sign-in');
    const recoveryKey = await register(bob.page, 'Bob', PASSWORD);
    expect(recoveryKey).toMatch(/^[0-9A-Z-]{39}$/);

    await startChat(alice.page, 'bob');
    await expect(alice.page.getByRole('region', { name: 'Chat with bob' }).isVisible()).resolves.toBe(true);
    await send(alice.page, 'Hi Bob, it is Alice.');
    await conversationEntry(alice.page, 'bob').waitFor();

    // Alice is a stranger to bob: her chat arrives as a request, apart from chats, without a reload.
    const request = bob.page.getByRole('region', { name: 'Message requests' });
    await request.getByRole('button', { name: 'Request from alice: a chat' }).waitFor({ timeout: 30_000 });
    await screenshot(bob.page, 'phone-request');
    await request.getByRole('button', { name: 'Accept request from alice' }).click();
    // Accepted: now a chat with one unread message.
    await conversationEntry(bob.page, 'alice', { unread: 1 }).waitFor({ timeout: 30_000 });
    await expect(request.count()).resolves.toBe(0);
    await screenshot(bob.page, 'phone-unread');
    await conversationEntry(bob.page, 'alice').click();
    const fromAlice = history(bob.page).getByRole('listitem').filter({ hasText: 'Hi Bob, it is Alice.' });
    await fromAlice.waitFor();
    await expect(fromAlice.textContent()).resolves.toContain('alice');
    await send(bob.page, 'Hello Alice! Bob here.');

    // Alice has the chat open: the reply appears in it live, and it is read at once.
    await history(alice.page).getByText('Hello Alice! Bob here.').waitFor({ timeout: 30_000 });
    await conversationEntry(alice.page, 'bob', { unread: 0 }).waitFor();
    await send(alice.page, 'Great, it works both ways.');
    await history(bob.page).getByText('Great, it works both ways.').waitFor({ timeout: 30_000 });
    await screenshot(alice.page, 'desktop-chat');
    await screenshot(bob.page, 'phone-chat');
  }, SLOW);

  it('a CLI user and the two browser users share a group, and everyone sees every message', async () => {
    const registered = await carol(['register', 'carol']);
    expect(registered.code, registered.stderr).toBe(0);
    const created = await carol(['group', 'create', 'Weekend plans', '--members', 'alice,bob']);
    expect(created.code, created.stderr).toBe(0);

    // The group arrives in both browsers live (a Welcome in each device's mailbox), as a request from carol.
    await backToList(bob.page);
    for (const page of [alice.page, bob.page]) await page.getByRole('button', { name: 'Accept request from carol' }).click({ timeout: 30_000 });
    await conversationEntry(alice.page, 'Weekend plans', { group: true }).waitFor({ timeout: 30_000 });
    await conversationEntry(bob.page, 'Weekend plans', { group: true }).waitFor({ timeout: 30_000 });

    const fromCarol = await carol(['group', 'send', 'Weekend plans', 'Picnic on Saturday?']);
    expect(fromCarol.code, fromCarol.stderr).toBe(0);
    await conversationEntry(alice.page, 'Weekend plans', { group: true, unread: 1 }).waitFor({ timeout: 30_000 });
    await conversationEntry(alice.page, 'Weekend plans', { group: true }).click();
    await history(alice.page).getByText('Picnic on Saturday?').waitFor();
    await send(alice.page, 'Yes! I will bring bread.');

    await conversationEntry(bob.page, 'Weekend plans', { group: true }).click();
    await history(bob.page).getByText('Picnic on Saturday?').waitFor({ timeout: 30_000 });
    await history(bob.page).getByText('Yes! I will bring bread.').waitFor({ timeout: 30_000 });
    await send(bob.page, 'Count me in, I have a blanket.');
    await history(alice.page).getByText('Count me in, I have a blanket.').waitFor({ timeout: 30_000 });

    const seen = await carolSync();
    expect(seen.map((m) => [m.sender, m.text])).toEqual([
      ['alice', 'Yes! I will bring bread.'],
      ['bob', 'Count me in, I have a blanket.'],
    ]);
    expect(seen.every((m) => m.conversation === 'Weekend plans')).toBe(true);

    // Senders are shown in a group, with the time.
    const bobsLine = history(alice.page).getByRole('listitem').filter({ hasText: 'Count me in' });
    await expect(bobsLine.textContent()).resolves.toContain('bob');
    await expect(bobsLine.locator('time').getAttribute('datetime')).resolves.toMatch(/^\d{4}-\d\d-\d\dT/);
    await screenshot(alice.page, 'desktop-group');
    await screenshot(bob.page, 'phone-group');
  }, SLOW);

  it('an admin creates a group in the browser, adds and removes members, and sees the members list', async () => {
    await alice.page.getByRole('button', { name: 'New group' }).click();
    const dialog = alice.page.getByRole('dialog', { name: 'New group' });
    await dialog.getByLabel('Title').fill('Book club');
    await dialog.getByLabel('Members').fill('bob');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 30_000 });
    await alice.page.getByRole('region', { name: 'Group Book club' }).waitFor();
    await send(alice.page, 'First book: Dune.');

    await backToList(bob.page);
    await conversationEntry(bob.page, 'Book club', { group: true, unread: 1 }).waitFor({ timeout: 30_000 });

    await alice.page.getByRole('button', { name: 'Members' }).click();
    const members = alice.page.getByRole('dialog', { name: 'Members of Book club' });
    const list = members.getByRole('list', { name: 'Members' });
    await list.getByText('bob').waitFor();
    await expect(list.getByRole('listitem').allTextContents()).resolves.toEqual(['alice (you)admin', 'bobRemove']);
    await members.getByLabel('Username').fill('carol');
    await members.getByRole('button', { name: 'Add member' }).click();
    await list.getByText('carol').waitFor({ timeout: 30_000 });
    await screenshot(alice.page, 'desktop-members');
    await members.getByRole('button', { name: 'Remove bob' }).click();
    await list.getByText('bob').waitFor({ state: 'detached', timeout: 30_000 });
    await members.getByRole('button', { name: 'Close' }).click();

    await send(alice.page, 'Welcome, Carol.');
    const carolSees = await carolSync();
    expect(carolSees.filter((m) => m.conversation === 'Book club').map((m) => m.text)).toEqual(['Welcome, Carol.']);

    // Bob was removed: his browser says so and offers no composer.
    await conversationEntry(bob.page, 'Book club', { group: true }).click();
    await bob.page.getByText('You are no longer a member of this group.').waitFor({ timeout: 30_000 });
    await expect(bob.page.getByRole('textbox', { name: 'Message' }).count()).resolves.toBe(0);
    await expect(history(bob.page).getByText('Welcome, Carol.').count()).resolves.toBe(0);
  }, SLOW);

  it('a member leaves a group; the others carry on without them', async () => {
    await backToList(bob.page);
    await conversationEntry(bob.page, 'Weekend plans', { group: true }).click();
    await bob.page.getByRole('button', { name: 'Members' }).click();
    const members = bob.page.getByRole('dialog', { name: 'Members of Weekend plans' });
    await members.getByRole('button', { name: 'Leave group' }).click();
    await members.getByRole('button', { name: 'Leave', exact: true }).click();
    await members.waitFor({ state: 'detached', timeout: 30_000 });
    await bob.page.getByText('You are no longer a member of this group.').waitFor({ timeout: 30_000 });

    const bye = await carol(['group', 'send', 'Weekend plans', 'See you there, Alice.']);
    expect(bye.code, bye.stderr).toBe(0);
    await conversationEntry(alice.page, 'Weekend plans', { group: true }).click();
    await history(alice.page).getByText('See you there, Alice.').waitFor({ timeout: 30_000 });
    await alice.page.getByRole('button', { name: 'Members' }).click();
    const list = alice.page.getByRole('dialog', { name: 'Members of Weekend plans' }).getByRole('list', { name: 'Members' });
    await list.getByText('carol').waitFor();
    await expect(list.getByText('bob').count()).resolves.toBe(0);
    await alice.page.getByRole('button', { name: 'Close' }).click();
    await expect(history(bob.page).getByText('See you there, Alice.').count()).resolves.toBe(0);
  }, SLOW);

  it("shows a stranger's request apart: readable, no composer; Decline and Block", async () => {
    const stranger = (user: string, args: string[]) => runCli(['--server', url, '--profile', join(dir.path, user), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
    for (const user of ['mallory', 'dave']) expect((await stranger(user, ['register', user])).code).toBe(0);
    expect((await stranger('mallory', ['send', 'alice', 'You won a prize!'])).code).toBe(0);
    const requests = alice.page.getByRole('region', { name: 'Message requests' });
    await requests.getByRole('button', { name: 'Request from mallory: a chat' }).click({ timeout: 30_000 });
    await history(alice.page).getByText('You won a prize!').waitFor({ timeout: 30_000 });
    await alice.page.getByText('This is a message request from mallory.').waitFor();
    await expect(alice.page.getByRole('textbox', { name: 'Message' }).count()).resolves.toBe(0);
    await expect(conversationEntry(alice.page, 'mallory').count()).resolves.toBe(0);
    await screenshot(alice.page, 'desktop-request');

    expect((await stranger('dave', ['send', 'alice', 'Remember me?'])).code).toBe(0);
    await requests.getByRole('button', { name: 'Decline request from dave' }).click({ timeout: 30_000 });
    await requests.getByRole('button', { name: 'Request from dave: a chat' }).waitFor({ state: 'detached', timeout: 30_000 });

    await requests.getByRole('button', { name: 'Block mallory' }).click();
    await alice.page.getByText('You blocked mallory.').waitFor({ timeout: 30_000 });
    await expect(requests.count()).resolves.toBe(0);
    const refused = await stranger('mallory', ['group', 'create', 'Prizes', '--members', 'alice']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'BLOCKED' } });
    await alice.page.getByRole('button', { name: 'Dismiss' }).click();
  }, SLOW);

  it('shows who is online, the devices (with revoke) and the server key fingerprint', async () => {
    await alice.page.getByRole('button', { name: /^Online/ }).click();
    await alice.page.getByRole('list', { name: 'Online users' }).getByText('bob').waitFor({ timeout: 30_000 });
    await screenshot(alice.page, 'desktop-online');

    const laptop = await runCli(['--server', url, '--profile', join(dir.path, 'alice-cli'), '--json', 'login', 'alice', '--device-name', 'alice-laptop'], {
      env: { PARLEY_PASSWORD: PASSWORD },
    });
    expect(laptop.code, laptop.stderr).toBe(0);
    await alice.page.getByRole('button', { name: 'Devices' }).click();
    const devices = alice.page.getByRole('list', { name: 'Devices' });
    await devices.getByText('alice-laptop').waitFor();
    await expect(devices.getByRole('listitem').filter({ hasText: 'this device' }).textContent()).resolves.toContain('Chrome on Linux');
    await screenshot(alice.page, 'desktop-devices');
    await devices.getByRole('button', { name: /^Revoke alice-laptop/ }).click();
    await devices.getByRole('button', { name: 'Confirm revoke' }).click();
    await devices.getByText('alice-laptop').waitFor({ state: 'detached', timeout: 30_000 });
    const revoked = await runCli(['--server', url, '--profile', join(dir.path, 'alice-cli'), 'whoami']);
    expect(revoked.stderr).toMatch(/^error DEVICE_REVOKED:/);

    await alice.page.getByRole('button', { name: 'Server key' }).click();
    await expect(alice.page.getByLabel('Server key fingerprint').textContent()).resolves.toBe(server.fingerprint);
  }, SLOW);

  it('reload keeps the session and the history', async () => {
    await alice.page.reload();
    await conversationEntry(alice.page, 'bob').click({ timeout: 30_000 });
    for (const text of ['Hi Bob, it is Alice.', 'Hello Alice! Bob here.', 'Great, it works both ways.']) await history(alice.page).getByText(text).waitFor();
    await expect(history(alice.page).getByRole('listitem').count()).resolves.toBe(3);
    await expect(alice.page.getByLabel('Password').count()).resolves.toBe(0);
    timings.reloadSignedIn = await pageLoadTiming(alice.page);

    // A second tab of the same browser would race the first on the same keys and state: it waits.
    const secondTab = await alice.context.newPage();
    await secondTab.goto(`${url}/`);
    await secondTab.getByRole('heading', { name: 'Parley is open in another tab' }).waitFor();
    await secondTab.close();

    // Newest first: Carol wrote last, in Weekend plans.
    const names = await alice.page.getByRole('navigation', { name: 'Conversations' }).getByRole('button').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label')));
    expect(names).toEqual(['Weekend plans (group)', 'Book club (group)', 'bob']);

    // A message arriving after the reload still shows live.
    await backToList(bob.page);
    await conversationEntry(bob.page, 'alice').click();
    await send(bob.page, 'Still there after your reload?');
    await history(alice.page).getByText('Still there after your reload?').waitFor({ timeout: 30_000 });
  }, SLOW);

  it('says so when the connection is lost, and reconnects by itself', async () => {
    const port = server.port;
    await server.close();
    const banner = alice.page.getByRole('alert').filter({ hasText: 'Connection lost' });
    await banner.waitFor({ timeout: 30_000 });
    await screenshot(alice.page, 'desktop-connection-lost');
    server = await startTestServer({ dataDir: join(dir.path, 'data'), port, webRoot });
    await banner.waitFor({ state: 'detached', timeout: 60_000 });
    await bob.page.getByRole('alert').filter({ hasText: 'Connection lost' }).waitFor({ state: 'detached', timeout: 60_000 });
    await send(bob.page, 'Back online.');
    await history(alice.page).getByText('Back online.').waitFor({ timeout: 30_000 });
  }, SLOW);

  it('takes the phone and desktop screenshots of the main screens', async () => {
    await alice.page.setViewportSize(PHONE);
    await backToList(alice.page);
    await screenshot(alice.page, 'phone-conversations');
    await conversationEntry(alice.page, 'Weekend plans', { group: true }).click();
    await alice.page.getByRole('button', { name: 'Members' }).click();
    await alice.page.getByRole('dialog', { name: 'Members of Weekend plans' }).getByRole('list', { name: 'Members' }).getByText('carol').waitFor();
    await screenshot(alice.page, 'phone-members');
    await alice.page.getByRole('button', { name: 'Close' }).click();
    await alice.page.getByRole('button', { name: 'Back to conversations' }).click();
    await alice.page.getByRole('button', { name: 'Devices' }).click();
    await alice.page.getByRole('list', { name: 'Devices' }).getByText('this device', { exact: true }).waitFor();
    await screenshot(alice.page, 'phone-devices');
    await alice.page.setViewportSize(DESKTOP);
  }, SLOW);

  it('shows errors in words: wrong password, unknown user', async () => {
    const stranger = await openClient(browser, `${url}/`, DESKTOP);
    await logIn(stranger.page, 'alice', 'not the password');
    await stranger.page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor({ timeout: 30_000 });
    await screenshot(stranger.page, 'desktop-wrong-password');
    await logIn(stranger.page, 'nobody', 'not the password');
    await stranger.page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor({ timeout: 30_000 });
    await stranger.context.close();

    // New chat asks the directory first: no chat opens for a name nobody has.
    await alice.page.getByRole('button', { name: 'New chat' }).click();
    const dialog = alice.page.getByRole('dialog', { name: 'New chat' });
    await dialog.getByLabel('Username').fill('zed-nobody');
    await dialog.getByRole('button', { name: 'Start chat' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'There is no user called zed-nobody.' }).waitFor({ timeout: 30_000 });
    await expect(alice.page.getByRole('region', { name: 'Chat with zed-nobody' }).count()).resolves.toBe(0);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  }, SLOW);

  it('signs out a browser whose device was revoked from another device, and says why', async () => {
    const cli = (args: string[]) => runCli(['--server', url, '--profile', join(dir.path, 'bob-cli'), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
    const login = await cli(['login', 'bob', '--device-name', 'bob-terminal']);
    expect(login.code, login.stderr).toBe(0);
    const listed = await cli(['devices']);
    const devices = listed.stdout
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { deviceId: string; name: string });
    const browserDevice = devices.find((device) => device.name.startsWith('Chrome on '));
    expect(browserDevice, listed.stdout).toBeDefined();
    const revoked = await cli(['devices', 'revoke', browserDevice?.deviceId ?? '']);
    expect(revoked.code, revoked.stderr).toBe(0);
    await bob.page.getByText('This device was logged out from another device.').waitFor({ timeout: 30_000 });
    await bob.page.getByRole('button', { name: 'Log in' }).waitFor();
    // Nothing of Bob's is left in this browser: a reload shows the sign-in screen.
    await bob.page.reload();
    await bob.page.getByRole('button', { name: 'Log in' }).waitFor();
    await expect(bob.page.getByRole('navigation', { name: 'Conversations' }).count()).resolves.toBe(0);
  }, SLOW);

  it('refuses a server whose key changed, and says why', async () => {
    const port = server.port;
    await server.close();
    // Another server (another key) on the same address: the browser pinned the first one.
    server = await startTestServer({ dataDir: join(dir.path, 'impostor'), port, webRoot });
    const refusal = alice.page.getByRole('alert').filter({ hasText: 'different key' });
    await refusal.waitFor({ timeout: 60_000 });
    await expect(alice.page.getByRole('button', { name: 'Trust the new server key' }).isVisible()).resolves.toBe(true);
    await screenshot(alice.page, 'desktop-server-key-changed');
  }, SLOW);
});
