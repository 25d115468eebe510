/** @module A token bucket per key (e.g. per account): `rate` tokens per `perMs`, bursts up to `rate`. */

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
