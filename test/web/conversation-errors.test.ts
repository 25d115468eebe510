/**
 * Issue #11 §1 in the web client: a hostile admin's commit that the browser refuses (its
 * membership tag is broken, which the server cannot check) shows as a system line in that
 * group's chat; the browser rejoins the group and goes on receiving in it. A commit it cannot
 * follow or rejoin after (a leaf without a Parley credential) leaves the group marked broken.
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attacker, honestUser } from '../hostile/kit.js';
import type { TestDevice } from '../support/device.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { buildWebClient, conversationEntry, history, launchChromium, openClient, register } from './support.js';

const SLOW = 120_000;

describe('errors of a conversation in the web client', () => {
  const dir = tempDir('web-conversation-errors');
  const webRoot = join(dir.path, 'dist');
  let server: TestServer;
  let browser: Browser;
  let victim: { context: BrowserContext; page: Page };
  let friend: TestDevice;
  let mallory: Attacker;

  beforeAll(async () => {
    await buildWebClient(webRoot);
    server = await startTestServer({ webRoot });
    browser = await launchChromium();
    victim = await openClient(browser, server.url);
    await register(victim.page, 'victim', 'the victim password');
    [friend, mallory] = await Promise.all([honestUser(server, 'friend'), Attacker.register(server, 'mallory')]);
  }, SLOW);

  afterAll(async () => {
    friend?.close();
    mallory?.close();
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  it('shows a refused commit as a system line of its group, rejoins and keeps receiving there; then one it cannot rejoin after, as broken', async () => {
    const group = await mallory.createGroup();
    const keyPackages: Uint8Array[] = [];
    const add = [];
    for (const username of ['victim', 'friend']) {
      for (const device of (await mallory.request('keys.claim', { username })).devices) {
        keyPackages.push(device.keyPackage);
        add.push({ username, deviceId: device.deviceId });
      }
    }
    await group.commit(await group.adding(keyPackages), { add });
    expect((await (await friend.messenger()).sync()).errors).toEqual([]);
    const entry = conversationEntry(victim.page, 'group by mallory', { group: true });
    await entry.waitFor({ timeout: 30_000 });
    await entry.click();

    const update = await group.updating();
    const commit = update.commit.slice();
    commit[commit.length - 1] = (commit[commit.length - 1] ?? 0) ^ 0x01; // the membership tag
    await group.commit({ ...update, commit });

    const line = victim.page.getByRole('list', { name: 'Problems in this conversation' }).getByRole('status');
    await line.first().waitFor({ timeout: 30_000 });
    await expect(line.allTextContents()).resolves.toEqual([expect.stringMatching(/^Something in this chat could not be read and was skipped: entry \d+ from mallory\/.*; rejoining the group$/)]);

    // The friend rejoins too, and writes: the browser, back in the group, reads it.
    const groupId = Buffer.from(group.groupId).toString('base64url');
    await (await friend.messenger()).sync();
    await (await friend.messenger()).sendToGroup(groupId, 'still together');
    await history(victim.page).getByRole('listitem').filter({ hasText: 'still together' }).waitFor({ timeout: 30_000 });
    expect(await victim.page.getByRole('textbox', { name: 'Message' }).isVisible()).toBe(true);

    // Now a leaf whose credential is no Parley credential: refused, and rejoining fails too.
    await group.catchUp();
    const impostor = await mallory.addDevice('mallory-impostor', { identity: new TextEncoder().encode('not a parley credential') });
    const [keyPackage] = await impostor.uploadKeyPackages(1);
    await group.commit(await group.adding([keyPackage?.keyPackage ?? new Uint8Array()]), { add: [impostor.ref] });
    impostor.close();
    await line.filter({ hasText: 'can no longer follow this group' }).waitFor({ timeout: 30_000 });
    await victim.page.getByRole('status').filter({ hasText: /^This browser can no longer follow this group, so nothing can be sent to it \(.*credential was rejected/ }).waitFor({ timeout: 30_000 });
    expect(await victim.page.getByRole('textbox', { name: 'Message' }).count()).toBe(0);
  }, SLOW);
});
