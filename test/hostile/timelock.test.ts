/**
 * Time-locked messages against a real server (DESIGN §8), as a hostile or unlucky client would
 * meet them: locks for other people's groups, impossible dates, floods, removed members waiting
 * for a release, and a server killed between a lock and its release.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { channelAuthMessage, lockText, sign, unlockText, type TimelockGrant } from '@parley/crypto';
import { decodeTimelockRelease, encodeContent, encodeCbor, toBase64Url, toHex, type MailboxEntry } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconnect, type TestClient } from '../../packages/server/src/test-client.testkit.js';
import { startServeProcess } from '../support/cli.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { createTestGroup, registerUser, type GroupUser } from '../support/mls-group.js';
import { openRawChannel } from '../support/raw-channel.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const releasesIn = (mailbox: readonly MailboxEntry[]) => mailbox.filter((entry) => entry.kind === 'release').map((entry) => decodeTimelockRelease(entry.payload as Uint8Array));

/** Waits for a `release` mailbox push, skipping other mailbox entries. */
async function nextRelease(client: TestClient, timeoutMs = 15_000): Promise<{ entry: MailboxEntry; at: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entry = await client.nextEvent('mailbox', Math.max(1, deadline - Date.now()));
    if (entry.kind === 'release') return { entry, at: Date.now() };
  }
}

describe('time locks against a hostile world', () => {
  let server: TestServer;
  let alice: GroupUser;
  let bob: GroupUser;
  let carol: GroupUser;
  let erin: GroupUser;
  let mallory: GroupUser;
  beforeAll(async () => {
    server = await startTestServer({ timelockLocksPerMinute: 30 });
    [alice, bob, carol, erin, mallory] = (await Promise.all(['alice', 'bob', 'carol', 'erin', 'mallory'].map((name) => registerUser(server.url, name)))) as [GroupUser, GroupUser, GroupUser, GroupUser, GroupUser];
  });
  afterAll(async () => {
    for (const user of [alice, bob, carol, erin, mallory]) user.client.close();
    await server.close();
  });

  it('refuses a lock for a group the device is not in, or that does not exist', async () => {
    const group = await createTestGroup(alice, [bob]);
    const unlockAt = Date.now() + 60_000;
    await expect(mallory.client.request('timelock.lock', { groupId: group.groupId, unlockAt })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    await expect(mallory.client.request('timelock.lock', { groupId: crypto.getRandomValues(new Uint8Array(16)), unlockAt })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A member's lock is not Mallory's to fetch either.
    const { lockId } = await bob.client.request('timelock.lock', { groupId: group.groupId, unlockAt });
    expect(await mallory.client.request('timelock.fetch', { lockIds: [lockId] })).toEqual({ releases: [] });
  });

  it('refuses unlock times in the past, now or past the horizon (BAD_INPUT), and malformed ones (BAD_REQUEST)', async () => {
    const group = await createTestGroup(alice, []);
    const lock = (unlockAt: number) => alice.client.request('timelock.lock', { groupId: group.groupId, unlockAt });
    await expect(lock(Date.now() - 60_000)).rejects.toMatchObject({ code: 'BAD_INPUT', message: /not in the future/ });
    await expect(lock(0)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(lock(Date.now() + 366 * 86_400_000)).rejects.toMatchObject({ code: 'BAD_INPUT', message: /365 days/ });
    const year = await lock(Date.now() + 364 * 86_400_000);
    expect(year.puzzle.squarings).toBeGreaterThan(364 * 86_400 * 999_000);

    // What the typed client cannot send: a raw, signed-in channel sending a date as text, a fraction, a huge number.
    const raw = await openRawChannel(server.url);
    const auth = sign(alice.device.keys.privateKey, channelAuthMessage(raw.channel.handshakeHash, 'alice', alice.device.deviceId));
    raw.send(encodeCbor({ op: 'device.auth', id: 1, body: { username: 'alice', deviceId: alice.device.deviceId, signature: auth } }));
    expect(await raw.next()).toMatchObject({ type: 'reply', ok: true });
    let id = 2;
    for (const unlockAt of ['tomorrow', 1.5, -5, 2 ** 60, null]) {
      raw.send(encodeCbor({ op: 'timelock.lock', id, body: { groupId: group.groupId, unlockAt } }));
      expect(await raw.next()).toMatchObject({ type: 'reply', id: id++, ok: false, error: { code: 'BAD_REQUEST' } });
    }
    raw.send(encodeCbor({ op: 'timelock.fetch', id, body: { lockIds: Array.from({ length: 101 }, () => new Uint8Array(16)) } }));
    expect(await raw.next()).toMatchObject({ type: 'reply', ok: false, error: { code: 'BAD_REQUEST' } });
    raw.ws.close();
  });

  it('rate-limits a flood of lock requests per account, and keeps serving everyone', async () => {
    const flooder = await registerUser(server.url, 'flooder');
    const group = await createTestGroup(erin, [flooder]);
    const unlockAt = Date.now() + 3_600_000;
    const results = await Promise.allSettled(Array.from({ length: 45 }, () => flooder.client.request('timelock.lock', { groupId: group.groupId, unlockAt })));
    const refused = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason as { code: string; details: { retryAfterMs?: number } });
    expect(results.length - refused.length).toBeGreaterThanOrEqual(30);
    expect(results.length - refused.length).toBeLessThanOrEqual(32);
    for (const reason of refused) expect(reason).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
    // Another account is not affected, and the server answers.
    await expect(erin.client.request('timelock.lock', { groupId: group.groupId, unlockAt })).resolves.toMatchObject({ unlockAt });
    await expect(flooder.client.request('ping', {})).resolves.toMatchObject({ time: expect.any(Number) });
    flooder.client.close();
  });

  it('caps the unreleased locks of one account', async () => {
    const small = await startTestServer({ timelockMaxPendingPerAccount: 3 });
    const owner = await registerUser(small.url, 'owner');
    try {
      const group = await createTestGroup(owner, []);
      for (let i = 0; i < 3; i++) await owner.client.request('timelock.lock', { groupId: group.groupId, unlockAt: Date.now() + 60_000 });
      await expect(owner.client.request('timelock.lock', { groupId: group.groupId, unlockAt: Date.now() + 60_000 })).rejects.toMatchObject({
        code: 'RATE_LIMITED',
        message: /3 unreleased time locks/,
      });
    } finally {
      owner.client.close();
      await small.close();
    }
  });

  it('releases at the unlock time to the members then, pushed or queued, never to a removed member; the server never holds the text', async () => {
    const group = await createTestGroup(alice, [bob, carol, erin]);
    const unlockAt = Date.now() + 2_500;
    const grant: TimelockGrant = await alice.client.request('timelock.lock', { groupId: group.groupId, unlockAt });
    const text = 'the surprise is a red bicycle';
    const content = lockText(grant, { groupId: group.groupId, text, sentAt: Date.now() });
    await group.send(encodeContent(content));
    await group.remove(carol);
    erin.client.close();

    const { entry, at } = await nextRelease(bob.client);
    expect(at).toBeGreaterThanOrEqual(unlockAt);
    expect(entry).toMatchObject({ kind: 'release', groupId: group.groupId, sender: alice.ref });
    const release = decodeTimelockRelease(entry.payload as Uint8Array);
    expect(release).toEqual({ lockId: grant.lockId, groupId: group.groupId, unlockAt, key: grant.key });
    expect(unlockText(content, group.groupId, release.key)).toBe(text);
    expect(await bob.client.request('timelock.fetch', { lockIds: [grant.lockId] })).toEqual({ releases: [release] });

    // Erin was offline: the release waits in her mailbox.
    erin.client = await reconnect(server.url, erin.device);
    expect(releasesIn((await erin.client.request('sync.fetch', {})).mailbox)).toEqual([release]);
    // Carol was removed before the release: nothing pushed, queued or fetchable.
    expect(carol.client.takeEvents('mailbox').filter((pushed) => pushed.kind === 'release')).toEqual([]);
    expect(releasesIn((await carol.client.request('sync.fetch', {})).mailbox)).toEqual([]);
    expect(await carol.client.request('timelock.fetch', { lockIds: [grant.lockId] })).toEqual({ releases: [] });

    // The database files hold neither the text nor the sealed blob; the logs never held the key.
    const stored = Buffer.concat(readdirSync(server.dataDir).filter((name) => name.startsWith('parley.db')).map((name) => readFileSync(join(server.dataDir, name))));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.includes(Buffer.from(text))).toBe(false);
    expect(stored.includes(Buffer.from(content.sealed))).toBe(false);
    expect(stored.includes(Buffer.from(content.sealed.subarray(24, 56)))).toBe(false);
    for (const form of [toHex(grant.key), toBase64Url(grant.key), Buffer.from(grant.key).toString('base64')]) expect(server.logs()).not.toContain(form);
  });

  it('still releases after the server is killed (kill -9) between the lock and its release', async () => {
    const data = tempDir('timelock-crash');
    const args = ['--port', '0', '--data', join(data.path, 'data')];
    let serve = await startServeProcess(args);
    try {
      const owner = await registerUser(serve.url, 'owner');
      const peer = await registerUser(serve.url, 'peer');
      const group = await createTestGroup(owner, [peer]);
      const unlockAt = Date.now() + 2_000;
      const grant = await owner.client.request('timelock.lock', { groupId: group.groupId, unlockAt });
      owner.client.close();
      peer.client.close();
      await serve.stop('SIGKILL');
      // Down through the unlock time: the release is owed when the server comes back.
      await sleep(Math.max(0, unlockAt - Date.now()) + 500);
      serve = await startServeProcess(args);
      const client = await reconnect(serve.url, peer.device);
      let releases: ReturnType<typeof releasesIn> = [];
      for (let tries = 0; releases.length === 0 && tries < 50; tries++) {
        releases = releasesIn((await client.request('sync.fetch', {})).mailbox);
        if (releases.length === 0) await sleep(200);
      }
      expect(releases).toEqual([{ lockId: grant.lockId, groupId: group.groupId, unlockAt, key: grant.key }]);
      client.close();
    } finally {
      await serve.stop('SIGKILL');
      data.remove();
    }
  });
});
