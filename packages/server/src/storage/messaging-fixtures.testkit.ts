/** Fixtures the messaging conformance suites share: three users (Alice on two devices), a group, commits and messages. */
import type { DeviceRef } from '@parley/protocol';
import type { AccountRecord, GroupLeaf, NewCommit, NewDevice, NewKeyPackage, Storage } from './types.js';

export const filled = (fill: number, length = 16) => new Uint8Array(length).fill(fill);
// Own fixtures rather than conformance.testkit's, which imports the messaging suite (no import cycles).
export const account = (username: string): AccountRecord => ({
  username,
  identityKey: filled(1, 32),
  recoveryKey: filled(2, 32),
  opaqueRecord: filled(3, 192),
  backup: filled(4, 80),
  recoveryBackup: filled(5, 80),
  createdAt: 1_700_000_000_000,
});
export const device = (username: string, deviceId: string): NewDevice => ({
  username,
  deviceId,
  name: deviceId,
  publicKey: filled(6, 32),
  certificate: filled(7, 64),
  createdAt: 1_700_000_000_000,
});
export const alice: DeviceRef = { username: 'alice', deviceId: 'alice-dev1' };
export const alice2: DeviceRef = { username: 'alice', deviceId: 'alice-dev2' };
export const bob: DeviceRef = { username: 'bob', deviceId: 'bob-dev-1' };
export const carol: DeviceRef = { username: 'carol', deviceId: 'carol-dev1' };
export const GROUP = filled(0xa1);
export const NOW = 1_700_000_000_000;
/** Passes any check: of a commit (GroupCheck) or of a message (MessageCheck). */
export const pass = (): void => undefined;
export const BIG = 1 << 20;

export const kp = (fill: number, expiresAt = NOW + 1_000_000): NewKeyPackage => ({ id: filled(fill, 32), keyPackage: filled(fill, 100), expiresAt });

export function commit(epoch: number, fields: Partial<NewCommit> = {}): NewCommit {
  return {
    groupId: GROUP,
    epoch,
    sender: alice,
    commit: filled(0xc0 + epoch, 40),
    groupInfo: filled(0xd0 + epoch, 60),
    createdAt: NOW + epoch,
    add: [],
    remove: [],
    leaves: { removed: [], added: [] },
    ...fields,
  };
}

/** A tracked leaf whose key is just its index repeated, for tests. */
export const leaf = (leafIndex: number, device: DeviceRef | undefined): GroupLeaf => ({ leafIndex, signatureKey: filled(0x40 + leafIndex, 32), device });

export async function send(storage: Storage, from: DeviceRef, fill: number, createdAt = NOW): Promise<number> {
  const { entry } = await storage.appendMessage({ groupId: GROUP, epoch: 1, sender: from, payload: filled(fill, 30), createdAt }, pass);
  return entry.seq;
}
/** Alice (two devices), Bob and Carol, with no group yet. */
export async function seedUsers(storage: Storage): Promise<void> {
  await storage.createAccount(account('alice'), device('alice', alice.deviceId));
  await storage.addDevice(device('alice', alice2.deviceId));
  await storage.createAccount(account('bob'), device('bob', bob.deviceId));
  await storage.createAccount(account('carol'), device('carol', carol.deviceId));
}

/** Alice creates the group, then adds Bob's device (epoch 1, seq 1). */
export async function groupWithBob(storage: Storage): Promise<void> {
  await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
  await storage.acceptCommit(commit(0, { add: [bob], welcome: filled(0xee, 50) }), pass);
}
