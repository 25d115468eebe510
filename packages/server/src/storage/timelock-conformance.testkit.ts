/** The time-lock half of the storage conformance suite (DESIGN §8); run by runStorageConformance on every adapter. */
import type { DeviceRef } from '@parley/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import type { NewTimelock, TimelockModulusRecord } from './timelock-types.js';
import type { GroupCheck, Storage } from './types.js';

const filled = (fill: number, length = 16) => new Uint8Array(length).fill(fill);
const alice: DeviceRef = { username: 'alice', deviceId: 'alice-dev1' };
const bob: DeviceRef = { username: 'bob', deviceId: 'bob-dev-1' };
const carol: DeviceRef = { username: 'carol', deviceId: 'carol-dev1' };
const GROUP = filled(0xb1);
const OTHER_GROUP = filled(0xb2);
const NOW = 1_700_000_000_000;
const pass: GroupCheck = () => undefined;

const modulus = (fill: number, createdAt: number): TimelockModulusRecord => ({ id: filled(fill), modulus: filled(fill, 256), sealedTrapdoor: filled(fill, 300), createdAt });

const lock = (fill: number, fields: Partial<NewTimelock> = {}): NewTimelock => ({
  lockId: filled(fill),
  groupId: GROUP,
  creator: alice,
  modulusId: filled(1),
  base: filled(fill, 256),
  squarings: 2 ** 40 + fill,
  maskedKey: filled(fill, 32),
  unlockAt: NOW + fill * 1000,
  createdAt: NOW,
  ...fields,
});

export function runTimelockConformance(current: () => Storage): void {
  describe('time locks', () => {
    let storage: Storage;
    beforeEach(async () => {
      storage = current();
      // Alice's group with Bob and Carol at epoch 2 (seq 2); another group of Alice's alone.
      await storage.createGroup({ groupId: GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: { leafIndex: 0, signatureKey: filled(0xa0, 32), device: alice }, createdAt: NOW });
      await storage.acceptCommit({ groupId: GROUP, epoch: 0, sender: alice, commit: filled(0xc0, 40), groupInfo: filled(0xd1, 60), createdAt: NOW, add: [bob, carol], remove: [], leaves: { removed: [], added: [{ leafIndex: 1, signatureKey: filled(0xa1, 32), device: bob }, { leafIndex: 2, signatureKey: filled(0xa2, 32), device: carol }] }, welcome: filled(0xee, 50) }, pass);
      await storage.createGroup({ groupId: OTHER_GROUP, kind: 'group', groupInfo: filled(0xd0, 60), creator: alice, creatorLeaf: { leafIndex: 0, signatureKey: filled(0xa0, 32), device: alice }, createdAt: NOW });
    });

    it('keeps moduli newest first, and retires old ones only once none of their locks is pending', async () => {
      await storage.addTimelockModulus(modulus(1, NOW));
      await storage.addTimelockModulus(modulus(2, NOW + 10));
      expect(await storage.listTimelockModuli()).toEqual([modulus(2, NOW + 10), modulus(1, NOW)]);
      await storage.addTimelock(lock(5, { modulusId: filled(1) }));
      expect(await storage.retireTimelockModuli(NOW + 100)).toBe(1);
      expect((await storage.listTimelockModuli()).map((m) => m.createdAt)).toEqual([NOW]);
      await storage.releaseTimelock(filled(5), { key: filled(9, 32), payload: filled(8, 40), at: NOW + 5_000 });
      expect(await storage.retireTimelockModuli(NOW)).toBe(0);
      expect(await storage.retireTimelockModuli(NOW + 100)).toBe(1);
      expect(await storage.listTimelockModuli()).toEqual([]);
    });

    it('stores locks and finds the due ones, earliest first', async () => {
      expect(await storage.nextTimelockUnlock()).toBeUndefined();
      for (const fill of [3, 1, 2]) await storage.addTimelock(lock(fill));
      await storage.addTimelock(lock(4, { creator: bob, groupId: OTHER_GROUP }));
      expect(await storage.getTimelocks([filled(2), filled(4), filled(99)])).toEqual(
        expect.arrayContaining([{ ...lock(2), released: undefined }, { ...lock(4, { creator: bob, groupId: OTHER_GROUP }), released: undefined }]),
      );
      expect(await storage.getTimelocks([])).toEqual([]);
      expect(await storage.countPendingTimelocks('alice')).toBe(3);
      expect(await storage.nextTimelockUnlock()).toBe(NOW + 1000);
      expect((await storage.dueTimelocks(NOW + 2000, 10)).map((l) => l.lockId[0])).toEqual([1, 2]);
      expect((await storage.dueTimelocks(NOW + 10_000, 2)).map((l) => l.lockId[0])).toEqual([1, 2]);
      expect(await storage.dueTimelocks(NOW, 10)).toEqual([]);
    });

    it('releases once, to the devices routed in the group at that moment, through their mailboxes', async () => {
      await storage.addTimelock(lock(1));
      // Carol is removed before the release: she gets nothing.
      await storage.acceptCommit({ groupId: GROUP, epoch: 1, sender: alice, commit: filled(0xc1, 40), groupInfo: filled(0xd2, 60), createdAt: NOW, add: [], remove: [carol], leaves: { removed: [2], added: [] } }, pass);
      const payload = filled(0x77, 60);
      const queued = await storage.releaseTimelock(filled(1), { key: filled(9, 32), payload, at: NOW + 1000 });
      expect(queued?.map((entry) => entry.recipient)).toEqual([alice, bob]);
      for (const entry of queued ?? []) {
        expect(entry).toMatchObject({ kind: 'release', groupId: GROUP, seq: 2, sender: alice, createdAt: NOW + 1000, payload });
      }
      // A second node releasing the same lock finds it taken.
      expect(await storage.releaseTimelock(filled(1), { key: filled(9, 32), payload, at: NOW + 1001 })).toBeUndefined();
      expect((await storage.getTimelocks([filled(1)]))[0]?.released).toEqual({ at: NOW + 1000, key: filled(9, 32) });
      expect(await storage.countPendingTimelocks('alice')).toBe(0);
      expect(await storage.dueTimelocks(NOW + 10_000, 10)).toEqual([]);

      const bobFetch = await storage.fetchForDevice(bob, { limit: 100, maxBytes: 1 << 20 });
      expect(bobFetch.mailbox.filter((entry) => entry.kind === 'release').map((entry) => entry.payload)).toEqual([payload]);
      const carolFetch = await storage.fetchForDevice(carol, { limit: 100, maxBytes: 1 << 20 });
      expect(carolFetch.mailbox.filter((entry) => entry.kind === 'release')).toEqual([]);
    });

    it('drops released locks past retention, never pending ones', async () => {
      await storage.addTimelock(lock(1));
      await storage.addTimelock(lock(2));
      await storage.releaseTimelock(filled(1), { key: filled(9, 32), payload: filled(8, 40), at: NOW + 1000 });
      expect(await storage.deleteReleasedTimelocks(NOW + 1000)).toBe(0);
      expect(await storage.deleteReleasedTimelocks(NOW + 1001)).toBe(1);
      expect((await storage.getTimelocks([filled(1), filled(2)])).map((l) => l.lockId[0])).toEqual([2]);
    });
  });
}
