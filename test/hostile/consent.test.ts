/**
 * Consent against a stranger (issue #11 §2, DESIGN §6): anyone may add anyone to a group, so a
 * stranger's group must land as a message request. Until the victim accepts, the victim's client
 * sends nothing into it and the stranger sees none of the victim's presence; once blocked, the
 * server refuses the stranger's KeyPackage claims, Welcomes and direct messages to the victim.
 */
import { encrypt } from '@parley/crypto';
import { encodeContent, type Event, type OpName } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/harness.js';
import type { TestDevice } from '../support/device.js';
import { Attacker, honestUser, type AttackerGroup } from './kit.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a stranger against consent', () => {
  let server: TestServer;
  let victim: TestDevice;
  let friend: TestDevice;
  let mallory: Attacker;
  const victimOps: OpName[] = [];
  let spam: AttackerGroup;
  let spare: { deviceId: string; keyPackage: Uint8Array }[];

  beforeAll(async () => {
    server = await startTestServer();
    victim = await honestUser(server, 'victim');
    friend = await honestUser(server, 'friend');
    mallory = await Attacker.register(server, 'mallory');
    (await victim.open()).onRequest((op) => victimOps.push(op));
    // The victim and a friend are contacts both ways: the friend writes, the victim accepts.
    await (await friend.messenger()).sendDirect('victim', 'hello from a friend');
    expect(await victim.acceptRequests()).toEqual(['friend']);
    const messenger = await victim.messenger();
    await messenger.markShown(await messenger.unread());
  });
  afterAll(async () => {
    victim.close();
    friend.close();
    mallory.close();
    await server.close();
  });

  it("lands as a request: kept and shown there, nothing of the victim's goes into it", async () => {
    spam = await mallory.createGroup('group');
    await spam.addUser('victim');
    await spam.sendText('buy cheap watches');
    const direct = await mallory.createGroup('direct');
    await direct.addUser('victim');
    spare = (await mallory.request('keys.claim', { username: 'victim' })).devices;

    const messenger = await victim.messenger();
    victimOps.length = 0;
    const { messages } = await messenger.sync();
    expect(messages.map((m) => [m.text, m.request])).toEqual([['buy cheap watches', 'mallory']]);
    const requests = await messenger.requests();
    expect(requests.map((r) => [r.from, r.conversation.kind, r.firstMessage?.text, r.messages])).toEqual([
      ['mallory', 'group', 'buy cheap watches', 1],
      ['mallory', 'direct', undefined, 0],
    ]);
    // Not among chats, not in unread, and nothing sendable.
    expect((await messenger.conversations()).map((c) => c.peer ?? c.title)).toEqual(['friend']);
    expect(await messenger.unread()).toEqual([]);
    const groupId = requests[0]?.conversation.groupId ?? '';
    await expect(messenger.sendToGroup(groupId, 'stop')).rejects.toMatchObject({ code: 'REQUEST_PENDING' });
    await expect(messenger.addToGroup(groupId, ['friend'])).rejects.toMatchObject({ code: 'REQUEST_PENDING' });
    await messenger.sync();
    // The victim's client sent no message, commit, or rejoin into either group.
    expect(victimOps.filter((op) => op === 'group.send' || op === 'group.commit' || op === 'group.rejoin')).toEqual([]);
  });

  it("shows the stranger no presence of the victim and no logout, while the victim's contact sees both", async () => {
    await mallory.request('contacts.add', { username: 'victim' });
    expect(await mallory.request('presence.list', {})).toEqual({ users: ['mallory'] });
    expect(await (await friend.open()).onlineUsers()).toEqual(['friend', 'victim']);

    const friendSaw: Event[] = [];
    (await friend.open()).onEvent((event) => friendSaw.push(event));
    mallory.client.takeEvents('presence');
    victim.close();
    for (let i = 0; i < 100 && !friendSaw.some((e) => e.kind === 'presence'); i++) await sleep(50);
    expect(friendSaw.filter((e) => e.kind === 'presence').map((e) => e.body)).toEqual([{ username: 'victim', online: false }]);
    await victim.open();
    for (let i = 0; i < 100 && friendSaw.filter((e) => e.kind === 'presence').length < 2; i++) await sleep(50);
    expect(mallory.client.takeEvents('presence')).toEqual([]);
    expect(await mallory.request('presence.list', {})).toEqual({ users: ['mallory'] });
  });

  it("after a block the server refuses the stranger's claim, Welcome and direct message with BLOCKED", async () => {
    const messenger = await victim.messenger();
    const declined = await messenger.block('mallory');
    expect(declined).toHaveLength(2);
    expect(await messenger.requests()).toEqual([]);
    expect(await messenger.blocked()).toEqual(['mallory']);

    expect(await mallory.refused('keys.claim', { username: 'victim' })).toMatchObject({ code: 'BLOCKED' });
    // A KeyPackage claimed before the block does not get a Welcome through either.
    const fresh = await mallory.createGroup('group');
    const welcome = await fresh.adding(spare.map((device) => device.keyPackage));
    expect(await mallory.refused('group.commit', fresh.bundle(welcome, { add: spare.map((device) => ({ username: 'victim', deviceId: device.deviceId })) }))).toMatchObject({ code: 'BLOCKED' });
    // Mallory's own group (the victim left it by declining) still works for mallory: the server refuses only what reaches the victim.
    await spam.sendText('still here');
  });

  it('refuses a direct message from a blocked member who is still routed', async () => {
    // A direct group where the victim stays: mallory is unblocked, adds the victim, who accepts; then blocked again.
    const messenger = await victim.messenger();
    await messenger.unblock('mallory');
    expect(await messenger.blocked()).toEqual([]);
    const again = await mallory.createGroup('direct');
    await again.addUser('victim');
    await again.sendText('sorry');
    expect(await victim.acceptRequests()).toEqual(['mallory']);
    await messenger.block('mallory');
    const { message } = await encrypt(again.state, mallory.member, encodeContent({ t: 'text', text: 'one more', sentAt: Date.now() }));
    expect(await mallory.refused('group.send', { groupId: again.groupId, epoch: again.epoch, message })).toMatchObject({ code: 'BLOCKED', message: 'victim has blocked you' });
  });

  it("hides a blocked user's messages in a group a friend made, where the server cannot hold them back", async () => {
    await mallory.uploadKeyPackages(2);
    const group = await (await friend.messenger()).createGroup('mixed', ['victim', 'mallory']);
    const [joined] = await mallory.joinWelcomes();
    if (!joined) throw new Error('mallory got no Welcome');
    await joined.sendText('spam in a group');
    await (await friend.messenger()).sendToGroup(group.groupId, 'hello group');
    const messenger = await victim.messenger();
    const { messages } = await messenger.sync();
    // The friend's group is no request (the friend is a contact); mallory's line in it is kept but never shown.
    expect(messages.map((m) => `${m.sender}: ${m.text}`)).toEqual(['friend: hello group']);
    expect((await messenger.unread()).map((m) => m.text)).toEqual(['hello group']);
    expect((await victim.messages.listMessages(group.groupId)).map((m) => m.sender)).toEqual(['mallory', 'friend']);
  });
});

describe('presence on an open directory', () => {
  it('shows everyone online to everyone, contacts or not', async () => {
    const server = await startTestServer({ openDirectory: true });
    try {
      const victim = await honestUser(server, 'victim');
      const stranger = await Attacker.register(server, 'stranger');
      expect(await stranger.request('presence.list', {})).toEqual({ users: ['stranger', 'victim'] });
      victim.close();
      stranger.close();
    } finally {
      await server.close();
    }
  });
});
