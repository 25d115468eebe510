import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createServerMetrics } from '../metrics.js';
import { AbuseGuard } from './abuse.js';
import { MemoryAbuseStore } from './abuse-store.js';

const options = { strikeLimit: 3, strikeWindowMs: 60_000, banMs: 600_000, maxConnectionsPerIp: 2 };

describe('AbuseGuard', () => {
  it('counts connections per address and refuses past the limit until one closes', () => {
    const metrics = createServerMetrics();
    const guard = new AbuseGuard(new MemoryAbuseStore(), options, createLogger('silent'), metrics);
    expect(guard.admit('a')).toBeUndefined();
    expect(guard.admit('a')).toBeUndefined();
    expect(guard.admit('b')).toBeUndefined();
    expect(guard.admit('a')).toMatchObject({ status: 429, code: 'RATE_LIMITED', reason: 'too_many_connections' });
    guard.release('a');
    expect(guard.admit('a')).toBeUndefined();
    expect(guard.openConnections).toBe(3);
    expect(metrics.refused.get({ stage: 'tcp', reason: 'too_many_connections' })).toBe(1);
    metrics.stop();
  });

  it('bans at the strike limit, tells the listeners once, and refuses the address at accept and upgrade', async () => {
    let now = 1_000;
    const metrics = createServerMetrics();
    const guard = new AbuseGuard(new MemoryAbuseStore(() => now), options, createLogger('silent'), metrics, () => now);
    const banned: string[] = [];
    guard.onBan((ip) => banned.push(ip));
    await guard.strike('a', 'bad_frame');
    await guard.strike('a', 'handshake_timeout');
    expect(guard.admit('a')).toBeUndefined();
    guard.release('a');
    await Promise.all([guard.strike('a', 'auth_failed'), guard.strike('a', 'auth_failed')]);
    expect(banned).toEqual(['a']);
    expect(guard.admit('a')).toMatchObject({ status: 403, code: 'BANNED', retryAfterMs: 600_000 });
    expect(await guard.admitUpgrade('a')).toMatchObject({ code: 'BANNED' });
    expect(guard.admit('b')).toBeUndefined();
    expect(guard.bannedCount).toBe(1);
    expect(metrics.strikes.get({ reason: 'auth_failed' })).toBe(2);
    expect(metrics.bans.get()).toBe(1);
    now += 600_001;
    expect(guard.admit('a')).toBeUndefined();
    expect(guard.bannedCount).toBe(0);
    metrics.stop();
  });

  it("learns at the upgrade of bans made by other nodes, which the accept check then knows", async () => {
    const store = new MemoryAbuseStore();
    const otherNode = new AbuseGuard(store, options, createLogger('silent'));
    const thisNode = new AbuseGuard(store, options, createLogger('silent'));
    for (let i = 0; i < 3; i++) await otherNode.strike('a', 'bad_frame');
    expect(thisNode.admit('a')).toBeUndefined();
    thisNode.release('a');
    expect(await thisNode.admitUpgrade('a')).toMatchObject({ code: 'BANNED' });
    expect(thisNode.admit('a')).toMatchObject({ code: 'BANNED' });
    await thisNode.unban('a');
    expect(thisNode.admit('a')).toBeUndefined();
    expect(await thisNode.admitUpgrade('a')).toBeUndefined();
  });
});
