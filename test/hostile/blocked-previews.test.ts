/**
 * Issue #11: after a block, nothing of the blocked user surfaces. In a group a friend made, the
 * server cannot hold the blocked member's messages back for the victim alone, so the victim's
 * client keeps them but must not count them as unread, nor let them move the conversation up
 * the list (the SDK's conversations view, which CLI `chats` and the web list show).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/harness.js';
import type { TestDevice } from '../support/device.js';
import { Attacker, honestUser, type AttackerGroup } from './kit.js';

describe("a blocked member's messages in a friend's group", () => {
  let server: TestServer;
  let victim: TestDevice;
  let friend: TestDevice;
  let mallory: Attacker;
  let group: AttackerGroup;
  let groupId: string;

  /** The victim's chats as the SDK lists them: name, unread count, last activity. */
  const chats = async () => (await (await victim.messenger()).conversations()).map((c) => ({ name: c.peer ?? c.title, unread: c.unread, lastActivityAt: c.lastActivityAt }));

  beforeAll(async () => {
    server = await startTestServer();
    victim = await honestUser(server, 'victim');
    friend = await honestUser(server, 'friend');
    mallory = await Attacker.register(server, 'mallory');
    await mallory.uploadKeyPackages(2);
    await (await friend.messenger()).sendDirect('victim', 'hello');
    expect(await victim.acceptRequests()).toEqual(['friend']);
    groupId = (await (await friend.messenger()).createGroup('mixed', ['victim', 'mallory'])).groupId;
    const [joined] = await mallory.joinWelcomes();
    if (!joined) throw new Error('mallory got no Welcome');
    group = joined;
    const messenger = await victim.messenger();
    await messenger.sync();
    await messenger.markShown(await messenger.unread());
  });
  afterAll(async () => {
    victim.close();
    friend.close();
    mallory.close();
    await server.close();
  });

  it('stops counting what the blocked user wrote before the block as unread', async () => {
    await group.sendText('spam before the block');
    const messenger = await victim.messenger();
    await messenger.sync();
    expect((await chats()).find((chat) => chat.name === 'mixed')?.unread).toBe(1);
    await messenger.block('mallory');
    // The chats view counts it no more, before and without the victim listing unread messages.
    expect((await chats()).find((chat) => chat.name === 'mixed')?.unread).toBe(0);
    expect(await messenger.unread()).toEqual([]);
  });

  it('neither counts nor moves up a chat for what the blocked user writes after the block', async () => {
    // The friend's 1:1 is the newest chat; mallory's later message must not put the group above it.
    await (await friend.messenger()).sendDirect('victim', 'newest from a friend');
    const messenger = await victim.messenger();
    await messenger.sync();
    await messenger.markShown(await messenger.unread());
    const before = await chats();
    expect(before.map((chat) => chat.name)).toEqual(['friend', 'mixed']);

    await group.sendText('spam after the block', Date.now() + 60_000);
    const { messages } = await messenger.sync();
    expect(messages.map((m) => m.text)).toEqual([]);
    expect(await chats()).toEqual(before);
    // Kept, not shown: the group's log is shared, and an unblock shows them again.
    expect((await victim.messages.listMessages(groupId)).map((m) => m.text)).toContain('spam after the block');
  });
});
