/** The messaging part of the storage conformance suite (KeyPackages, groups, delivery); run by runStorageConformance. */
import { beforeEach, describe, expect, it } from 'vitest';
import { runDeliveryConformance } from './delivery-conformance.testkit.js';
import { runGroupConformance } from './group-conformance.testkit.js';
import { bob, carol, filled, kp, NOW, seedUsers } from './messaging-fixtures.testkit.js';
import type { Storage } from './types.js';

/** Runs inside the storage conformance suite, on the fresh storage its `beforeEach` opened. */
export function runMessagingConformance(current: () => Storage): void {
  describe('messaging', () => {
    let storage: Storage;
    beforeEach(async () => {
      storage = current();
      await seedUsers(storage);
    });

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

    runGroupConformance(() => storage);
    runDeliveryConformance(() => storage);
  });
}
