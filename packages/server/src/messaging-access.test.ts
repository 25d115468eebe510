/**
 * The MLS Delivery Service end to end, who may see and do what: presence among mutual contacts
 * only, and clear codes for garbage and trespass (DESIGN §6, §7).
 */
import { createGroup } from '@parley/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessagingKit, utf8, type Member } from './messaging.testkit.js';
import type { TestClient } from './test-client.testkit.js';

describe('messaging over the wire: presence and refusals', () => {
  const kit = new MessagingKit();
  const { groupId, payloads } = kit;
  let alice: Member;
  let bob: Member;
  let bob2: Member;
  let carol: Member;

  // Alice (the admin) and Bob share the group at epoch 1, with one message; Carol is outside.
  // Bob's laptop is only in the directory: it signs out at once, so Bob is offline when his phone is.
  beforeAll(async () => {
    await kit.start();
    [alice, bob, carol] = (await kit.users('alice', 'bob', 'carol')) as [Member, Member, Member];
    bob2 = await kit.addDevice(bob, 'bob-device-2');
    bob2.client.close();
    await bob2.client.closed;
    await kit.upload(bob, 2);
    await kit.createGroup(alice);
    await kit.add(alice, bob, 0);
    await kit.send(alice, 'hello bob', 1);
    await kit.receive(bob, await bob.client.nextEvent('message'));
  });
  afterAll(() => kit.close());

  it('lists online mutual contacts in pages and pushes their coming and going, not to group peers or one-sided contacts', async () => {
    alice.client.takeEvents('presence');
    carol.client.takeEvents('presence');
    // Sharing a group shows nothing (DESIGN §7); a contact on one side only shows nothing either.
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice'] });
    await alice.client.request('contacts.add', { username: 'bob' });
    await carol.client.request('contacts.add', { username: 'alice' });
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice'] });
    expect(await carol.client.request('presence.list', {})).toEqual({ users: ['carol'] });
    await bob.client.request('contacts.add', { username: 'alice' });
    // Mutual now: each is told the other is online, at once.
    expect(await alice.client.nextEvent('presence')).toEqual({ username: 'bob', online: true });
    expect(await bob.client.nextEvent('presence')).toEqual({ username: 'alice', online: true });
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice', 'bob'] });
    expect(await alice.client.request('presence.list', { limit: 1 })).toEqual({ users: ['alice'], next: 'alice' });
    expect(await alice.client.request('presence.list', { after: 'alice', limit: 1 })).toEqual({ users: ['bob'] });
    // Carol is in alice's contacts only on her side: she sees herself only.
    expect(await carol.client.request('presence.list', {})).toEqual({ users: ['carol'] });

    bob.client.close();
    expect(await alice.client.nextEvent('presence')).toEqual({ username: 'bob', online: false });
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice'] });
    await kit.reconnect(bob);
    expect(await alice.client.nextEvent('presence')).toEqual({ username: 'bob', online: true });
    expect(carol.client.takeEvents('presence')).toEqual([]);
  });

  it('answers garbage and trespass with clear codes', async () => {
    const request = (client: TestClient, op: string, body: unknown) => (client.request as (op: string, body: unknown) => Promise<unknown>)(op, body);
    await expect(request(alice.client, 'group.send', { groupId: new Uint8Array(15), epoch: 1, message: utf8('x') })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /groupId/ });
    await expect(alice.client.request('group.send', { groupId, epoch: 1, message: utf8('not mls') })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const otherGroup = crypto.getRandomValues(new Uint8Array(16));
    await expect(alice.client.request('group.send', { groupId: otherGroup, epoch: 1, message: payloads[0] as Uint8Array })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: /another group/,
    });
    await expect(alice.client.request('group.get', { groupId: otherGroup })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(carol.client.request('group.get', { groupId })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    await expect(carol.client.request('group.send', { groupId, epoch: 1, message: payloads[0] as Uint8Array })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    await expect(alice.client.request('group.commit', { groupId, epoch: 1, commit: utf8('garbage'), groupInfo: utf8('garbage'), add: [], remove: [] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const again = await createGroup(alice.device.member, groupId);
    await expect(alice.client.request('group.create', { groupId, kind: 'group', groupInfo: again.groupInfo })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /exists/ });
    await expect(alice.client.request('group.create', { groupId: otherGroup, kind: 'group', groupInfo: again.groupInfo })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: /another group/,
    });
    await expect(alice.client.request('sync.ack', { mailbox: [], cursors: [{ groupId: otherGroup, seq: 1 }] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(alice.client.request('sync.ack', { mailbox: [], cursors: [{ groupId, seq: 10_000 }] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(bob.client.request('group.promote', { groupId, username: 'bob' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(alice.client.request('group.promote', { groupId, username: 'carol' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await alice.client.request('group.promote', { groupId, username: 'bob' })).admins).toEqual(['alice', 'bob']);
    await expect(alice.client.request('directory.lookup', { username: 'nobody-here' })).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    const entry = await alice.client.request('directory.lookup', { username: 'bob' });
    expect(entry.devices.map((d) => [d.deviceId, d.publicKey])).toEqual([
      [bob.device.deviceId, bob.device.keys.publicKey],
      ['bob-device-2', bob2.device.keys.publicKey],
    ]);
  });
});
