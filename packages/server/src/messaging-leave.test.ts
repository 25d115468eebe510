/**
 * The MLS Delivery Service end to end, leaving: a removed device is told, reads up to its
 * removal and hears nothing more; a member's device that lost its state rejoins by external
 * commit, a removed user cannot (DESIGN §6, §7).
 */
import { joinExternal, processMessage, removeMembers } from '@parley/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyCredential, MessagingKit, type Member } from './messaging.testkit.js';

describe('messaging over the wire: removal and rejoining', () => {
  const kit = new MessagingKit();
  const { groupId, payloads } = kit;
  let alice: Member;
  let bob: Member;
  let bob2: Member;
  let carol: Member;

  // Alice (the admin), Bob, Bob's laptop and Carol share the group at epoch 3.
  beforeAll(async () => {
    await kit.start();
    [alice, bob, carol] = (await kit.users('alice', 'bob', 'carol')) as [Member, Member, Member];
    bob2 = await kit.addDevice(bob, 'bob-device-2');
    for (const member of [bob, carol]) await kit.upload(member, 2);
    await kit.createGroup(alice);
    await kit.add(alice, bob, 0);
    // Only now, so that Alice's claim above found Bob's phone alone.
    await kit.upload(bob2, 2);
    await kit.add(bob, bob2, 1, [alice]);
    await kit.add(alice, carol, 2, [bob, bob2]);
  });
  afterAll(() => kit.close());

  it('tells a removed device, lets it read up to its removal, then sends it nothing more', async () => {
    const removal = await removeMembers(alice.state, alice.device.member, [carol.device.keys.publicKey]);
    const carolRef = { username: 'carol', deviceId: carol.device.deviceId };
    const { seq: removedAt } = await alice.client.request('group.commit', { groupId, epoch: 3, commit: removal.commit, groupInfo: removal.groupInfo, add: [], remove: [carolRef] });
    alice.state = removal.pendingState;
    expect(await carol.client.nextEvent('mailbox')).toMatchObject({ kind: 'removed', groupId, seq: removedAt, sender: { username: 'alice' } });
    const processed = await processMessage(carol.state, (await carol.client.nextEvent('message')).payload, anyCredential);
    expect(processed).toMatchObject({ kind: 'commit', removedSelf: true });
    for (const member of [bob, bob2]) await kit.receive(member, await member.client.nextEvent('message'));

    await kit.send(alice, 'carol is gone', 4);
    expect(await kit.receive(bob, await bob.client.nextEvent('message'))).toBe('carol is gone');
    expect(carol.client.takeEvents('message')).toEqual([]);
    const fetched = await carol.client.request('sync.fetch', {});
    expect(fetched.entries.map((e) => e.seq)).toEqual([removedAt]);
    await carol.client.request('sync.ack', { mailbox: fetched.mailbox.map((m) => m.id), cursors: [{ groupId, seq: removedAt }] });
    expect(await carol.client.request('sync.fetch', {})).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
    expect(await carol.client.request('group.list', {})).toEqual({ groups: [] });
    await expect(carol.client.request('sync.ack', { mailbox: [], cursors: [{ groupId, seq: removedAt }] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(carol.client.request('group.send', { groupId, epoch: 4, message: payloads[0] as Uint8Array })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });

    // Bob, not an admin, may remove his own laptop.
    await kit.receive(bob2, await bob2.client.nextEvent('message'));
    const laptop = await removeMembers(bob.state, bob.device.member, [bob2.device.keys.publicKey]);
    await bob.client.request('group.commit', { groupId, epoch: 4, commit: laptop.commit, groupInfo: laptop.groupInfo, add: [], remove: [{ username: 'bob', deviceId: 'bob-device-2' }] });
    bob.state = laptop.pendingState;
    await kit.receive(alice, await alice.client.nextEvent('message'));
    expect(await bob2.client.nextEvent('mailbox')).toMatchObject({ kind: 'removed' });
    bob2.client.close();
    const group = await alice.client.request('group.get', { groupId });
    expect(group.members.map((m) => m.deviceId)).toEqual([alice.device.deviceId, bob.device.deviceId]);
  });

  it('lets a member device that lost its state rejoin by external commit; not a removed user', async () => {
    const { epoch, groupInfo } = await bob.client.request('group.info', { groupId });
    expect(epoch).toBe(5);
    const rejoin = await joinExternal(groupInfo, bob.device.member, anyCredential);
    expect(await bob.client.request('group.rejoin', { groupId, epoch, commit: rejoin.commit, groupInfo: rejoin.groupInfo })).toMatchObject({ epoch: 6 });
    bob.state = rejoin.pendingState;
    await kit.receive(alice, await alice.client.nextEvent('message'));
    await kit.send(alice, 'welcome back', 6);
    expect(await kit.receive(bob, await bob.client.nextEvent('message'))).toBe('welcome back');

    await expect(carol.client.request('group.info', { groupId })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    const info = await alice.client.request('group.info', { groupId });
    const intruder = await joinExternal(info.groupInfo, carol.device.member, anyCredential);
    await expect(carol.client.request('group.rejoin', { groupId, epoch: info.epoch, commit: intruder.commit, groupInfo: intruder.groupInfo })).rejects.toMatchObject({
      code: 'NOT_A_MEMBER',
    });
  });
});
