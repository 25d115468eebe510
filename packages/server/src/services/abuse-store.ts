/**
 * @module Where strikes, bans, failure counts and spent proof-of-work nonces are kept (DESIGN §10). In memory by
 * default; `abuse-redis.ts` keeps them in Redis so every node of a deployment shares them. Both
 * pass `runAbuseStoreConformance`. Each implementation keeps its own clock: callers pass
 * durations, never instants, so nodes with skewed clocks still agree.
 */
import type { Logger } from '../logger.js';

export interface StrikePolicy {
  /** Strikes within `windowMs` that ban the key. */
  limit: number;
  /** The window starts at the first strike and lasts this long (a fixed window). */
  windowMs: number;
  /** How long a ban lasts. */
  banMs: number;
}

export interface StrikeResult {
  /** Strikes counted in the current window, this one included (0 when already banned). */
  strikes: number;
  /** When the key is banned: milliseconds left on the ban. */
  bannedForMs?: number;
  /** This strike is the one that banned the key (exactly one caller sees true per ban). */
  newlyBanned: boolean;
}

export interface AbuseStore {
  /** Counts a strike against `key` (an address); the `limit`-th strike within the window bans it. A banned key counts no strikes. */
  strike(key: string, policy: StrikePolicy): Promise<StrikeResult>;
  /** Milliseconds left on `key`'s ban, or undefined if it is not banned. */
  bannedFor(key: string): Promise<number | undefined>;
  /** Lifts a ban and forgets the key's strikes. */
  unban(key: string): Promise<void>;
  /** True the first time `token` is used within `ttlMs`, false on every later use: single use across nodes. */
  useOnce(token: string, ttlMs: number): Promise<boolean>;
  /**
   * Counts one more failure against `key` (an account) and returns the count. Failures are
   * forgotten `ttlMs` after the latest one: the count keeps growing while they keep coming.
   */
  countFailure(key: string, ttlMs: number): Promise<number>;
  /** Failures counted against `key` and not yet forgotten (0 for none). */
  failures(key: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Past this many entries a map sweeps out the expired ones and, if still above three quarters
 * of it, the oldest: memory stays bounded, and sweeps are rare enough to cost O(1) per insert.
 */
const MAX_ENTRIES = 50_000;
const SWEEP_TO = (MAX_ENTRIES * 3) / 4;

/** Insertion-ordered map of key → expiry, bounded: an attacker with many addresses cannot grow it without limit. */
class ExpiringMap<V extends { expiresAt: number }> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly now: () => number) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > MAX_ENTRIES) this.sweep();
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const key of this.entries.keys()) {
      if (this.entries.size <= SWEEP_TO) break;
      this.entries.delete(key);
    }
  }
}

/** One node's strikes, bans, failures and nonces, in bounded maps. */
export class MemoryAbuseStore implements AbuseStore {
  private readonly strikes: ExpiringMap<{ count: number; expiresAt: number }>;
  private readonly bans: ExpiringMap<{ expiresAt: number }>;
  private readonly used: ExpiringMap<{ expiresAt: number }>;
  private readonly failed: ExpiringMap<{ count: number; expiresAt: number }>;

  constructor(private readonly now: () => number = Date.now) {
    this.strikes = new ExpiringMap(now);
    this.bans = new ExpiringMap(now);
    this.used = new ExpiringMap(now);
    this.failed = new ExpiringMap(now);
  }

  async strike(key: string, policy: StrikePolicy): Promise<StrikeResult> {
    const now = this.now();
    const ban = this.bans.get(key);
    if (ban) return { strikes: 0, bannedForMs: ban.expiresAt - now, newlyBanned: false };
    const window = this.strikes.get(key) ?? { count: 0, expiresAt: now + policy.windowMs };
    window.count++;
    if (window.count >= policy.limit) {
      this.strikes.delete(key);
      this.bans.set(key, { expiresAt: now + policy.banMs });
      return { strikes: window.count, bannedForMs: policy.banMs, newlyBanned: true };
    }
    this.strikes.set(key, window);
    return { strikes: window.count, newlyBanned: false };
  }

  async bannedFor(key: string): Promise<number | undefined> {
    const ban = this.bans.get(key);
    return ban && ban.expiresAt - this.now();
  }

  async unban(key: string): Promise<void> {
    this.bans.delete(key);
    this.strikes.delete(key);
  }

  async useOnce(token: string, ttlMs: number): Promise<boolean> {
    if (this.used.get(token)) return false;
    this.used.set(token, { expiresAt: this.now() + ttlMs });
    return true;
  }

  async countFailure(key: string, ttlMs: number): Promise<number> {
    const count = (this.failed.get(key)?.count ?? 0) + 1;
    this.failed.set(key, { count, expiresAt: this.now() + ttlMs });
    return count;
  }

  async failures(key: string): Promise<number> {
    return this.failed.get(key)?.count ?? 0;
  }

  async close(): Promise<void> {}
}

/**
 * A shared store that falls back to this node's memory while the shared one fails (Redis down):
 * abuse defences keep working node by node rather than failing open or locking everyone out.
 */
export class FallbackAbuseStore implements AbuseStore {
  private failing = false;

  constructor(
    private readonly shared: AbuseStore,
    private readonly local: AbuseStore,
    private readonly log: Logger,
  ) {}

  strike(key: string, policy: StrikePolicy): Promise<StrikeResult> {
    return this.attempt((store) => store.strike(key, policy));
  }

  bannedFor(key: string): Promise<number | undefined> {
    return this.attempt((store) => store.bannedFor(key));
  }

  async unban(key: string): Promise<void> {
    await this.local.unban(key);
    await this.attempt((store) => store.unban(key));
  }

  useOnce(token: string, ttlMs: number): Promise<boolean> {
    return this.attempt((store) => store.useOnce(token, ttlMs));
  }

  countFailure(key: string, ttlMs: number): Promise<number> {
    return this.attempt((store) => store.countFailure(key, ttlMs));
  }

  failures(key: string): Promise<number> {
    return this.attempt((store) => store.failures(key));
  }

  async close(): Promise<void> {
    await Promise.all([this.shared.close(), this.local.close()]);
  }

  private async attempt<T>(operation: (store: AbuseStore) => Promise<T>): Promise<T> {
    try {
      const result = await operation(this.shared);
      if (this.failing) this.log.info({ event: 'abuse.store.recovered' }, 'shared abuse store is back');
      this.failing = false;
      return result;
    } catch (error) {
      if (!this.failing) this.log.warn({ err: error, event: 'abuse.store.failed' }, "shared abuse store unreachable: using this node's memory until it returns");
      this.failing = true;
      return operation(this.local);
    }
  }
}
