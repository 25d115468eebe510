/**
 * @module Strikes, bans, failure counts and spent nonces in Redis, so every node of a deployment shares them
 * (DESIGN §10, §12). It rides on the bus's command connection (which fails fast while Redis is
 * down; `FallbackAbuseStore` then uses the node's memory) under the bus's key namespace.
 * Time is Redis's: windows and bans are key TTLs, so node clocks do not matter.
 */
import type { Redis } from 'ioredis';
import type { AbuseStore, StrikePolicy, StrikeResult } from './abuse-store.js';

/** What the store needs of the Redis bus (`RedisBus` has both). */
export interface RedisKeyspace {
  readonly commands: Redis;
  key(name: string): string;
}

// KEYS: strikes, ban. ARGV: windowMs, limit, banMs. Returns {strikes, banTtlMs or -1, newlyBanned}.
// One script, so counting and banning are atomic across nodes: exactly one strike bans.
const STRIKE = `
local ban = redis.call('PTTL', KEYS[2])
if ban > 0 then return {0, ban, 0} end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return {n, tonumber(ARGV[3]), 1}
end
return {n, -1, 0}
`;

type StrikeCommand = (strikesKey: string, banKey: string, windowMs: number, limit: number, banMs: number) => Promise<[number, number, number]>;

export class RedisAbuseStore implements AbuseStore {
  private readonly redis: Redis;
  private readonly runStrike: StrikeCommand;

  constructor(private readonly keyspace: RedisKeyspace) {
    this.redis = keyspace.commands;
    const withCommand = this.redis as Redis & { parleyAbuseStrike?: StrikeCommand };
    // defineCommand sends EVALSHA, and the script itself only when Redis does not have it yet.
    if (!withCommand.parleyAbuseStrike) this.redis.defineCommand('parleyAbuseStrike', { numberOfKeys: 2, lua: STRIKE });
    this.runStrike = (withCommand.parleyAbuseStrike as StrikeCommand).bind(this.redis);
  }

  async strike(key: string, policy: StrikePolicy): Promise<StrikeResult> {
    const [strikes, banTtl, newlyBanned] = await this.runStrike(this.strikesKey(key), this.banKey(key), policy.windowMs, policy.limit, policy.banMs);
    const result: StrikeResult = { strikes, newlyBanned: newlyBanned === 1 };
    if (banTtl > 0) result.bannedForMs = banTtl;
    return result;
  }

  async bannedFor(key: string): Promise<number | undefined> {
    const ttl = await this.redis.pttl(this.banKey(key));
    return ttl > 0 ? ttl : undefined;
  }

  async unban(key: string): Promise<void> {
    await this.redis.del(this.banKey(key), this.strikesKey(key));
  }

  async useOnce(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keyspace.key(`abuse:once:${token}`), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  }

  async countFailure(key: string, ttlMs: number): Promise<number> {
    const failures = this.failuresKey(key);
    // One round trip, applied together: the count and its renewed expiry.
    const results = await this.redis.multi().incr(failures).pexpire(failures, Math.max(1, Math.ceil(ttlMs))).exec();
    const [error, count] = results?.[0] ?? [new Error('Redis discarded the failure count')];
    if (error) throw error;
    return Number(count);
  }

  async failures(key: string): Promise<number> {
    return Number((await this.redis.get(this.failuresKey(key))) ?? 0);
  }

  /** The connection belongs to the bus, which closes it. */
  async close(): Promise<void> {}

  private strikesKey(key: string): string {
    return this.keyspace.key(`abuse:strikes:${key}`);
  }

  private failuresKey(key: string): string {
    return this.keyspace.key(`abuse:failures:${key}`);
  }

  private banKey(key: string): string {
    return this.keyspace.key(`abuse:ban:${key}`);
  }
}
