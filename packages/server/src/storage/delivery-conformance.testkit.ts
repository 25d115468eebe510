/** Storage conformance for delivery (DESIGN §6): per-device fetches, cursors, mailboxes, acknowledgement, retention and gaps. */
import { beforeEach, describe, expect, it } from 'vitest';
import { alice, BIG, bob, commit, filled, GROUP, groupWithBob, NOW, pass, send } from './messaging-fixtures.testkit.js';
import { StorageNotFoundError, type Storage } from './types.js';

export function runDeliveryConformance(current: () => Storage): void {
  describe('delivery', () => {
    let storage: Storage;
    beforeEach(() => {
      storage = current();
    });

    it('keeps one ordered log per group and fetches after the cursor, within the limit', async () => {
      await groupWithBob(storage);
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
      await groupWithBob(storage); // Bob's mailbox holds a 50-byte Welcome
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
      await groupWithBob(storage);
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
      await groupWithBob(storage);
      await send(storage, alice, 1);
      await send(storage, alice, 2);
      await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 3 }]);
      await storage.advanceCursors(bob, [{ groupId: GROUP, seq: 2 }]);
      expect(await storage.listCursors(bob)).toEqual([{ groupId: GROUP, ackedSeq: 3, removedSeq: undefined, lastSeq: 3 }]);
      expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).entries).toEqual([]);
    });

    it('deletes only log entries every routed device acknowledged', async () => {
      await groupWithBob(storage); // seq 1; both cursors at 1
      for (let i = 0; i < 3; i++) await send(storage, bob, i); // seq 2..4; Bob's cursor follows
      expect(await storage.collectAcknowledged(GROUP)).toBe(1); // Alice is still at 1
      expect(await storage.collectAcknowledged(GROUP)).toBe(0);
      await storage.advanceCursors(alice, [{ groupId: GROUP, seq: 3 }]);
      expect(await storage.collectAcknowledged(GROUP)).toBe(2); // seq 2..3
      expect((await storage.fetchForDevice(alice, { limit: 10, maxBytes: BIG })).entries.map((e) => e.seq)).toEqual([4]);
      expect((await storage.fetchForDevice(alice, { limit: 10, maxBytes: BIG })).gaps).toEqual([]);
    });

    it('deletes entries past retention and reports the gap to devices that had not read them', async () => {
      await groupWithBob(storage);
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
      await groupWithBob(storage);
      const [welcome] = (await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).mailbox;
      const id = welcome?.id ?? -1;
      expect(await storage.deleteMailbox(alice, [id])).toBe(0);
      expect(await storage.deleteMailbox(bob, [id, id + 1000])).toBe(1);
      expect((await storage.fetchForDevice(bob, { limit: 10, maxBytes: BIG })).mailbox).toEqual([]);
    });

    it('acknowledges in one transaction: cursors, mailbox and collection together, or nothing when the check refuses', async () => {
      await groupWithBob(storage); // seq 1; Bob has a Welcome
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
}
