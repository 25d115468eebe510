/** Storage conformance for groups (DESIGN §6): creation, commits and the first-wins epoch rule, leaves, admins, leaving, sends. */
import type { DeviceRef } from '@parley/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { alice, alice2, BIG, bob, carol, commit, filled, GROUP, groupWithBob, leaf, NOW, pass, send } from './messaging-fixtures.testkit.js';
import { StaleEpochError, StorageConflictError, StorageNotFoundError, type Storage } from './types.js';

export function runGroupConformance(current: () => Storage): void {
  describe('groups', () => {
    let storage: Storage;
    beforeEach(() => {
      storage = current();
    });

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
      await groupWithBob(storage);
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
      await groupWithBob(storage);
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
      await groupWithBob(storage);
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
      await groupWithBob(storage);
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
      await groupWithBob(storage); // seq 1
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
      await groupWithBob(storage);
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
      await groupWithBob(storage);
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
}
