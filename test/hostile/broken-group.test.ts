/**
 * Issue #11 §1 and §4: a group whose state cannot advance. A hostile admin uploads a commit the
 * server accepts but honest clients refuse: the server cannot check a commit's membership tag,
 * nor whether a leaf's credential is a Parley credential. Honest members rejoin by external
 * commit and keep chatting; when rejoining fails too, the group is marked broken with its reason,
 * and sends to it fail at once with GROUP_BROKEN instead of wedging in STALE_EPOCH.
 */
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { Attacker, honestUser, type AttackerGroup } from './kit.js';

describe('a hostile admin’s commit that honest clients refuse', () => {
  let server: TestServer;
  let victim: TestDevice;
  let friend: TestDevice;
  let mallory: Attacker;

  /** A group of Mallory's (its admin) with the victim and the friend, who both joined by Welcome. */
  async function malloryGroup(): Promise<AttackerGroup> {
    const group = await mallory.createGroup();
    const keyPackages = [];
    const add = [];
    for (const username of ['victim', 'friend']) {
      for (const device of (await mallory.request('keys.claim', { username })).devices) {
        keyPackages.push(device.keyPackage);
        add.push({ username, deviceId: device.deviceId });
      }
    }
    await group.commit(await group.adding(keyPackages), { add });
    for (const user of [victim, friend]) expect((await (await user.messenger()).sync()).errors).toEqual([]);
    return group;
  }

  const groupOf = async (user: TestDevice, group: AttackerGroup) => {
    const id = Buffer.from(group.groupId).toString('base64url');
    return (await user.messages.listConversations()).find((c) => c.groupId === id);
  };

  beforeAll(async () => {
    server = await startTestServer();
    [victim, friend, mallory] = await Promise.all([honestUser(server, 'victim'), honestUser(server, 'friend'), Attacker.register(server, 'mallory')]);
  });
  afterAll(async () => {
    victim.close();
    friend.close();
    mallory.close();
    await server.close();
  });

  it('with a broken membership tag: the victim rejoins by external commit and keeps chatting', async () => {
    const group = await malloryGroup();
    const update = await group.updating();
    const commit = update.commit.slice();
    // The last bytes are the membership tag (RFC 9420 §6.2), which only members can check.
    commit[commit.length - 1] = (commit[commit.length - 1] ?? 0) ^ 0x01;
    await group.commit({ ...update, commit });

    const refused = expect.objectContaining({ code: ErrorCode.UNREADABLE_ENTRY, message: expect.stringMatching(/did not decrypt or verify.*; rejoining the group$/) });
    expect((await (await victim.messenger()).sync()).errors).toEqual([refused]);
    // The friend rejoins after the victim: the victim's rejoin, in an epoch the friend never had, is passed over, and said so.
    const passedOver = expect.objectContaining({ code: ErrorCode.UNREADABLE_ENTRY, message: expect.stringMatching(/^entries \d+\.\.\d+ were sent while this device was out of step/) });
    expect((await (await friend.messenger()).sync()).errors).toEqual([refused, passedOver]);
    for (const user of [victim, friend]) expect(await groupOf(user, group)).toMatchObject({ active: true });
    const id = (await groupOf(victim, group))?.groupId ?? '';
    await (await victim.messenger()).sendToGroup(id, 'still here after the bad commit');
    expect(await friend.receive()).toEqual(['victim: still here after the bad commit']);
    await (await friend.messenger()).sendToGroup(id, 'me too');
    expect(await victim.receive()).toEqual(['friend: me too']);
  });

  it('adding a leaf with a foreign credential: rejoining fails too, the group is marked broken, sends get GROUP_BROKEN', async () => {
    const group = await malloryGroup();
    const impostor = await mallory.addDevice('mallory-impostor', { identity: new TextEncoder().encode('not a parley credential') });
    const [keyPackage] = await impostor.uploadKeyPackages(1);
    await group.commit(await group.adding([keyPackage?.keyPackage ?? new Uint8Array()]), { add: [impostor.ref] });
    impostor.close();

    const first = await (await victim.messenger()).sync();
    expect(first.errors.map((error) => error.code)).toEqual([ErrorCode.UNREADABLE_ENTRY, ErrorCode.GROUP_BROKEN]);
    expect(first.errors[1]?.message).toMatch(/cannot follow or rejoin .*credential was rejected/);
    const id = (await groupOf(victim, group))?.groupId ?? '';
    const started = Date.now();
    await expect((await victim.messenger()).sendToGroup(id, 'into the void')).rejects.toMatchObject({ code: ErrorCode.GROUP_BROKEN, message: expect.stringMatching(/is broken on this device \(.*credential was rejected/) });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Remembered: a later sync does not try (and fail) again while the group stays as it is.
    expect((await (await victim.messenger()).sync()).errors).toEqual([]);
    expect((await (await victim.messenger()).conversations()).find((c) => c.groupId === id)).toMatchObject({ active: false, broken: expect.stringMatching(/credential/) });
    // The victim's other conversations are untouched.
    await (await victim.messenger()).sendDirect('friend', 'the rest works');
    expect(await friend.receive()).toEqual(['victim: the rest works']);
  });

  it('a Welcome into a group that removed the victim right after: acknowledged, and the sync goes on', async () => {
    const group = await mallory.createGroup();
    const { devices } = await mallory.request('keys.claim', { username: 'victim' });
    const victims = devices.map((device) => ({ username: 'victim', deviceId: device.deviceId }));
    await group.commit(await group.adding(devices.map((device) => device.keyPackage)), { add: victims });
    await group.commit(await group.removing(group.keysOf('victim')), { remove: victims });

    const { errors } = await (await victim.messenger()).sync();
    expect(errors).toEqual([{ kind: 'error', conversation: expect.any(String), code: ErrorCode.NOT_A_MEMBER, message: 'a Welcome from mallory is for a group that no longer has you' }]);
    expect((await (await victim.messenger()).sync()).errors).toEqual([]);
    await (await victim.messenger()).sendDirect('friend', 'unbothered');
    expect(await friend.receive()).toEqual(['victim: unbothered']);
  });

  it('a Welcome addressed to another KeyPackage, or made for another group: refused, and the victim joins the group it was added to', async () => {
    const { devices } = await mallory.request('keys.claim', { username: 'victim' });
    const victims = devices.map((device) => ({ username: 'victim', deviceId: device.deviceId }));
    const keyPackages = devices.map((device) => device.keyPackage);
    const [other] = (await mallory.request('keys.claim', { username: 'friend' })).devices;
    const target = await mallory.createGroup();
    const decoy = await mallory.createGroup();
    const real = await target.adding(keyPackages);
    // The server checks that a Welcome names exactly the added KeyPackages: one addressed to another KeyPackage is refused.
    const elsewhere = await decoy.adding([other?.keyPackage ?? new Uint8Array()]);
    expect((await mallory.refused('group.commit', target.bundle({ ...real, welcome: elsewhere.welcome }, { add: victims }))).code).toBe(ErrorCode.INVALID_COMMIT);
    // A Welcome to the victim's own KeyPackage, but into the decoy group, names the right KeyPackage: only the victim can tell.
    const decoyWelcome = (await decoy.adding(keyPackages)).welcome;
    await target.commit({ ...real, welcome: decoyWelcome }, { add: victims });

    const { errors } = await (await victim.messenger()).sync();
    expect(errors).toEqual([expect.objectContaining({ code: ErrorCode.UNREADABLE_ENTRY, message: `a Welcome from mallory is for another group than the one it came for` })]);
    // Filed under the group it was added to, joined by external commit, not under the decoy's state.
    expect(await groupOf(victim, target)).toMatchObject({ active: true });
    expect(await groupOf(victim, decoy)).toBeUndefined();
  });
});
