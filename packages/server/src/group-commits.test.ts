/**
 * The Delivery Service's checks of commit bundles (RFC 9420 §6.2, §12.4; services/mls-checks.ts)
 * over the wire: the unusual honest changes it must let through, and the mismatches and excesses
 * it must refuse with a clear code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addMembers,
  createGroup,
  generateKeyPackage,
  inspectMessage,
  joinExternal,
  joinFromWelcome,
  processMessage,
  removeMembers,
  selfUpdate,
  type MlsAddOutput,
  type MlsCommitOutput,
  type MlsGeneratedKeyPackage,
} from '@parley/crypto';
import { ErrorCode, toHex, type DeviceRef } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { startServer, type RunningServer } from './server.js';
import { addDevice, register, type TestClient, type TestDevice } from './test-client.testkit.js';

const anyCredential = async () => true;

interface Member {
  client: TestClient;
  device: TestDevice;
  ref: DeviceRef;
  state: Uint8Array;
  keyPackages: MlsGeneratedKeyPackage[];
}

describe('commit checks over the wire', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-commits-'));
  let server: RunningServer;
  const members: Member[] = [];
  let groupId: Uint8Array;
  let epoch = 0;

  async function member(client: TestClient, device: TestDevice): Promise<Member> {
    const keyPackages = await Promise.all([1, 2, 3, 4, 5].map(() => generateKeyPackage(device.member)));
    await client.request('keys.upload', { keyPackages: keyPackages.map((kp) => kp.keyPackage) });
    const created: Member = { client, device, ref: { username: device.username, deviceId: device.deviceId }, state: new Uint8Array(0), keyPackages };
    members.push(created);
    return created;
  }

  async function claim(by: Member, target: Member): Promise<Uint8Array> {
    const { devices } = await by.client.request('keys.claim', { username: target.ref.username });
    const found = devices.find((d) => d.deviceId === target.ref.deviceId);
    if (!found) throw new Error(`no KeyPackage of ${target.ref.deviceId}`);
    return found.keyPackage;
  }

  function bundle(output: MlsCommitOutput & { welcome?: Uint8Array }, declared: { add?: DeviceRef[]; remove?: DeviceRef[] }) {
    return { groupId, epoch, commit: output.commit, groupInfo: output.groupInfo, ...(output.welcome ? { welcome: output.welcome } : {}), add: declared.add ?? [], remove: declared.remove ?? [] };
  }

  /** Uploads the commit; on acceptance the committer adopts it and every other member still in the group processes it. */
  async function commit(by: Member, output: MlsCommitOutput & { welcome?: Uint8Array }, declared: { add?: DeviceRef[]; remove?: DeviceRef[] } = {}): Promise<void> {
    await by.client.request('group.commit', bundle(output, declared));
    epoch += 1;
    by.state = output.pendingState;
    for (const other of members) {
      if (other === by || other.state.length === 0) continue;
      const processed = await processMessage(other.state, output.commit, anyCredential);
      other.state = processed.kind === 'commit' && processed.removedSelf ? new Uint8Array(0) : processed.state;
    }
  }

  async function joinFrom(joiner: Member, welcome: Uint8Array): Promise<void> {
    const framing = inspectMessage(welcome);
    const refs = framing.kind === 'welcome' ? framing.keyPackageRefs.map(toHex) : [];
    const mine = joiner.keyPackages.find((kp) => refs.includes(toHex(kp.keyPackageRef)));
    if (!mine) throw new Error('the Welcome is not for this member');
    joiner.state = (await joinFromWelcome(welcome, mine.privateState, anyCredential)).state;
  }

  let alice: Member;
  let bob: Member;
  let carol: Member;
  let dave: Member;

  beforeAll(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir, logger: createLogger('silent'), maxGroupDevices: 4, maxGroupsPerUser: 2 });
    const [a, b, c, d] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((name) => register(server.url, name)));
    alice = await member(a?.client as TestClient, a?.device as TestDevice);
    bob = await member(b?.client as TestClient, b?.device as TestDevice);
    carol = await member(c?.client as TestClient, c?.device as TestDevice);
    dave = await member(d?.client as TestClient, d?.device as TestDevice);
    groupId = crypto.getRandomValues(new Uint8Array(16));
    const created = await createGroup(alice.device.member, groupId);
    await alice.client.request('group.create', { groupId, kind: 'group', groupInfo: created.groupInfo });
    alice.state = created.state;
    const added: MlsAddOutput = await addMembers(alice.state, alice.device.member, [await claim(alice, bob), await claim(alice, carol)], anyCredential);
    await commit(alice, added, { add: [bob.ref, carol.ref] });
    await joinFrom(bob, added.welcome);
    await joinFrom(carol, added.welcome);
  });
  afterAll(async () => {
    for (const m of members) m.client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses a new group whose GroupInfo holds someone else's leaf", async () => {
    const other = crypto.getRandomValues(new Uint8Array(16));
    const bobs = await createGroup(bob.device.member, other);
    await expect(alice.client.request('group.create', { groupId: other, kind: 'group', groupInfo: bobs.groupInfo })).rejects.toMatchObject({
      code: ErrorCode.BAD_REQUEST,
      message: /one leaf, signed with this device's key/,
    });
  });

  it('refuses a declared change the commit does not make, and a Welcome for other KeyPackages', async () => {
    const update = await selfUpdate(alice.state, alice.device.member);
    await expect(alice.client.request('group.commit', bundle(update, { remove: [bob.ref] }))).rejects.toMatchObject({ code: ErrorCode.INVALID_COMMIT, message: /remove lists bob\// });
    const daves = await claim(alice, dave);
    const add = await addMembers(alice.state, alice.device.member, [daves], anyCredential);
    const stranger = await addMembers(bob.state, bob.device.member, [(await generateKeyPackage(dave.device.member)).keyPackage], anyCredential);
    await expect(alice.client.request('group.commit', bundle({ ...add, welcome: stranger.welcome }, { add: [dave.ref] }))).rejects.toMatchObject({
      code: ErrorCode.INVALID_COMMIT,
      message: /Welcome/,
    });
    await expect(alice.client.request('group.commit', bundle(add, { add: [bob.ref] }))).rejects.toMatchObject({ code: ErrorCode.BAD_REQUEST, message: /already in the group/ });
  });

  it('keeps each user within the groups one may be in', async () => {
    // Carol is in the test group; one more makes two, the most here.
    const own = crypto.getRandomValues(new Uint8Array(16));
    await carol.client.request('group.create', { groupId: own, kind: 'group', groupInfo: (await createGroup(carol.device.member, own)).groupInfo });
    const third = crypto.getRandomValues(new Uint8Array(16));
    await expect(carol.client.request('group.create', { groupId: third, kind: 'group', groupInfo: (await createGroup(carol.device.member, third)).groupInfo })).rejects.toMatchObject({
      code: ErrorCode.BAD_REQUEST,
      message: /carol is in 2 groups, the most one user may be in/,
    });
    // Nor can anyone add her to another.
    const daves = crypto.getRandomValues(new Uint8Array(16));
    const created = await createGroup(dave.device.member, daves);
    await dave.client.request('group.create', { groupId: daves, kind: 'group', groupInfo: created.groupInfo });
    const add = await addMembers(created.state, dave.device.member, [await claim(dave, carol)], anyCredential);
    await expect(dave.client.request('group.commit', { groupId: daves, epoch: 0, commit: add.commit, groupInfo: add.groupInfo, welcome: add.welcome, add: [carol.ref], remove: [] })).rejects.toMatchObject({
      code: ErrorCode.BAD_REQUEST,
      message: /carol is in 2 groups/,
    });
    await carol.client.request('group.leave', { groupId: own });
    await dave.client.request('group.leave', { groupId: daves });
  });

  it('bounds the lists by what the group holds and its configured size', async () => {
    const made = Array.from({ length: 4 }, (_, i) => ({ username: 'nobody', deviceId: `made-up-${i}` }));
    const update = await selfUpdate(alice.state, alice.device.member);
    await expect(alice.client.request('group.commit', bundle(update, { remove: made }))).rejects.toMatchObject({ code: ErrorCode.BAD_REQUEST, message: /the group has 3/ });
    const second = await addDevice(server.url, dave.device, 'dave-device-2');
    const dave2 = await member(second.client, second.device);
    const both = await addMembers(alice.state, alice.device.member, [await claim(alice, dave), await claim(alice, dave2)], anyCredential);
    await expect(alice.client.request('group.commit', bundle(both, { add: [dave.ref, dave2.ref] }))).rejects.toMatchObject({ code: ErrorCode.BAD_REQUEST, message: /at most 4 devices/ });
  });

  it("lets any member remove a revoked device, and a user's leaves once that user left", async () => {
    const daves = await addMembers(alice.state, alice.device.member, [await claim(alice, dave)], anyCredential);
    await commit(alice, daves, { add: [dave.ref] });
    await joinFrom(dave, daves.welcome);
    // Carol, not an admin, may not remove Dave...
    const removal = await removeMembers(carol.state, carol.device.member, [dave.device.keys.publicKey]);
    await expect(carol.client.request('group.commit', bundle(removal, { remove: [dave.ref] }))).rejects.toMatchObject({ code: ErrorCode.FORBIDDEN });
    // ...but once Dave's device is revoked, removing it is housekeeping anyone may do.
    await dave.client.request('device.revoke', { deviceId: dave.ref.deviceId });
    await commit(carol, removal, { remove: [dave.ref] });

    // Bob leaves: the server stops routing to him; Carol removes his leaf without declaring him.
    await bob.client.request('group.leave', { groupId });
    const bobsLeaf = await removeMembers(carol.state, carol.device.member, [bob.device.keys.publicKey]);
    await expect(carol.client.request('group.commit', bundle(bobsLeaf, { remove: [bob.ref] }))).rejects.toMatchObject({ code: ErrorCode.BAD_REQUEST, message: /not in the group/ });
    await commit(carol, bobsLeaf);
    expect((await alice.client.request('group.get', { groupId })).members.map((m) => m.username)).toEqual(['alice', 'carol']);
  });

  it('lets a new device of a member join by external commit, and a device rejoin in place of its old leaf', async () => {
    const laptop = await addDevice(server.url, alice.device, 'alice-laptop');
    const aliceLaptop = await member(laptop.client, laptop.device);
    async function rejoin(by: Member): Promise<void> {
      const info = await by.client.request('group.info', { groupId });
      expect(info.epoch).toBe(epoch);
      const external = await joinExternal(info.groupInfo, by.device.member, anyCredential);
      await by.client.request('group.rejoin', { groupId, epoch, commit: external.commit, groupInfo: external.groupInfo });
      epoch += 1;
      for (const m of members) {
        if (m !== by && m.state.length > 0) m.state = (await processMessage(m.state, external.commit, anyCredential)).state;
      }
      by.state = external.pendingState;
    }
    await rejoin(aliceLaptop);
    await rejoin(carol);
    // The server knows Carol's new leaf as hers: Alice, an admin, removes it by name.
    const removal = await removeMembers(alice.state, alice.device.member, [carol.device.keys.publicKey]);
    await expect(alice.client.request('group.commit', bundle(removal, {}))).rejects.toMatchObject({ code: ErrorCode.INVALID_COMMIT, message: /removes carol\// });
    await commit(alice, removal, { remove: [carol.ref] });
    expect((await alice.client.request('group.get', { groupId })).members.map((m) => m.deviceId)).toEqual([alice.ref.deviceId, 'alice-laptop']);
  });
});
