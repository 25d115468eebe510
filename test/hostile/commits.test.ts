/**
 * Issue #11 §4: the server checks group changes. A member who is not an admin commits changes to
 * other users in MLS while telling the server something else, or uploads a commit with a flipped
 * byte. The server reads the PublicMessage commit and refuses both, so the group never wedges for
 * its honest members.
 */
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { Attacker, honestUser, type AttackerGroup } from './kit.js';

describe('a member that lies about its commit', () => {
  let server: TestServer;
  let alice: TestDevice;
  let bob: TestDevice;
  let mallory: Attacker;

  /** A fresh group by Alice (admin) with Bob and Mallory, so each attack starts from a sound group. */
  async function team(title: string): Promise<AttackerGroup> {
    await (await alice.messenger()).createGroup(title, ['bob', 'mallory']);
    await bob.receive();
    const [group] = await mallory.joinWelcomes();
    if (!group) throw new Error('mallory was not added');
    await group.catchUp();
    return group;
  }

  /** Alice writes to the group and Bob reads it: it still works for its honest members. */
  async function stillWorks(title: string, text: string): Promise<void> {
    await (await alice.messenger()).sendToGroup(title, text);
    expect(await bob.receive()).toContain(`alice: ${text}`);
  }

  beforeAll(async () => {
    server = await startTestServer();
    [alice, bob, mallory] = await Promise.all([honestUser(server, 'alice'), honestUser(server, 'bob'), Attacker.register(server, 'mallory')]);
    await mallory.uploadKeyPackages(6);
  });
  afterAll(async () => {
    for (const device of [alice, bob]) device.close();
    mallory.close();
    await server.close();
  });

  it('is refused when it removes another user in MLS while declaring no change', async () => {
    const group = await team('silent removal');
    const before = await mallory.request('group.get', { groupId: group.groupId });
    const removal = await group.removing(group.keysOf('bob'));
    const error = await mallory.refused('group.commit', group.bundle(removal, { add: [], remove: [] }));
    expect(error).toMatchObject({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/removes bob\//) });
    expect(await mallory.request('group.get', { groupId: group.groupId })).toEqual(before);
    await stillWorks('silent removal', 'still here, bob?');
  });

  it('is refused when it adds a stranger under the name of its own new device', async () => {
    const group = await team('smuggled stranger');
    const laptop = await mallory.addDevice('mallory-laptop');
    await laptop.uploadKeyPackages(1);
    const carol = await honestUser(server, 'carol');
    const [carols] = (await mallory.request('keys.claim', { username: 'carol' })).devices;
    const add = await group.adding([carols?.keyPackage ?? new Uint8Array()]);
    const error = await mallory.refused('group.commit', group.bundle(add, { add: [laptop.ref] }));
    expect(error).toMatchObject({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/KeyPackage/) });
    carol.close();
    laptop.close();
    await stillWorks('smuggled stranger', 'no strangers here');
  });

  it('is refused when a byte of its commit is flipped, and accepted once it sends the commit it signed', async () => {
    const group = await team('flipped byte');
    const update = await group.updating();
    const flipped = update.commit.slice();
    const middle = Math.floor(flipped.length / 2);
    flipped[middle] = (flipped[middle] ?? 0) ^ 0x01;
    const error = await mallory.refused('group.commit', group.bundle({ ...update, commit: flipped }));
    expect(error.code).toBe(ErrorCode.INVALID_COMMIT);
    // Updating its own leaf is any member's right: the genuine commit goes through and the others follow.
    await group.commit(update);
    await stillWorks('flipped byte', 'after mallory updated her keys');
  });
});
