/** The Redis abuse store against a live server (PARLEY_TEST_REDIS_URL), as two nodes with their own connections. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { runAbuseStoreConformance } from './abuse-conformance.testkit.js';
import { RedisAbuseStore, type RedisKeyspace } from './abuse-redis.js';

const url = process.env.PARLEY_TEST_REDIS_URL;
if (!url) throw new Error('abuse-redis.redis.test.ts needs PARLEY_TEST_REDIS_URL (vitest.config.ts includes it only then)');
const serverUrl: string = url;

runAbuseStoreConformance('Redis', async () => {
  const namespace = `parley-test-${randomBytes(6).toString('hex')}:`;
  const node = (): RedisKeyspace => ({ commands: new Redis(serverUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 1 }), key: (name) => `${namespace}${name}` });
  const [a, b] = [node(), node()];
  return {
    a: new RedisAbuseStore(a),
    b: new RedisAbuseStore(b),
    close: async () => {
      const keys = await a.commands.keys(`${namespace}*`);
      if (keys.length > 0) await a.commands.del(...keys);
      await Promise.all([a.commands.quit(), b.commands.quit()]);
    },
  };
});
