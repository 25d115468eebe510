/** @module Token buckets: one per key (e.g. per account) in `RateLimiter`, or a single `TokenBucket` (e.g. per connection); `Budgets` for amounts spent after the fact. */

// Past this many keys, buckets that have refilled completely are forgotten (they carry no state).
const PRUNE_AT = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly perMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token for `key`: undefined when allowed, else the milliseconds until one is available. */
  take(key: string): number | undefined {
    const now = this.now();
    if (this.buckets.size > PRUNE_AT) this.prune(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.rate, at: now };
    bucket.tokens = Math.min(this.rate, bucket.tokens + ((now - bucket.at) * this.rate) / this.perMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - bucket.tokens) * this.perMs) / this.rate);
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) * this.rate) / this.perMs >= this.rate) this.buckets.delete(key);
    }
  }
}

/** One token bucket (e.g. per connection): `perSecond` tokens a second, bursts up to `burst`. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes a token: undefined when allowed, else the milliseconds until one is available. */
  take(): number | undefined {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }
}

/**
 * Per-key budgets of something measured after the fact (e.g. bytes sent): `perSecond` refills a
 * second, up to `burst`. A key may overspend once; while in debt it waits until the budget refills.
 */
export class Budgets {
  private readonly left = new Map<string, { amount: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Undefined when `key` may go on, else the milliseconds until its budget is positive again. */
  wait(key: string): number | undefined {
    const amount = this.refilled(key);
    return amount > 0 ? undefined : Math.ceil(((1 - amount) * 1000) / this.perSecond);
  }

  spend(key: string, amount: number): void {
    this.left.set(key, { amount: this.refilled(key) - amount, at: this.now() });
  }

  private refilled(key: string): number {
    const now = this.now();
    if (this.left.size > PRUNE_AT) {
      for (const [other, { amount, at }] of this.left) if (amount + ((now - at) * this.perSecond) / 1000 >= this.burst) this.left.delete(other);
    }
    const entry = this.left.get(key);
    return entry === undefined ? this.burst : Math.min(this.burst, entry.amount + ((now - entry.at) * this.perSecond) / 1000);
  }
}
