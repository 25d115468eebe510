import type { RedisBus } from './redis.js';
export type { Bus, BusEvents, BusTopic } from './types.js';
export { MemoryBus } from './memory.js';
export type { RedisBus, RedisBusOptions } from './redis.js';
export { MemoryPresenceStore, type PresenceChange, type PresenceStore } from './presence-store.js';
// Needs a connected RedisBus, and only imports ioredis's types.
export { DEFAULT_PRESENCE_TTL_MS, RedisPresenceStore, type RedisPresenceOptions } from './redis-presence.js';

/** The Redis bus, loaded on first use so a single-node server never loads `ioredis` (STYLE §4). */
export const connectRedisBus: typeof RedisBus.connect = async (url, options) => (await import('./redis.js')).RedisBus.connect(url, options);
