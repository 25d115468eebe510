/**
 * @module Strikes and bans per client address (DESIGN §10). Missed deadlines, malformed frames
 * and failed logins count strikes; enough of them within a window ban the address for a while.
 * A banned address is refused at accept, before TLS or HTTP, from this node's cache of bans
 * (a map lookup), and at the WebSocket upgrade after asking the shared store, so a ban made on
 * one node holds on every node. Connections per address are counted here too.
 */
import { ErrorCode } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { AbuseStore, StrikePolicy } from './abuse-store.js';

/** Why a strike was counted; also the `reason` label of `parley_strikes_total`. */
export type StrikeReason =
  /** No complete HTTP request (or WebSocket upgrade) within the upgrade deadline. */
  | 'upgrade_timeout'
  /** Node's own header or request timeout fired on an HTTP request (slowloris). */
  | 'slow_request'
  | 'bad_http'
  | 'handshake_timeout'
  | 'auth_timeout'
  | 'bad_handshake'
  /** A sealed frame that failed to decode or validate. */
  | 'bad_frame'
  /** A frame that failed authentication: the channel is forged or desynchronised. */
  | 'channel_broken'
  /** Text frames, oversized frames, broken WebSocket framing. */
  | 'bad_websocket'
  | 'auth_failed'
  /** A forged, replayed or insufficient proof of work. */
  | 'bad_pow';

export interface AbuseOptions {
  /** Strikes within `strikeWindowMs` that ban an address. */
  strikeLimit: number;
  strikeWindowMs: number;
  /** How long a ban lasts. */
  banMs: number;
  /** Open TCP connections one address may hold; more are refused at accept. */
  maxConnectionsPerIp: number;
}

/** Why a connection is turned away, with what the client is told. */
export interface Refusal {
  status: 403 | 429;
  code: typeof ErrorCode.BANNED | typeof ErrorCode.RATE_LIMITED;
  reason: 'banned' | 'too_many_connections';
  message: string;
  retryAfterMs: number;
}

// This node's ban cache is bounded like the store's maps.
const MAX_CACHED_BANS = 50_000;

export class AbuseGuard {
  /** address → ban end (this node's clock), for bans this node made or learnt of. */
  private readonly bans = new Map<string, number>();
  private readonly open = new Map<string, number>();
  private readonly banListeners = new Set<(ip: string) => void>();
  private readonly policy: StrikePolicy;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: AbuseStore,
    private readonly options: AbuseOptions,
    private readonly log: Logger,
    private readonly metrics?: ServerMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.policy = { limit: options.strikeLimit, windowMs: options.strikeWindowMs, banMs: options.banMs };
  }

  /**
   * A TCP connection from `ip` arrived: refuse it if the address is banned (as far as this node
   * knows) or holds too many connections. Otherwise it is counted until `release(ip)`.
   */
  admit(ip: string): Refusal | undefined {
    const banned = this.cachedBan(ip);
    if (banned !== undefined) return this.refuse('tcp', bannedRefusal(banned));
    const count = this.open.get(ip) ?? 0;
    if (count >= this.options.maxConnectionsPerIp) {
      return this.refuse('tcp', {
        status: 429,
        code: ErrorCode.RATE_LIMITED,
        reason: 'too_many_connections',
        message: `too many connections from this address (at most ${this.options.maxConnectionsPerIp})`,
        retryAfterMs: 1_000,
      });
    }
    this.open.set(ip, count + 1);
    return undefined;
  }

  release(ip: string): void {
    const count = this.open.get(ip) ?? 0;
    if (count <= 1) this.open.delete(ip);
    else this.open.set(ip, count - 1);
  }

  /** Before a WebSocket upgrade: also asks the shared store, for bans made on other nodes. */
  async admitUpgrade(ip: string): Promise<Refusal | undefined> {
    const cached = this.cachedBan(ip);
    if (cached !== undefined) return this.refuse('upgrade', bannedRefusal(cached));
    const remaining = await this.store.bannedFor(ip);
    if (remaining === undefined) return undefined;
    this.remember(ip, remaining);
    return this.refuse('upgrade', bannedRefusal(remaining));
  }

  /** Counts a strike against `ip`; the one that reaches the limit bans it and tells the `onBan` listeners. */
  strike(ip: string, reason: StrikeReason): Promise<void> {
    this.metrics?.strikes.inc({ reason });
    const done = this.store
      .strike(ip, this.policy)
      .then((result) => {
        if (result.bannedForMs === undefined) return;
        this.remember(ip, result.bannedForMs);
        if (!result.newlyBanned) return;
        this.metrics?.bans.inc();
        this.log.warn({ event: 'abuse.banned', ip, reason, strikes: result.strikes, banMs: result.bannedForMs }, 'address banned');
        for (const listener of this.banListeners) listener(ip);
      })
      .catch((error: unknown) => this.log.error({ err: error, event: 'abuse.strike_failed' }, 'strike not recorded'))
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
    return done;
  }

  /** `listener(ip)` when this node bans an address (e.g. to close its open connections). */
  onBan(listener: (ip: string) => void): () => void {
    this.banListeners.add(listener);
    return () => this.banListeners.delete(listener);
  }

  async unban(ip: string): Promise<void> {
    this.bans.delete(ip);
    await this.store.unban(ip);
  }

  /** Addresses this node currently knows to be banned. */
  get bannedCount(): number {
    const now = this.now();
    for (const [ip, until] of this.bans) if (until <= now) this.bans.delete(ip);
    return this.bans.size;
  }

  /** TCP connections open per address, summed. */
  get openConnections(): number {
    let total = 0;
    for (const count of this.open.values()) total += count;
    return total;
  }

  /** Resolves when every strike so far is recorded (for orderly shutdown and tests). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  private cachedBan(ip: string): number | undefined {
    const until = this.bans.get(ip);
    if (until === undefined) return undefined;
    const remaining = until - this.now();
    if (remaining > 0) return remaining;
    this.bans.delete(ip);
    return undefined;
  }

  private remember(ip: string, remainingMs: number): void {
    this.bans.delete(ip);
    this.bans.set(ip, this.now() + remainingMs);
    if (this.bans.size > MAX_CACHED_BANS) {
      // The oldest cached ban goes; the store still has it, and the upgrade check finds it again.
      const oldest = this.bans.keys().next().value;
      if (oldest !== undefined) this.bans.delete(oldest);
    }
  }

  private refuse(stage: 'tcp' | 'upgrade', refusal: Refusal): Refusal {
    this.metrics?.refused.inc({ stage, reason: refusal.reason });
    return refusal;
  }
}

function bannedRefusal(remainingMs: number): Refusal {
  return {
    status: 403,
    code: ErrorCode.BANNED,
    reason: 'banned',
    message: `this address is banned for ${Math.ceil(remainingMs / 1000)} s after repeated abuse (timeouts, malformed frames or failed logins)`,
    retryAfterMs: Math.ceil(remainingMs),
  };
}
