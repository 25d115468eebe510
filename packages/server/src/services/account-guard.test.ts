/** Failed proofs per account: free at first, then a bit more proof of work each, capped, forgotten after quiet. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { AccountGuard, accountDifficulty } from './account-guard.js';
import { MemoryAbuseStore } from './abuse-store.js';

describe('AccountGuard', () => {
  it('asks nothing for the free failures, then one bit more per failure from 10, up to the cap', () => {
    const options = { freeFailures: 3, maxDifficulty: 14 };
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100].map((failures) => accountDifficulty(failures, options))).toEqual([0, 0, 0, 0, 10, 11, 12, 13, 14, 14, 14]);
    expect(accountDifficulty(4, { freeFailures: 3, maxDifficulty: 8 })).toBe(8);
  });

  it('counts failures per account and forgets them after a quiet window', async () => {
    let now = 0;
    const guard = new AccountGuard(new MemoryAbuseStore(() => now), { freeFailures: 1, windowMs: 60_000, maxDifficulty: 20 }, createLogger('silent'));
    await guard.failed('alice');
    await guard.failed('alice');
    await guard.failed('alice');
    expect(await guard.difficulty('alice')).toBe(11);
    expect(await guard.difficulty('bob')).toBe(0);
    now += 59_000;
    await guard.failed('alice'); // still coming: still counted, and remembered a window longer
    now += 59_000;
    expect(await guard.difficulty('alice')).toBe(12);
    now += 2_000;
    expect(await guard.difficulty('alice')).toBe(0);
  });
});
