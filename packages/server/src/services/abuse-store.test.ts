import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { runAbuseStoreConformance } from './abuse-conformance.testkit.js';
import { FallbackAbuseStore, MemoryAbuseStore, type AbuseStore } from './abuse-store.js';

// One process is one node: both handles are the same store.
runAbuseStoreConformance('in memory', async () => {
  const store = new MemoryAbuseStore();
  return { a: store, b: store, close: () => store.close() };
});

describe('MemoryAbuseStore', () => {
  it('stays bounded however many addresses strike', async () => {
    let now = 0;
    const store = new MemoryAbuseStore(() => now);
    for (let i = 0; i < 120_000; i++) await store.strike(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, { limit: 5, windowMs: 60_000, banMs: 60_000 });
    const sizes = store as unknown as { strikes: { size: number } };
    expect(sizes.strikes.size).toBeLessThanOrEqual(50_000);
    now = 61_000;
    expect(await store.strike('10.0.0.1', { limit: 5, windowMs: 60_000, banMs: 60_000 })).toEqual({ strikes: 1, newlyBanned: false });
  });
});

describe('FallbackAbuseStore', () => {
  it("uses the node's memory while the shared store fails, and says so once", async () => {
    let broken = true;
    const shared = new MemoryAbuseStore();
    const failing: AbuseStore = {
      strike: (key, policy) => (broken ? Promise.reject(new Error('redis down')) : shared.strike(key, policy)),
      bannedFor: (key) => (broken ? Promise.reject(new Error('redis down')) : shared.bannedFor(key)),
      unban: (key) => (broken ? Promise.reject(new Error('redis down')) : shared.unban(key)),
      useOnce: (token, ttl) => (broken ? Promise.reject(new Error('redis down')) : shared.useOnce(token, ttl)),
      countFailure: (key, ttl) => (broken ? Promise.reject(new Error('redis down')) : shared.countFailure(key, ttl)),
      failures: (key) => (broken ? Promise.reject(new Error('redis down')) : shared.failures(key)),
      close: async () => undefined,
    };
    let logged = '';
    const log = createLogger('debug', new Writable({ write: (chunk: Buffer, _encoding, done) => ((logged += chunk.toString()), done()) }));
    const store = new FallbackAbuseStore(failing, new MemoryAbuseStore(), log);
    const policy = { limit: 2, windowMs: 10_000, banMs: 10_000 };
    await store.strike('a', policy);
    expect((await store.strike('a', policy)).newlyBanned).toBe(true);
    expect(await store.bannedFor('a')).toBeGreaterThan(0);
    expect(await store.useOnce('n', 1000)).toBe(true);
    expect(await store.useOnce('n', 1000)).toBe(false);
    expect(await store.countFailure('account:x', 10_000)).toBe(1);
    expect(await store.failures('account:x')).toBe(1);
    expect(logged.match(/abuse\.store\.failed/g)).toHaveLength(1);
    broken = false;
    expect(await store.bannedFor('a')).toBeUndefined();
    expect(logged).toContain('abuse.store.recovered');
  });
});
