/**
 * @module The abuse defences of one node (DESIGN §10), built once from the configuration: the
 * metrics they report to, the strike and ban guard, failed proofs per account, proof of work, and
 * per-account rate limits. With Redis, strikes, bans, failures and spent proof-of-work nonces are
 * shared by every node.
 */
import { derivePowSecret } from '@parley/crypto';
import type { ServerConfig } from './config.js';
import type { Logger } from './logger.js';
import { createServerMetrics, Gauge, type ServerMetrics } from './metrics.js';
import { AbuseGuard } from './services/abuse.js';
import { AccountGuard } from './services/account-guard.js';
import { RedisAbuseStore, type RedisKeyspace } from './services/abuse-redis.js';
import { FallbackAbuseStore, MemoryAbuseStore, type AbuseStore } from './services/abuse-store.js';
import { PowService } from './services/pow.js';
import { RateLimiter } from './services/rate-limit.js';

export interface Defences {
  metrics: ServerMetrics;
  guard: AbuseGuard;
  /** Failed proofs per account, and the proof of work they make the account's next proofs pay. */
  accounts: AccountGuard;
  pow: PowService;
  /** Per-account token buckets (two seconds' worth of burst), shared by an account's connections. */
  accountLimiter: RateLimiter;
  /** Waits for strikes in flight, stops the clocks. The shared store's connection belongs to the bus. */
  close(): Promise<void>;
}

export function createDefences(config: ServerConfig, options: { serverPrivateKey: Uint8Array; redis?: RedisKeyspace; log: Logger }): Defences {
  const { log } = options;
  const metrics = createServerMetrics();
  const store: AbuseStore = options.redis
    ? new FallbackAbuseStore(new RedisAbuseStore(options.redis), new MemoryAbuseStore(), log.child({ module: 'abuse-store' }))
    : new MemoryAbuseStore();
  const guard = new AbuseGuard(
    store,
    { strikeLimit: config.strikeLimit, strikeWindowMs: config.strikeWindowMs, banMs: config.banMs, maxConnectionsPerIp: config.maxConnectionsPerIp },
    log.child({ module: 'abuse' }),
    metrics,
  );
  const accounts = new AccountGuard(
    store,
    { freeFailures: config.accountFailureLimit, windowMs: config.accountFailureWindowMs, maxDifficulty: config.powAccountMaxDifficulty },
    log.child({ module: 'account-guard' }),
  );
  // Derived from the Noise static key: every node sharing the key file signs and checks the same challenges.
  const pow = new PowService(
    derivePowSecret(options.serverPrivateKey),
    store,
    {
      maxDifficulty: config.powMaxDifficulty,
      targetPerSecond: config.powTargetPerSecond,
      ttlMs: config.powChallengeTtlMs,
      accountDifficulty: (username) => accounts.difficulty(username),
    },
    log.child({ module: 'pow' }),
    metrics,
  );
  const stopPow = pow.start();
  metrics.registry.register(new Gauge('parley_banned_addresses', 'Addresses this node knows to be banned.', [], (set) => set({}, guard.bannedCount)));
  metrics.registry.register(new Gauge('parley_tcp_connections', 'Open TCP connections (not counting trusted proxies).', [], (set) => set({}, guard.openConnections)));
  metrics.registry.register(
    new Gauge('parley_pow_difficulty', 'Current proof-of-work difficulty in leading zero bits, by context.', ['context'], (set) => {
      for (const context of ['register', 'login'] as const) set({ context }, pow.difficulty(context));
    }),
  );
  const rate = config.accountRequestsPerSecond;
  return {
    metrics,
    guard,
    accounts,
    pow,
    accountLimiter: new RateLimiter(rate * 2, 2_000),
    close: async () => {
      stopPow();
      await Promise.all([guard.settled(), accounts.settled()]);
      await store.close();
      metrics.stop();
    },
  };
}
