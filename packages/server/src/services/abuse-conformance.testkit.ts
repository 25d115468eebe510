/** The abuse store conformance suite: memory and Redis pass it unchanged (STYLE §2). Real time, short durations. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AbuseStore, StrikePolicy } from './abuse-store.js';

/** Two handles on one store, as two server nodes see it (the same object for an in-memory store). */
export interface AbuseStorePair {
  a: AbuseStore;
  b: AbuseStore;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function runAbuseStoreConformance(name: string, open: () => Promise<AbuseStorePair>): void {
  describe(`abuse store conformance: ${name}`, () => {
    let pair: AbuseStorePair;
    let prefix = 0;
    /** A fresh address per test, so tests never see each other's strikes. */
    const address = () => `198.51.100.${++prefix}-${Math.random().toString(36).slice(2, 8)}`;
    beforeEach(async () => {
      pair = await open();
    });
    afterEach(async () => {
      await pair.close();
    });

    it('counts strikes across nodes and bans exactly once, at the limit', async () => {
      const ip = address();
      const policy: StrikePolicy = { limit: 3, windowMs: 10_000, banMs: 10_000 };
      expect(await pair.a.strike(ip, policy)).toEqual({ strikes: 1, newlyBanned: false });
      expect(await pair.b.strike(ip, policy)).toEqual({ strikes: 2, newlyBanned: false });
      expect(await pair.b.bannedFor(ip)).toBeUndefined();
      const third = await pair.a.strike(ip, policy);
      expect(third).toMatchObject({ strikes: 3, newlyBanned: true });
      expect(third.bannedForMs).toBeGreaterThan(9_000);
      const banned = await pair.b.bannedFor(ip);
      expect(banned).toBeGreaterThan(9_000);
      expect(banned).toBeLessThanOrEqual(10_000);
      // A banned address counts no more strikes and is not banned again.
      const more = await pair.b.strike(ip, policy);
      expect(more).toMatchObject({ strikes: 0, newlyBanned: false });
      expect(more.bannedForMs).toBeGreaterThan(0);
      expect(await pair.a.bannedFor(address())).toBeUndefined();
    });

    it('bans once when many strikes race', async () => {
      const ip = address();
      const policy: StrikePolicy = { limit: 5, windowMs: 10_000, banMs: 10_000 };
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? pair.a : pair.b).strike(ip, policy)));
      expect(results.filter((result) => result.newlyBanned)).toHaveLength(1);
      expect(results.filter((result) => result.strikes > 0)).toHaveLength(5);
    });

    it('forgets strikes when the window ends, and lifts bans when they expire', async () => {
      const ip = address();
      const policy: StrikePolicy = { limit: 2, windowMs: 150, banMs: 300 };
      await pair.a.strike(ip, policy);
      await sleep(250);
      expect(await pair.b.strike(ip, policy)).toEqual({ strikes: 1, newlyBanned: false });
      expect((await pair.a.strike(ip, policy)).newlyBanned).toBe(true);
      expect(await pair.b.bannedFor(ip)).toBeGreaterThan(0);
      await sleep(400);
      expect(await pair.b.bannedFor(ip)).toBeUndefined();
      expect(await pair.a.strike(ip, policy)).toEqual({ strikes: 1, newlyBanned: false });
    });

    it('unban lifts a ban and forgets the strikes', async () => {
      const ip = address();
      const policy: StrikePolicy = { limit: 2, windowMs: 10_000, banMs: 10_000 };
      await pair.a.strike(ip, policy);
      await pair.a.strike(ip, policy);
      expect(await pair.b.bannedFor(ip)).toBeGreaterThan(0);
      await pair.b.unban(ip);
      expect(await pair.a.bannedFor(ip)).toBeUndefined();
      expect(await pair.a.strike(ip, policy)).toEqual({ strikes: 1, newlyBanned: false });
    });

    it('counts failures across nodes, forgetting them only after a quiet spell', async () => {
      const account = `account-${address()}`;
      const ttlMs = 600;
      expect(await pair.a.failures(account)).toBe(0);
      expect(await pair.a.countFailure(account, ttlMs)).toBe(1);
      expect(await pair.b.countFailure(account, ttlMs)).toBe(2);
      await sleep(400);
      // Each failure renews the memory of all: failures that keep coming keep counting up.
      expect(await pair.a.countFailure(account, ttlMs)).toBe(3);
      await sleep(400);
      expect(await pair.b.failures(account)).toBe(3);
      const raced = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? pair.a : pair.b).countFailure(account, ttlMs)));
      expect([...raced].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 4));
      expect(await pair.a.failures(`account-${address()}`)).toBe(0);
      await sleep(ttlMs + 300);
      expect(await pair.a.failures(account)).toBe(0);
      expect(await pair.b.countFailure(account, ttlMs)).toBe(1);
    });

    it('lets a token be used once across nodes, until it expires', async () => {
      const token = `nonce-${address()}`;
      expect(await pair.a.useOnce(token, 200)).toBe(true);
      expect(await pair.b.useOnce(token, 200)).toBe(false);
      expect(await pair.a.useOnce(token, 200)).toBe(false);
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? pair.a : pair.b).useOnce(`${token}-raced`, 10_000)));
      expect(many.filter(Boolean)).toHaveLength(1);
      await sleep(300);
      expect(await pair.b.useOnce(token, 200)).toBe(true);
    });
  });
}
