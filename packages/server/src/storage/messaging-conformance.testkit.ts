/** The messaging half of the storage conformance suite (KeyPackages, groups, log, mailbox); run by runStorageConformance. */
import type { DeviceRef } from '@parley/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  StaleEpochError,
  StorageConflictError,
  StorageNotFoundError,
  type AccountRecord,
  type GroupLeaf,
  type NewCommit,
  type NewDevice,
  type NewKeyPackage,
  type Storage,
} from './types.js';

const filled = (fill: number, length = 16) => new Uint8Array(length).fill(fill);
// Own fixtures rather than conformance.testkit's, which imports this file (no import cycles).
const account = (username: string): AccountRecord => ({
  username,
  identityKey: filled(1, 32),
  recoveryKey: filled(2, 32),
  opaqueRecord: filled(3, 192),
  backup: filled(4, 80),
  recoveryBackup: filled(5, 80),
  createdAt: 1_700_000_000_000,
});
const device = (username: string, deviceId: string): NewDevice => ({
  username,
  deviceId,
  name: deviceId,
  publicKey: filled(6, 32),
  certificate: filled(7, 64),
  createdAt: 1_700_000_000_000,
});
const alice: DeviceRef = { username: 'alice', deviceId: 'alice-dev1' };
const alice2: DeviceRef = { username: 'alice', deviceId: 'alice-dev2' };
const bob: DeviceRef = { username: 'bob', deviceId: 'bob-dev-1' };
const carol: DeviceRef = { username: 'carol', deviceId: 'carol-dev1' };
const GROUP = filled(0xa1);
const NOW = 1_700_000_000_000;
/** Passes any check: of a commit (GroupCheck) or of a message (MessageCheck). */
const pass = (): void => undefined;
const BIG = 1 << 20;

const kp = (fill: number, expiresAt = NOW + 1_000_000): NewKeyPackage => ({ id: filled(fill, 32), keyPackage: filled(fill, 100), expiresAt });

function commit(epoch: number, fields: Partial<NewCommit> = {}): NewCommit {
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
const leaf = (leafIndex: number, device: DeviceRef | undefined): GroupLeaf => ({ leafIndex, signatureKey: filled(0x40 + leafIndex, 32), device });

async function send(storage: Storage, from: DeviceRef, fill: number, createdAt = NOW): Promise<number> {
  const { entry } = await storage.appendMessage({ groupId: GROUP, epoch: 1, sender: from, payload: filled(fill, 30), createdAt }, pass);
  return entry.seq;
}

/** Runs inside the storage conformance suite, on the fresh storage its `beforeEach` opened. */
export function runMessagingConformance(current: () => Storage): void {
  describe('messaging', () => {
    let storage: Storage;
    beforeEach(async () => {
      storage = current();
      await storage.createAccount(account('alice'), device('alice', alice.deviceId));
      await storage.addDevice(device('alice', alice2.deviceId));
      await storage.createAccount(account('bob'), device('bob', bob.deviceId));
      await storage.createAccount(account('carol'), device('carol', carol.deviceId));
    });

    /** Alice creates the group, then adds Bob's device (epoch 1, seq 1). */
    async function groupWithBob(): Promise<void> {
      await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
      await storage.acceptCommit(commit(0, { add: [bob], welcome: filled(0xee, 50) }), pass);
    }

    describe('KeyPackages', () => {
      it('claims each one-time KeyPackage exactly once, then reuses the last-resort one', async () => {
        await storage.addKeyPackages(bob, [kp(1), kp(2), kp(3)], kp(9), NOW);
        await storage.addKeyPackages(bob, [kp(2)], undefined, NOW + 1); // a re-upload is stored once
        expect(await storage.countKeyPackages(bob, NOW)).toEqual({ oneTime: 3, lastResort: true });
        const claimed = [];
        for (let i = 0; i < 3; i++) claimed.push(await storage.claimKeyPackage(bob, NOW));
        expect(claimed.every((c) => c?.lastResort === false)).toBe(true);
        expect(claimed.map((c) => c?.keyPackage[0]).sort()).toEqual([1, 2, 3]);
        expect(await storage.claimKeyPackage(bob, NOW)).toEqual({ keyPackage: filled(9, 100), lastResort: true });
        expect(await storage.claimKeyPackage(bob, NOW)).toEqual({ keyPackage: filled(9, 100), lastResort: true });
        expect(await storage.countKeyPackages(bob, NOW)).toEqual({ oneTime: 0, lastResort: true });
        expect(await storage.claimKeyPackage(carol, NOW)).toBeUndefined();
      });

      it('replaces the last-resort KeyPackage and never hands out expired ones', async () => {
        await storage.addKeyPackages(bob, [kp(1, NOW - 1)], kp(9), NOW);
        await storage.addKeyPackages(bob, [], kp(8), NOW);
        expect(await storage.countKeyPackages(bob, NOW)).toEqual({ oneTime: 0, lastResort: true });
        expect(await storage.claimKeyPackage(bob, NOW)).toEqual({ keyPackage: filled(8, 100), lastResort: true });
        expect(await storage.deleteExpiredKeyPackages(NOW)).toBe(1);
        expect(await storage.claimKeyPackage(bob, NOW + 2_000_000)).toBeUndefined();
      });

      it('gives concurrent claims distinct one-time KeyPackages', async () => {
        await storage.addKeyPackages(bob, [kp(1), kp(2), kp(3), kp(4), kp(5)], kp(9), NOW);
        const claims = await Promise.all(Array.from({ length: 8 }, () => storage.claimKeyPackage(bob, NOW)));
        const oneTime = claims.filter((c) => c?.lastResort === false).map((c) => c?.keyPackage[0]);
        expect(oneTime.sort()).toEqual([1, 2, 3, 4, 5]);
        expect(claims.filter((c) => c?.lastResort === true)).toHaveLength(3);
      });
    });

    describe('groups', () => {
      it('creates a group at epoch 0 with the creator as only member and admin; refuses a duplicate id', async () => {
        const created = await storage.createGroup({ groupId: GROUP, kind: 'direct', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
        const expected = {
          groupId: GROUP,
          kind: 'direct',
          epoch: 0,
          createdBy: 'alice',
          createdAt: NOW,
          lastSeq: 0,
          admins: ['alice'],
          members: [{ ...alice, ackedSeq: 0, joinedSeq: 0 }],
        };
        expect(created).toEqual(expected);
        expect(await storage.getGroup(GROUP)).toEqual(expected);
        expect(await storage.getGroupInfo(GROUP)).toEqual({ epoch: 0, groupInfo: filled(0xd0, 60) });
        expect(await storage.listDeviceGroups(alice)).toEqual([expected]);
        expect(await storage.listDeviceGroups(bob)).toEqual([]);
        await expect(storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(1), creator: bob, creatorLeaf: leaf(0, bob), createdAt: NOW })).rejects.toBeInstanceOf(
          StorageConflictError,
        );
        expect(await storage.getGroup(filled(0xa2))).toBeUndefined();
      });

      it('accepts a commit atomically: log entry, epoch, GroupInfo, routing and welcomes', async () => {
        await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
        const seen: unknown[] = [];
        const result = await storage.acceptCommit(commit(0, { add: [bob, carol], welcome: filled(0xee, 50) }), (group) => seen.push(group));
        expect(seen).toEqual([{ groupId: GROUP, kind: 'group', epoch: 0, admins: ['alice'], members: [alice] }]);
        expect(result.entry).toEqual({ groupId: GROUP, seq: 1, kind: 'commit', epoch: 0, sender: alice, createdAt: NOW, payload: filled(0xc0, 40) });
        expect(result.epoch).toBe(1);
        expect(result.members).toEqual([alice, bob, carol]);
        expect(result.mailbox.map((m) => [m.recipient.username, m.kind, m.seq, m.payload?.length])).toEqual([
          ['bob', 'welcome', 1, 50],
          ['carol', 'welcome', 1, 50],
        ]);
        const group = await storage.getGroup(GROUP);
        expect(group).toMatchObject({ epoch: 1, lastSeq: 1, admins: ['alice'] });
        expect(group?.members).toEqual([
          { ...alice, ackedSeq: 1, joinedSeq: 0 }, // caught up, so moved past its own commit
          { ...bob, ackedSeq: 1, joinedSeq: 1 },
          { ...carol, ackedSeq: 1, joinedSeq: 1 },
        ]);
        expect(await storage.getGroupInfo(GROUP)).toEqual({ epoch: 1, groupInfo: filled(0xd0, 60) });
        const bobs = await storage.fetchForDevice(bob, { limit: 100, maxBytes: BIG });
        expect(bobs.entries).toEqual([]); // Bob starts after the commit that added him
        expect(bobs.mailbox).toEqual([result.mailbox[0]]);
        expect((await storage.fetchForDevice(alice, { limit: 100, maxBytes: BIG })).entries).toEqual([]);
      });

      it("tracks the group's leaves: the creator's, then each commit's removals and additions, atomically", async () => {
        await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
        expect(await storage.getGroupLeaves(GROUP)).toEqual([leaf(0, alice)]);
        await storage.acceptCommit(commit(0, { add: [bob, carol], welcome: filled(0xee, 50), leaves: { removed: [], added: [leaf(1, bob), leaf(2, carol)] } }), pass);
        await storage.acceptCommit(commit(1, { remove: [bob], add: [alice2], welcome: filled(0xef, 50), leaves: { removed: [1], added: [leaf(1, alice2)] } }), pass);
        expect(await storage.getGroupLeaves(GROUP)).toEqual([leaf(0, alice), leaf(1, alice2), leaf(2, carol)]);
        // A leaf carried over without a known device (migration 0004) reads back as such.
        await storage.acceptCommit(commit(2, { leaves: { removed: [2], added: [leaf(2, undefined)] } }), pass);
        expect((await storage.getGroupLeaves(GROUP))[2]).toEqual(leaf(2, undefined));
        const refuse = (): never => {
          throw new Error('refused');
        };
        await expect(storage.acceptCommit(commit(3, { leaves: { removed: [0, 1], added: [] } }), refuse)).rejects.toThrow('refused');
        expect(await storage.getGroupLeaves(GROUP)).toHaveLength(3);
        expect(await storage.getGroupLeaves(filled(0xa2))).toEqual([]);
      });

      it('lets exactly one of two concurrent commits for the same epoch win', async () => {
        await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
        const results = await Promise.allSettled([
          storage.acceptCommit(commit(0, { add: [bob], welcome: filled(0xe1, 50) }), pass),
          storage.acceptCommit(commit(0, { add: [carol], welcome: filled(0xe2, 50) }), pass),
        ]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected');
        expect(rejected?.status === 'rejected' && rejected.reason).toBeInstanceOf(StaleEpochError);
        expect(rejected?.status === 'rejected' && (rejected.reason as StaleEpochError).currentEpoch).toBe(1);
        const group = await storage.getGroup(GROUP);
        expect(group).toMatchObject({ epoch: 1, lastSeq: 1 });
        expect(group?.members.map((m) => m.joinedSeq)).toEqual([0, 1]);
        await expect(storage.acceptCommit(commit(5), pass)).rejects.toMatchObject({ currentEpoch: 1 });
        await expect(storage.acceptCommit({ ...commit(0), groupId: filled(0xa2) }, pass)).rejects.toBeInstanceOf(StorageNotFoundError);
      });

      it('changes nothing when the check inside the commit transaction throws', async () => {
        await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
        const refuse = (): never => {
          throw new Error('refused');
        };
        await expect(storage.acceptCommit(commit(0, { add: [bob], welcome: filled(0xee) }), refuse)).rejects.toThrow('refused');
        await expect(storage.appendMessage({ groupId: GROUP, epoch: 0, sender: alice, payload: filled(1), createdAt: NOW }, refuse)).rejects.toThrow('refused');
        expect(await storage.getGroup(GROUP)).toMatchObject({ epoch: 0, lastSeq: 0, members: [{ ...alice }] });
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).mailbox).toEqual([]);
        expect((await storage.fetchForDevice(alice, { limit: 10, maxBytes: BIG })).entries).toEqual([]);
      });

      it('finds a message its sender stored, by epoch and exact payload, within the window', async () => {
        await groupWithBob();
        await send(storage, alice, 1); // seq 2
        await send(storage, bob, 2); // seq 3
        await send(storage, alice, 3); // seq 4
        const find = (from: DeviceRef, fill: number, window = 100, epoch = 1) => storage.findSentMessage(GROUP, from, epoch, filled(fill, 30), window);
        expect(await find(alice, 1)).toBe(2);
        expect(await find(alice, 3)).toBe(4);
        // Another sender's, another device's, another epoch's or other bytes are not it.
        expect(await find(alice, 2)).toBeUndefined();
        expect(await find(alice2, 1)).toBeUndefined();
        expect(await find(alice, 1, 100, 2)).toBeUndefined();
        expect(await storage.findSentMessage(GROUP, alice, 1, filled(1, 31), 100)).toBeUndefined();
        // Only the group's last `window` entries are looked at.
        expect(await find(alice, 1, 2)).toBeUndefined();
        expect(await find(alice, 3, 1)).toBe(4);
        expect(await storage.findSentMessage(filled(0xa2), alice, 1, filled(1, 30), 100)).toBeUndefined();
        // Still found once everyone acknowledged it and the log entry is gone: the answer is no read receipt.
        for (const device of [alice, bob]) await storage.advanceCursors(device, [{ groupId: GROUP, seq: 4 }]);
        expect(await storage.collectAcknowledged(GROUP)).toBeGreaterThan(0);
        expect(await find(alice, 1)).toBe(2);
        // Messages that fell out of the sender's window are forgotten when a later one is appended.
        await storage.appendMessage({ groupId: GROUP, epoch: 1, sender: bob, payload: filled(4, 30), createdAt: NOW, resendWindow: 1 }, pass); // seq 5
        expect(await find(alice, 3)).toBeUndefined();
        expect(await find(bob, 4)).toBe(5);
      });

      it("fetches one group's range of unacknowledged entries from others, with no mailbox", async () => {
        await groupWithBob();
        for (const from of [alice, bob, alice, alice]) await send(storage, from, 1); // seq 2..5, bob's own at 3
        const range = async (fromSeq: number, toSeq?: number) =>
          storage.fetchForDevice(bob, { limit: 100, maxBytes: BIG, range: { groupId: GROUP, fromSeq, ...(toSeq === undefined ? {} : { toSeq }) } });
        const all = await range(1);
        expect([all.entries.map((e) => e.seq), all.mailbox, all.gaps, all.more]).toEqual([[2, 4, 5], [], [], false]);
        expect((await range(3, 4)).entries.map((e) => e.seq)).toEqual([4]);
        await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 4 }]);
        expect((await range(1)).entries.map((e) => e.seq)).toEqual([5]);
        expect((await range(1, 4)).entries).toEqual([]);
      });

      it('removes devices: a removal notice, reading up to the removing commit, then nothing', async () => {
        await groupWithBob();
        await send(storage, alice, 1); // seq 2
        const removal = await storage.acceptCommit(commit(1, { remove: [bob] }), pass); // seq 3
        expect(removal.members).toEqual([alice]);
        expect(removal.mailbox.map((m) => [m.recipient, m.kind, m.seq, m.payload])).toEqual([[bob, 'removed', 3, undefined]]);
        await storage.appendMessage({ groupId: GROUP, epoch: 2, sender: alice, payload: filled(2, 30), createdAt: NOW }, pass); // seq 4
        expect(await storage.listDeviceGroups(bob)).toEqual([]);
        const fetched = await storage.fetchForDevice(bob, { limit: 100, maxBytes: BIG });
        expect(fetched.entries.map((e) => [e.seq, e.kind])).toEqual([
          [2, 'message'],
          [3, 'commit'],
        ]);
        expect(fetched.mailbox.map((m) => m.kind)).toEqual(['welcome', 'removed']);
        expect(await storage.listCursors(bob)).toEqual([{ groupId: GROUP, ackedSeq: 1, removedSeq: 3, lastSeq: 4 }]);
        await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 3 }]);
        expect(await storage.listCursors(bob)).toEqual([]);
        expect((await storage.fetchForDevice(bob, { limit: 100, maxBytes: BIG })).entries).toEqual([]);
      });

      it('drops an admin who left and promotes the earliest remaining member when none is left', async () => {
        await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
        await storage.acceptCommit(commit(0, { add: [bob], welcome: filled(0xee) }), pass);
        await storage.acceptCommit(commit(1, { add: [carol, alice2], welcome: filled(0xef) }), pass);
        await storage.addAdmin(GROUP, 'carol');
        await storage.addAdmin(GROUP, 'carol');
        expect((await storage.getGroup(GROUP))?.admins).toEqual(['alice', 'carol']);
        const carolLeaves = await storage.acceptCommit(commit(2, { sender: carol, remove: [carol] }), pass);
        expect(carolLeaves.admins).toEqual(['alice']);
        // Alice removes one device: still a member, still an admin.
        expect((await storage.acceptCommit(commit(3, { remove: [alice2] }), pass)).admins).toEqual(['alice']);
        const aliceLeaves = await storage.acceptCommit(commit(4, { remove: [alice] }), pass);
        expect(aliceLeaves.members).toEqual([bob]);
        expect(aliceLeaves.admins).toEqual(['bob']);
        expect((await storage.getGroup(GROUP))?.admins).toEqual(['bob']);
      });

      it('lets a user leave: every device unrouted with a notice, admin handed on, others unaffected', async () => {
        await groupWithBob();
        await storage.acceptCommit(commit(1, { add: [alice2], welcome: filled(0xef) }), pass); // seq 2
        await send(storage, bob, 1); // seq 3
        const left = await storage.leaveGroup(GROUP, 'alice', NOW);
        expect(left.members).toEqual([bob]);
        expect(left.mailbox.map((m) => [m.recipient.deviceId, m.kind, m.seq]).sort()).toEqual([
          [alice.deviceId, 'removed', 3],
          [alice2.deviceId, 'removed', 3],
        ].sort());
        expect((await storage.getGroup(GROUP))?.admins).toEqual(['bob']);
        expect(await storage.listDeviceGroups(alice)).toEqual([]);
        await send(storage, bob, 2); // seq 4: alice no longer gets it
        const fetched = await storage.fetchForDevice(alice, { limit: 100, maxBytes: BIG });
        expect(fetched.entries.map((e) => e.seq)).toEqual([3]);
        await expect(storage.leaveGroup(filled(0xa2), 'alice', NOW)).rejects.toBeInstanceOf(StorageNotFoundError);
      });

      it('skips the oldest entries for a device past its backlog quota, and reports them once as a quota gap', async () => {
        await groupWithBob(); // seq 1
        for (let i = 0; i < 6; i++) {
          await storage.appendMessage({ groupId: GROUP, epoch: 1, sender: alice, payload: filled(i, 30), createdAt: NOW, backlogQuota: 3 }, pass); // seq 2..7
        }
        const fetched = await storage.fetchForDevice(bob, { limit: 100, maxBytes: BIG });
        expect(fetched.entries.map((e) => e.seq)).toEqual([5, 6, 7]);
        expect(fetched.gaps).toEqual([{ groupId: GROUP, fromSeq: 2, toSeq: 4, reason: 'quota' }]);
        // Alice, who sent them, is unaffected.
        expect((await storage.fetchForDevice(alice, { limit: 100, maxBytes: BIG })).gaps).toEqual([]);
        await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 7 }]);
        expect((await storage.fetchForDevice(bob, { limit: 100, maxBytes: BIG })).gaps).toEqual([]);
      });

      it('re-adds a device with its cursor at the commit (external rejoin) without a mailbox entry', async () => {
        await groupWithBob();
        await send(storage, alice, 1); // seq 2
        const rejoin = await storage.acceptCommit(commit(1, { sender: bob, add: [bob] }), pass); // seq 3
        expect(rejoin.mailbox).toEqual([]);
        expect((await storage.getGroup(GROUP))?.members).toEqual([
          { ...alice, ackedSeq: 2, joinedSeq: 0 },
          { ...bob, ackedSeq: 3, joinedSeq: 3 },
        ]);
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).entries).toEqual([]);
      });

      it('counts the groups each user is in', async () => {
        await groupWithBob();
        await storage.createGroup({ groupId: filled(0xa2), kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: leaf(0, alice), createdAt: NOW });
        await storage.acceptCommit({ ...commit(0, { add: [alice2], welcome: filled(0xee, 50) }), groupId: filled(0xa2) }, pass);
        expect(await storage.countUserGroups(['alice', 'bob', 'carol'])).toEqual(new Map([['alice', 2], ['bob', 1]]));
        await storage.leaveGroup(GROUP, 'bob', NOW);
        expect(await storage.countUserGroups(['bob'])).toEqual(new Map());
        expect(await storage.countUserGroups([])).toEqual(new Map());
        await storage.acceptCommit(commit(1, { add: [bob], welcome: filled(0xef, 50) }), pass);
        expect(await storage.countUserGroups(['bob'])).toEqual(new Map([['bob', 1]]));
      });
    });

    describe('delivery', () => {
      it('keeps one ordered log per group and fetches after the cursor, within the limit', async () => {
        await groupWithBob();
        const seqs = [];
        for (let i = 0; i < 5; i++) seqs.push(await send(storage, alice, 10 + i));
        expect(seqs).toEqual([2, 3, 4, 5, 6]);
        const page = await storage.fetchForDevice(bob, { limit: 3, maxBytes: BIG }); // one welcome, then two entries
        expect(page.mailbox).toHaveLength(1);
        expect(page.entries.map((e) => e.seq)).toEqual([2, 3]);
        expect(page.entries[0]).toEqual({ groupId: GROUP, seq: 2, kind: 'message', epoch: 1, sender: alice, createdAt: NOW, payload: filled(10, 30) });
        expect(page.more).toBe(true);
        expect(await storage.deleteMailbox(bob, [page.mailbox[0]?.id ?? -1])).toBe(1);
        await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 3 }]);
        const rest = await storage.fetchForDevice(bob, { limit: 3, maxBytes: BIG });
        expect(rest.entries.map((e) => e.seq)).toEqual([4, 5, 6]);
        expect(rest.more).toBe(false);
        expect((await storage.fetchForDevice(bob, { limit: 1, maxBytes: BIG })).more).toBe(true);
        expect(rest.gaps).toEqual([]);
      });

      it('keeps a fetch within its byte budget, though it always returns something', async () => {
        await groupWithBob(); // Bob's mailbox holds a 50-byte Welcome
        for (let i = 0; i < 3; i++) await send(storage, alice, i); // seq 2..4, 30 bytes each
        const perEntry = 256; // the allowance for everything around a payload
        const two = await storage.fetchForDevice(bob, { limit: 100, maxBytes: 50 + 30 + 2 * perEntry + 10 });
        expect([two.mailbox.length, two.entries.map((e) => e.seq), two.more]).toEqual([1, [2], true]);
        expect(two.entries[0]?.payload).toEqual(filled(0, 30));
        const one = await storage.fetchForDevice(bob, { limit: 100, maxBytes: 1 });
        expect([one.mailbox.length, one.entries.length, one.more]).toEqual([1, 0, true]);
        await storage.deleteMailbox(bob, [one.mailbox[0]?.id ?? -1]);
        const next = await storage.fetchForDevice(bob, { limit: 100, maxBytes: 1 });
        expect([next.mailbox.length, next.entries.map((e) => e.seq), next.more]).toEqual([0, [2], true]);
        const all = await storage.fetchForDevice(bob, { limit: 100, maxBytes: BIG });
        expect([all.entries.map((e) => e.seq), all.more]).toEqual([[2, 3, 4], false]);
      });

      it("leaves a device's own entries out, and moves its cursor past them when it was caught up", async () => {
        await groupWithBob();
        await send(storage, bob, 1); // seq 2: Bob was at 1, so his cursor moves to 2
        await send(storage, alice, 2); // seq 3: Alice was at 1 (past her commit), so hers stays
        expect((await storage.listCursors(bob))[0]?.ackedSeq).toBe(2);
        expect((await storage.listCursors(alice))[0]?.ackedSeq).toBe(1);
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).entries.map((e) => e.seq)).toEqual([3]);
        expect((await storage.fetchForDevice(alice, { limit: 10, maxBytes: BIG })).entries.map((e) => e.seq)).toEqual([2]);
        await storage.acceptCommit(commit(1, { sender: bob }), pass); // seq 4
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).entries.map((e) => e.seq)).toEqual([3]);
      });

      it('moves cursors only forward', async () => {
        await groupWithBob();
        await send(storage, alice, 1);
        await send(storage, alice, 2);
        await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 3 }]);
        await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 2 }]);
        expect(await storage.listCursors(bob)).toEqual([{ groupId: GROUP, ackedSeq: 3, removedSeq: undefined, lastSeq: 3 }]);
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).entries).toEqual([]);
      });

      it('deletes only log entries every routed device acknowledged', async () => {
        await groupWithBob(); // seq 1; both cursors at 1
        for (let i = 0; i < 3; i++) await send(storage, bob, i); // seq 2..4; Bob's cursor follows
        expect(await storage.collectAcknowledged(GROUP)).toBe(1); // Alice is still at 1
        expect(await storage.collectAcknowledged(GROUP)).toBe(0);
        await storage.advanceCursors(alice, [{ groupId: GROUP, seq: 3 }]);
        expect(await storage.collectAcknowledged(GROUP)).toBe(2); // seq 2..3
        expect((await storage.fetchForDevice(alice, { limit: 10, maxBytes: BIG })).entries.map((e) => e.seq)).toEqual([4]);
        expect((await storage.fetchForDevice(alice, { limit: 10, maxBytes: BIG })).gaps).toEqual([]);
      });

      it('deletes entries past retention and reports the gap to devices that had not read them', async () => {
        await groupWithBob();
        await send(storage, alice, 1, NOW + 10); // seq 2
        await send(storage, alice, 2, NOW + 20); // seq 3
        await send(storage, alice, 3, NOW + 30); // seq 4
        expect(await storage.deleteLogBefore(NOW + 25)).toBe(3); // seq 1..3
        const bobs = await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG });
        expect(bobs.entries.map((e) => e.seq)).toEqual([4]);
        expect(bobs.gaps).toEqual([{ groupId: GROUP, fromSeq: 2, toSeq: 3, reason: 'retention' }]);
        expect((await storage.fetchForDevice(alice, { limit: 10, maxBytes: BIG })).gaps).toEqual([]); // she had sent them all
        expect(await storage.deleteLogBefore(NOW + 100)).toBe(1);
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).gaps).toEqual([{ groupId: GROUP, fromSeq: 2, toSeq: 4, reason: 'retention' }]);
        await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 4 }]);
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).gaps).toEqual([]);
      });

      it("deletes acknowledged mailbox entries, and only the device's own", async () => {
        await groupWithBob();
        const [welcome] = (await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).mailbox;
        const id = welcome?.id ?? -1;
        expect(await storage.deleteMailbox(alice, [id])).toBe(0);
        expect(await storage.deleteMailbox(bob, [id, id + 1000])).toBe(1);
        expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).mailbox).toEqual([]);
      });

      it('acknowledges in one transaction: cursors, mailbox and collection together, or nothing when the check refuses', async () => {
        await groupWithBob(); // seq 1; Bob has a Welcome
        await send(storage, alice, 1); // seq 2
        await send(storage, alice, 2); // seq 3
        const welcome = (await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).mailbox[0]?.id ?? -1;
        const refusal = new Error('refused');
        const seen: unknown[] = [];
        const refused = storage.acknowledge(bob, { cursors: [{ groupId: GROUP, seq: 3 }], mailbox: [welcome] }, (cursors) => {
          seen.push(...cursors);
          throw refusal;
        });
        await expect(refused).rejects.toBe(refusal);
        expect(seen).toEqual([{ groupId: GROUP, ackedSeq: 1, removedSeq: undefined, lastSeq: 3 }]);
        const untouched = await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG });
        expect([untouched.mailbox.map((m) => m.id), untouched.entries.map((e) => e.seq)]).toEqual([[welcome], [2, 3]]);

        expect(await storage.acknowledge(bob, { cursors: [{ groupId: GROUP, seq: 2 }], mailbox: [welcome] }, () => undefined)).toEqual({ mailbox: 1, entries: 2 });
        expect(await storage.listCursors(bob)).toEqual([{ groupId: GROUP, ackedSeq: 2, removedSeq: undefined, lastSeq: 3 }]);
        const left = await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG });
        expect([left.mailbox, left.entries.map((e) => e.seq), left.gaps]).toEqual([[], [3], []]);
      });

      it('refuses a message for a missing group', async () => {
        await expect(storage.appendMessage({ groupId: GROUP, epoch: 0, sender: alice, payload: filled(1), createdAt: NOW }, pass)).rejects.toBeInstanceOf(
          StorageNotFoundError,
        );
      });
    });
  });
}
