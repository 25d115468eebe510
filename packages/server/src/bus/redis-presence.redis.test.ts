/** Presence shared through a live Redis (PARLEY_TEST_REDIS_URL); every store pair has its own namespace. */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runPresenceConformance } from './presence-conformance.testkit.js';
import { RedisPresenceStore } from './redis-presence.js';
import { RedisBus } from './redis.js';

const url = process.env.PARLEY_TEST_REDIS_URL;
if (!url) throw new Error('redis-presence.redis.test.ts needs PARLEY_TEST_REDIS_URL (vitest.config.ts includes it only then)');
const serverUrl: string = url;

const TTL_MS = 600;
const freshNamespace = () => `parley-test-${randomBytes(6).toString('hex')}:`;

/** Two nodes, each with its own bus connections, over one namespace. */
async function twoNodes(ttlMs = TTL_MS) {
  const namespace = freshNamespace();
  const buses = await Promise.all([RedisBus.connect(serverUrl, { namespace }), RedisBus.connect(serverUrl, { namespace })]);
  const [a, b] = buses.map((bus) => new RedisPresenceStore(bus, { ttlMs })) as [RedisPresenceStore, RedisPresenceStore];
  const [busA] = buses as [RedisBus, RedisBus];
  return {
    a,
    b,
    namespace,
    /** Every key of this namespace. */
    keys: () => busA.commands.keys(`${namespace}*`),
    close: async () => {
      // What a test leaves behind goes with it.
      const keys = await busA.commands.keys(`${namespace}*`);
      if (keys.length > 0) await busA.commands.del(...keys);
      await Promise.all(buses.map((bus) => bus.close()));
    },
  };
}

runPresenceConformance('Redis', twoNodes, { nodes: { ttlMs: TTL_MS } });

describe('Redis presence store', () => {
  let nodes: Awaited<ReturnType<typeof twoNodes>> | undefined;
  afterEach(async () => {
    await nodes?.close();
    nodes = undefined;
  });

  it('keeps every key under the namespace, and leaves none behind when every node has left', async () => {
    nodes = await twoNodes();
    const { a, b, namespace } = nodes;
    await a.heartbeat();
    await b.heartbeat();
    await a.connected('alice', 'a1');
    await b.connected('bob', 'b1');
    const keys = await nodes.keys();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.startsWith(`${namespace}presence:`)).toBe(true);
    await a.disconnected('alice', 'a1');
    await a.leave();
    expect(await nodes.keys()).toContain(`${namespace}presence:u:bob`);
    await b.leave();
    expect(await nodes.keys()).toEqual([]);
  });

  it("rewrites this node's entries when Redis lost them, and reports who is back", async () => {
    nodes = await twoNodes();
    const { a, b } = nodes;
    await a.heartbeat();
    await a.connected('alice', 'a1');
    await a.connected('alice', 'a2');
    await b.connected('bob', 'b1');
    // Redis restarted without persistence, say.
    const keys = await nodes.keys();
    await (b as unknown as { redis: RedisBus['commands'] }).redis.del(...keys);
    expect(await a.listOnline(undefined, 10)).toEqual([]);
    const restored = [...(await a.heartbeat()), ...(await b.heartbeat())];
    expect(restored.map((change) => `${change.username} ${change.online}`).sort()).toEqual(['alice true', 'bob true']);
    expect(await a.listOnline(undefined, 10)).toEqual(['alice', 'bob']);
    expect(await a.disconnected('alice', 'a1')).toBeUndefined();
    expect(await a.disconnected('alice', 'a2')).toMatchObject({ username: 'alice', online: false });
  });

  it('repairs after a write that failed while Redis was unreachable', async () => {
    nodes = await twoNodes();
    const { a, b } = nodes;
    await a.heartbeat();
    // The command connection drops, and with it the write (no offline queue: it fails at once).
    const redis = (a as unknown as { redis: RedisBus['commands'] }).redis;
    const back = new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    redis.disconnect(true);
    await expect(a.connected('alice', 'a1')).rejects.toThrow();
    expect(await b.filterOnline(['alice'])).toEqual([]);
    await back;
    expect((await a.heartbeat()).map((change) => `${change.username} ${change.online}`)).toEqual(['alice true']);
    expect(await b.filterOnline(['alice'])).toEqual(['alice']);
  });

  it('refuses a TTL too short to heartbeat', () => {
    expect(() => new RedisPresenceStore({ commands: {}, key: (name: string) => name, nodeId: 'x' } as unknown as RedisBus, { ttlMs: 10 })).toThrow(/ttlMs/);
  });
});
