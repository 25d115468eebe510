/**
 * The MLS Delivery Service end to end, a group's first epochs: KeyPackages, creating a group and
 * adding by Welcome, racing commits, and who may add whom (DESIGN §6, §7). A real server on a free
 * port, driven over the real channel with genuine MLS; the tests follow one group's life in order.
 */
import { addMembers, createGroup, generateKeyPackage, selfUpdate } from '@parley/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyCredential, MessagingKit, utf8, type Member } from './messaging.testkit.js';

describe('messaging over the wire: KeyPackages and commits', () => {
  const kit = new MessagingKit();
  const { groupId } = kit;
  let alice: Member;
  let bob: Member;
  let bob2: Member;
  let carol: Member;

  beforeAll(async () => {
    await kit.start();
    [alice, bob, carol] = (await kit.users('alice', 'bob', 'carol')) as [Member, Member, Member];
  });
  afterAll(() => kit.close());

  it('stores, counts and hands out KeyPackages, refusing any not signed by the uploading device', async () => {
    expect(await kit.upload(bob, 3)).toBe(3);
    expect(await bob.client.request('keys.count', {})).toEqual({ count: 3, lastResort: true });
    const bobs = kit.keyPackagesOf(bob)[0]?.keyPackage as Uint8Array;
    await expect(alice.client.request('keys.upload', { keyPackages: [bobs] })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /not signed with this device's key/ });
    await expect(alice.client.request('keys.upload', { keyPackages: [utf8('not a key package')] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const oneTime = await generateKeyPackage(alice.device.member);
    await expect(alice.client.request('keys.upload', { keyPackages: [], lastResort: oneTime.keyPackage })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /last_resort/ });
    await expect(alice.client.request('keys.claim', { username: 'carol' })).rejects.toMatchObject({ code: 'NO_KEY_PACKAGES' });
    await expect(alice.client.request('keys.claim', { username: 'nobody-here' })).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    expect(await kit.upload(carol, 3)).toBe(3);
  });

  it('creates a group, adds a member with a Welcome that is queued and pushed, and messages flow both ways', async () => {
    const created = await createGroup(alice.device.member, groupId);
    alice.state = created.state;
    const summary = await alice.client.request('group.create', { groupId, kind: 'group', groupInfo: created.groupInfo });
    expect(summary).toEqual({ groupId, kind: 'group', epoch: 0, createdBy: 'alice', admins: ['alice'], members: [{ username: 'alice', deviceId: alice.device.deviceId }], lastSeq: 0 });

    const claimed = await kit.claimOne(alice, 'bob');
    expect(claimed.deviceId).toBe(bob.device.deviceId);
    expect((await bob.client.request('keys.count', {})).count).toBe(2);
    const add = await addMembers(alice.state, alice.device.member, [claimed.keyPackage], anyCredential);
    const bobRef = { username: 'bob', deviceId: bob.device.deviceId };
    expect(await alice.client.request('group.commit', { groupId, epoch: 0, commit: add.commit, groupInfo: add.groupInfo, welcome: add.welcome, add: [bobRef], remove: [] })).toEqual({ seq: 1, epoch: 1 });
    alice.state = add.pendingState;

    const pushed = await bob.client.nextEvent('mailbox');
    expect(pushed).toMatchObject({ kind: 'welcome', groupId, seq: 1, sender: { username: 'alice' }, payload: add.welcome });
    const fetched = await bob.client.request('sync.fetch', {});
    expect(fetched).toEqual({ mailbox: [pushed], entries: [], gaps: [], more: false });
    await kit.joinFrom(bob, add.welcome);
    await bob.client.request('sync.ack', { mailbox: [pushed.id], cursors: [] });

    expect(await kit.send(alice, 'hello bob', 1)).toBe(2);
    const toBob = await bob.client.nextEvent('message');
    expect(toBob).toMatchObject({ groupId, seq: 2, kind: 'message', epoch: 1, sender: { username: 'alice', deviceId: alice.device.deviceId } });
    expect(await kit.receive(bob, toBob)).toBe('hello bob');
    expect(await kit.send(bob, 'hi alice', 1)).toBe(3);
    expect(await kit.receive(alice, await alice.client.nextEvent('message'))).toBe('hi alice');

    expect(await bob.client.request('group.get', { groupId })).toMatchObject({ epoch: 1, admins: ['alice'], members: [{ username: 'alice' }, bobRef], lastSeq: 3 });
    expect((await bob.client.request('group.list', {})).groups.map((g) => g.groupId)).toEqual([groupId]);
    // Bob's fetch holds Alice's message, not his own; once acknowledged, nothing is left.
    expect((await bob.client.request('sync.fetch', {})).entries.map((e) => e.seq)).toEqual([2]);
    await bob.client.request('sync.ack', { mailbox: [], cursors: [{ groupId, seq: 3 }] });
    expect(await bob.client.request('sync.fetch', {})).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
  });

  it('accepts exactly one of two commits for the same epoch; the other gets STALE_EPOCH with the current epoch', async () => {
    const [fromAlice, fromBob] = await Promise.all([selfUpdate(alice.state, alice.device.member), selfUpdate(bob.state, bob.device.member)]);
    const commit = (member: Member, update: typeof fromAlice) =>
      member.client.request('group.commit', { groupId, epoch: 1, commit: update.commit, groupInfo: update.groupInfo, add: [], remove: [] });
    const results = await Promise.allSettled([commit(alice, fromAlice), commit(bob, fromBob)]);
    const won = results.findIndex((result) => result.status === 'fulfilled');
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const lost = results[1 - won];
    expect(lost?.status === 'rejected' && lost.reason).toMatchObject({ code: 'STALE_EPOCH', details: { epoch: 2 } });
    const [winner, loser, winning] = won === 0 ? [alice, bob, fromAlice] : [bob, alice, fromBob];
    winner.state = winning.pendingState;
    // The loser catches up from the winner's commit, then its retry is refused the same way.
    const entry = await loser.client.nextEvent('message');
    expect(entry).toMatchObject({ kind: 'commit', epoch: 1 });
    await kit.receive(loser, entry);
    await expect(commit(loser, won === 0 ? fromBob : fromAlice)).rejects.toMatchObject({ code: 'STALE_EPOCH', details: { epoch: 2 } });
    expect(await kit.send(loser, 'after the race', 2)).toBeGreaterThan(entry.seq);
    expect(await kit.receive(winner, await winner.client.nextEvent('message'))).toBe('after the race');
  });

  it("refuses a non-admin adding another user's device, but lets anyone add their own", async () => {
    const carols = await kit.claimOne(bob, 'carol');
    const forbidden = await addMembers(bob.state, bob.device.member, [carols.keyPackage], anyCredential);
    await expect(
      bob.client.request('group.commit', { groupId, epoch: 2, commit: forbidden.commit, groupInfo: forbidden.groupInfo, welcome: forbidden.welcome, add: [{ username: 'carol', deviceId: carols.deviceId }], remove: [] }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });

    bob2 = await kit.addDevice(bob, 'bob-device-2');
    await kit.upload(bob2, 2);
    // Claiming one's own username leaves out the claiming device.
    const own = await kit.claimOne(bob, 'bob');
    expect(own.deviceId).toBe('bob-device-2');
    const add = await addMembers(bob.state, bob.device.member, [own.keyPackage], anyCredential);
    await bob.client.request('group.commit', { groupId, epoch: 2, commit: add.commit, groupInfo: add.groupInfo, welcome: add.welcome, add: [{ username: 'bob', deviceId: 'bob-device-2' }], remove: [] });
    bob.state = add.pendingState;
    await kit.receive(alice, await alice.client.nextEvent('message'));
    await kit.joinFrom(bob2, (await bob2.client.nextEvent('mailbox')).payload as Uint8Array);
    expect(await kit.send(bob2, 'from my laptop', 3)).toBeGreaterThan(0);
    expect(await kit.receive(alice, await alice.client.nextEvent('message'))).toBe('from my laptop');
    expect(await kit.receive(bob, await bob.client.nextEvent('message'))).toBe('from my laptop');
  });
});
