import { describe, expect, it } from 'vitest';
import { Budgets, RateLimiter, TokenBucket } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst of `rate`, then refills continuously and tells how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter(3, 60_000, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([undefined, undefined, undefined]);
    expect(limiter.take('a')).toBe(20_000);
    expect(limiter.take('b')).toBeUndefined(); // keys are independent
    now = 19_999;
    expect(limiter.take('a')).toBe(1);
    now = 20_000;
    expect(limiter.take('a')).toBeUndefined();
    now = 10 * 60_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([undefined, undefined, undefined, 20_000]);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then `perSecond` a second, and tells how long to wait', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([undefined, undefined, undefined, 100]);
    now = 100;
    expect([bucket.take(), bucket.take()]).toEqual([undefined, 100]);
    now = 60_000;
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([undefined, undefined, undefined, 100]);
  });
});

describe('Budgets', () => {
  it('lets a key overspend once, then makes it wait until the budget refills', () => {
    let now = 0;
    const budgets = new Budgets(1000, 3000, () => now);
    expect(budgets.wait('a')).toBeUndefined();
    budgets.spend('a', 5000); // 2000 in debt
    expect(budgets.wait('a')).toBe(2001);
    expect(budgets.wait('b')).toBeUndefined(); // keys are independent
    now = 2001;
    expect(budgets.wait('a')).toBeUndefined();
    budgets.spend('a', 1);
    now = 60_000;
    budgets.spend('a', 3000); // refilled only up to the burst
    expect(budgets.wait('a')).toBe(1);
  });
});
