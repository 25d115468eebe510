/**
 * An MLS group driven over the raw protocol with the server's test client (no SDK): real
 * KeyPackages, commits and Welcomes, so the server's Delivery Service checks pass as in life.
 */
import { addMembers, createGroup, deviceCertificateMessage, encrypt, generateKeyPackage, removeMembers, sign, type MlsMember } from '@parley/crypto';
import type { DeviceRef } from '@parley/protocol';
import { encodeCredential } from '../../packages/client/src/trust/mls-credentials.js';
import { register, type TestClient, type TestDevice } from '../../packages/server/src/test-client.testkit.js';

export interface GroupUser {
  client: TestClient;
  device: TestDevice;
  ref: DeviceRef;
}

export async function registerUser(url: string, username: string): Promise<GroupUser> {
  const { client, device } = await register(url, username);
  return { client, device, ref: { username, deviceId: device.deviceId } };
}

/**
 * A raw device as SDK clients see MLS members: its credential is the username with the device
 * certificate it registered (the testkit's own is plain text, which the SDK refuses). For groups
 * with SDK users in them.
 */
export function withSdkCredential(user: GroupUser): GroupUser {
  const { device } = user;
  const unsigned = { deviceId: device.deviceId, name: `${device.deviceId} name`, publicKey: device.keys.publicKey };
  const certificate = { ...unsigned, signature: sign(device.identity.privateKey, deviceCertificateMessage({ username: device.username, ...unsigned })) };
  const member: MlsMember = { ...device.member, identity: encodeCredential({ username: device.username, certificate }) };
  return { ...user, device: { ...device, member } };
}

/** A member to add: a raw user (who uploads a KeyPackage first), or a device that has KeyPackages on the server (an SDK client). */
export type NewMember = GroupUser | { ref: DeviceRef };

export interface TestGroup {
  groupId: Uint8Array;
  epoch: number;
  /** The creator's MLS state. */
  state: Uint8Array;
  /** An application message from the creator to the group, at the current epoch. */
  send(plaintext: Uint8Array): Promise<{ seq: number; payload: Uint8Array }>;
  /** The creator commits the removal of `user`'s device. */
  remove(user: GroupUser): Promise<void>;
}

/** `owner` creates a group and adds the named device of each of `members` (raw users upload a KeyPackage first). */
export async function createTestGroup(owner: GroupUser, members: readonly NewMember[]): Promise<TestGroup> {
  const groupId = crypto.getRandomValues(new Uint8Array(16));
  const created = await createGroup(owner.device.member, groupId);
  await owner.client.request('group.create', { groupId, kind: 'group', groupInfo: created.groupInfo });
  const keyPackages: Uint8Array[] = [];
  for (const member of members) {
    if ('client' in member) await member.client.request('keys.upload', { keyPackages: [(await generateKeyPackage(member.device.member)).keyPackage] });
    const { devices } = await owner.client.request('keys.claim', { username: member.ref.username });
    const claimed = devices.find((device) => device.deviceId === member.ref.deviceId);
    keyPackages.push(claimed?.keyPackage as Uint8Array);
  }
  let [state, epoch] = [created.state, 0];
  if (members.length > 0) {
    const add = await addMembers(state, owner.device.member, keyPackages, async () => true);
    await owner.client.request('group.commit', { groupId, epoch, commit: add.commit, groupInfo: add.groupInfo, welcome: add.welcome, add: members.map((m) => m.ref), remove: [] });
    [state, epoch] = [add.pendingState, 1];
  }
  const group: TestGroup = {
    groupId,
    epoch,
    state,
    send: async (plaintext) => {
      const encrypted = await encrypt(group.state, owner.device.member, plaintext);
      group.state = encrypted.state;
      const { seq } = await owner.client.request('group.send', { groupId, epoch: group.epoch, message: encrypted.message });
      return { seq, payload: encrypted.message };
    },
    remove: async (user) => {
      const removal = await removeMembers(group.state, owner.device.member, [user.device.keys.publicKey]);
      await owner.client.request('group.commit', { groupId, epoch: group.epoch, commit: removal.commit, groupInfo: removal.groupInfo, add: [], remove: [user.ref] });
      group.state = removal.pendingState;
      group.epoch++;
    },
  };
  return group;
}
