/**
 * Issue #11: the `resend` flag of group.send (exactly-once after a lost reply: the server answers
 * a resend of bytes it already stored from the same device with their seq). A hostile user tries
 * to turn it against others: to suppress or replace someone else's message, to ask the server
 * whether some ciphertext is still stored after losing the right to send, or to send more than
 * the rate limit allows.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, toHex } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/harness.js';
import type { TestDevice } from '../support/device.js';
import { Attacker, honestUser, type AttackerGroup } from './kit.js';

describe('a hostile member and the resend flag', () => {
  let server: TestServer;
  let victim: TestDevice;
  let friend: TestDevice;
  let mallory: Attacker;
  let group: AttackerGroup;
  let groupName: string;

  /** The resend request body for `message` in mallory's group. */
  const resend = (message: Uint8Array, into: AttackerGroup = group) => ({ groupId: into.groupId, epoch: into.epoch, message, resend: true });

  beforeAll(async () => {
    server = await startTestServer({ accountRequestsPerSecond: 20 });
    victim = await honestUser(server, 'victim');
    friend = await honestUser(server, 'friend');
    mallory = await Attacker.register(server, 'mallory');
    await mallory.uploadKeyPackages(2);
    // Victim and friend are contacts; the friend's group with mallory is no request to the victim.
    await (await friend.messenger()).sendDirect('victim', 'hello');
    expect(await victim.acceptRequests()).toEqual(['friend']);
    groupName = (await (await friend.messenger()).createGroup('resend', ['victim', 'mallory'])).groupId;
    const [joined] = await mallory.joinWelcomes();
    if (!joined) throw new Error('mallory got no Welcome');
    group = joined;
    await (await victim.messenger()).sync();
  });
  afterAll(async () => {
    victim.close();
    friend.close();
    mallory.close();
    await server.close();
  });

  it("cannot suppress or replace someone else's message by resending its bytes", async () => {
    const sent = await (await friend.messenger()).sendToGroup(groupName, 'the real plan');
    const { entries } = await mallory.request('sync.fetch', {});
    const friends = entries.find((entry) => toHex(entry.groupId) === toHex(group.groupId) && entry.sender.username === 'friend');
    if (!friends) throw new Error("mallory did not get the friend's message");
    // Mallory's resend of the friend's bytes is no resend of hers: it never answers with the friend's seq.
    const replay = await mallory.request('group.send', resend(friends.payload));
    expect(replay.seq).toBeGreaterThan(friends.seq);
    // Her own message, resent after a "lost reply", is stored once.
    const own = await group.sealText('mallory says hi');
    const first = await mallory.request('group.send', resend(own));
    expect(await mallory.request('group.send', resend(own))).toEqual(first);

    const { messages } = await (await victim.messenger()).sync();
    // The victim sees the friend's message once, as the friend's, and mallory's once; the replay is no message.
    expect(messages.map((m) => `${m.sender}: ${m.text}`)).toEqual(['friend: the real plan', 'mallory: mallory says hi']);
    expect(sent.text).toBe('the real plan');
  });

  it('cannot learn from a resend whether the others have read her message', async () => {
    const own = await group.sealText('did you read this?');
    const first = await mallory.request('group.send', resend(own));
    expect(await mallory.request('group.send', resend(own))).toEqual(first);
    // Everyone reads and acknowledges it (mallory too, up to it), so the server deletes the log entry.
    expect((await (await victim.messenger()).sync()).messages.map((m) => m.text)).toEqual(['did you read this?']);
    await (await friend.messenger()).sync();
    // Pushes the friend's client was still taking in are acknowledged too.
    for (const user of [victim, friend]) await (await user.messenger()).settled();
    await mallory.request('sync.ack', { mailbox: [], cursors: [{ groupId: group.groupId, seq: first.seq }] });
    // The attack's precondition: with every cursor past it, the server has deleted the log entry.
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    try {
      expect(db.prepare("select seq from group_log where sender_username = 'mallory' and seq = ?").all(first.seq)).toEqual([]);
    } finally {
      db.close();
    }
    // Before the fix the resend then found nothing and was stored again under a new seq: a read receipt,
    // and a way to see a victim come online without being a contact. The answer stays the same.
    expect(await mallory.request('group.send', resend(own))).toEqual(first);
    expect((await (await victim.messenger()).sync()).messages).toEqual([]);
  });

  it('cannot send more than the rate limit allows by marking sends as resends', async () => {
    const own = await group.sealText('once');
    const attempts = await Promise.allSettled(Array.from({ length: 60 }, () => mallory.request('group.send', resend(own))));
    const refused = attempts.filter((attempt) => attempt.status === 'rejected').map((attempt) => (attempt.reason as { code?: string }).code);
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused)).toEqual(new Set([ErrorCode.RATE_LIMITED]));
    // Every accepted one is the same stored entry.
    const seqs = attempts.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value.seq] : []));
    expect(new Set(seqs).size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  });

  it('learns nothing from a resend once removed: the answer is NOT_A_MEMBER, as for any send', async () => {
    await group.catchUp();
    const before = await group.sealText('last words');
    await mallory.request('group.send', resend(before));
    await (await friend.messenger()).removeFromGroup(groupName, ['mallory']);
    // Before the fix the server answered the seq of her stored message: an oracle on whether fewer
    // than a thousand entries had come in since, i.e. on the group's activity after her removal.
    expect(await mallory.refused('group.send', resend(before))).toMatchObject({ code: ErrorCode.NOT_A_MEMBER });
    expect(await mallory.refused('group.send', { ...resend(before), resend: false })).toMatchObject({ code: ErrorCode.NOT_A_MEMBER });
  });

  it('learns nothing from a resend once blocked in a 1:1: the answer is BLOCKED', async () => {
    const direct = await mallory.createGroup('direct');
    await direct.addUser('victim');
    const hello = await direct.sealText('hello victim');
    await mallory.request('group.send', resend(hello, direct));
    expect(await victim.acceptRequests()).toEqual(['mallory']);
    await (await victim.messenger()).block('mallory');
    expect(await mallory.refused('group.send', resend(hello, direct))).toMatchObject({ code: ErrorCode.BLOCKED });
  });
});
