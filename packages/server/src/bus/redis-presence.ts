/**
 * @module Presence shared between server nodes through Redis (DESIGN §7, §12), on the Redis
 * bus's command connection, under `<namespace>presence:`.
 *
 * Keys:
 *   nodes        sorted set: node id → the time (Redis's clock, ms) until which it is presumed alive
 *   online       sorted set, all scores 0 so it is ordered by name: the users online anywhere
 *   u:<user>     hash: `<node id>|<device id>` → 1 for each device of the user connected to a node
 *   n:<node id>  set: the users with a device connected to that node, for expiring it
 *   version      the last version handed out (see PresenceChange)
 *
 * Every change is one Lua script, so Redis runs it atomically: two nodes can never both see
 * themselves as bringing a user online, and every transition is reported by exactly one
 * node. Scripts touch keys they compute, which standalone Redis (and Sentinel) allows and
 * Redis Cluster does not.
 *
 * Expiry: every node calls `heartbeat()` every `ttlMs / 3`, which pushes its own deadline
 * `ttlMs` ahead and expires every node whose deadline has passed, removing that node's
 * devices and reporting the users who are then offline nowhere else (the node that expired
 * them announces it). A node killed without a goodbye had last beaten up to one interval
 * before it died, and the survivors look once an interval, so its users are shown offline
 * between `ttlMs` minus one interval and `ttlMs` plus one interval after the crash: 10 to
 * 20 s by default. A graceful shutdown (`leave()`) announces them at once. A node that finds
 * it missed its own deadline (Redis was unreachable, for all nodes alike, or this process
 * stalled) expires no one for one TTL, so the others have time to beat again.
 *
 * Repair: this node's own connections are counted here too, and Redis holds a copy. When a
 * write fails (Redis unreachable), or the heartbeat finds this node gone from `nodes` (it was
 * presumed dead after a long pause or outage, or Redis lost its data), the next heartbeat
 * replaces this node's entries with the local count and reports the resulting changes. So
 * presence converges within one heartbeat of Redis being back.
 */
import type { Redis } from 'ioredis';
import { createLogger, type Logger } from '../logger.js';
import { ConnectionCounts, type PresenceChange, type PresenceStore } from './presence-store.js';
import type { RedisBus } from './redis.js';

export interface RedisPresenceOptions {
  /** A node that has not proved itself alive for this long is presumed dead, and its users offline. Default 15 s. */
  ttlMs?: number;
  log?: Logger;
}

export const DEFAULT_PRESENCE_TTL_MS = 15_000;

// ARGV[1] is the key prefix and ARGV[2] this node's id in every script.
const PREAMBLE = `
local P, node = ARGV[1], ARGV[2]
local NODES, ONLINE, VERSION = P .. 'nodes', P .. 'online', P .. 'version'
local function user_key(username) return P .. 'u:' .. username end
local function node_key(id) return P .. 'n:' .. id end
local function digits(n) return string.format('%.0f', n) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Grows with every change, and keeps growing across a wiped Redis because it follows the clock.
local function next_version()
  local t = redis.call('TIME')
  local v = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('GET', VERSION) or '0')
  if v <= last then v = last + 1 end
  redis.call('SET', VERSION, digits(v))
  return v
end
local function node_fields(username, id)
  local prefix, found = id .. '|', {}
  for _, field in ipairs(redis.call('HKEYS', user_key(username))) do
    if string.sub(field, 1, #prefix) == prefix then table.insert(found, field) end
  end
  return found
end
local function drop_node(username, id)
  local fields = node_fields(username, id)
  if #fields > 0 then redis.call('HDEL', user_key(username), unpack(fields)) end
end
-- Brings ONLINE in step with the user's devices; records the change, if any.
local function settle(username, changes)
  if redis.call('EXISTS', user_key(username)) == 1 then
    if redis.call('ZADD', ONLINE, 0, username) == 1 then table.insert(changes, {username, 1, next_version()}) end
  elseif redis.call('ZREM', ONLINE, username) == 1 then
    table.insert(changes, {username, 0, next_version()})
  end
end
`;

/** ARGV 3..5: username, device id, ttl. Returns {node was unregistered (0/1), changes}. */
const CONNECT = `${PREAMBLE}
local changes = {}
redis.call('HSET', user_key(ARGV[3]), node .. '|' .. ARGV[4], 1)
redis.call('SADD', node_key(node), ARGV[3])
settle(ARGV[3], changes)
local missing = redis.call('ZADD', NODES, 'NX', digits(now_ms() + tonumber(ARGV[5])), node)
return {missing, changes}
`;

/** ARGV 3..4: username, device id. Returns the changes. */
const DISCONNECT = `${PREAMBLE}
local changes = {}
redis.call('HDEL', user_key(ARGV[3]), node .. '|' .. ARGV[4])
if #node_fields(ARGV[3], node) == 0 then redis.call('SREM', node_key(node), ARGV[3]) end
settle(ARGV[3], changes)
return changes
`;

/**
 * ARGV 3: ttl; 4: '1' to expire dead nodes, '0' not to. Refreshes this node and expires dead
 * ones. Returns {node was unregistered (0/1), node was itself past its deadline (0/1), changes}.
 */
const HEARTBEAT = `${PREAMBLE}
local now = now_ms()
local changes = {}
local previous = redis.call('ZSCORE', NODES, node)
local late = 0
if previous and tonumber(previous) < now then late = 1 end
local missing = redis.call('ZADD', NODES, digits(now + tonumber(ARGV[3])), node)
if ARGV[4] == '1' and late == 0 then
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', NODES, '-inf', '(' .. digits(now))) do
    for _, username in ipairs(redis.call('SMEMBERS', node_key(dead))) do
      drop_node(username, dead)
      settle(username, changes)
    end
    redis.call('DEL', node_key(dead))
    redis.call('ZREM', NODES, dead)
  end
end
return {missing, late, changes}
`;

/**
 * ARGV 3: ttl, or 'leave' to unregister this node; then pairs of username and device id: this
 * node's devices now. Replaces this node's entries with them. Returns the changes.
 */
const RESYNC = `${PREAMBLE}
local changes, touched, users = {}, {}, {}
local function touch(username)
  if not touched[username] then touched[username] = true; table.insert(users, username) end
end
for _, username in ipairs(redis.call('SMEMBERS', node_key(node))) do
  drop_node(username, node)
  touch(username)
end
redis.call('DEL', node_key(node))
for i = 4, #ARGV, 2 do
  redis.call('HSET', user_key(ARGV[i]), node .. '|' .. ARGV[i + 1], 1)
  redis.call('SADD', node_key(node), ARGV[i])
  touch(ARGV[i])
end
for _, username in ipairs(users) do settle(username, changes) end
if ARGV[3] ~= 'leave' then
  redis.call('ZADD', NODES, digits(now_ms() + tonumber(ARGV[3])), node)
elseif redis.call('ZREM', NODES, node) == 1 and redis.call('EXISTS', NODES) == 0 then
  -- The last node left: nothing of the deployment stays. Versions go on from the clock.
  redis.call('DEL', VERSION)
end
return changes
`;

type Script = string;
const scripts = { connect: CONNECT, disconnect: DISCONNECT, heartbeat: HEARTBEAT, resync: RESYNC };

type RawChange = [username: string, online: number, version: number];

export class RedisPresenceStore implements PresenceStore {
  readonly heartbeatIntervalMs: number;
  readonly ttlMs: number;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly nodeId: string;
  private readonly log: Logger;
  private readonly counts = new ConnectionCounts();
  /** A write may not have reached Redis: the next heartbeat rewrites this node's entries. */
  private dirty = false;
  /** Dead nodes are expired only from this time on (see heartbeat). */
  private sweepAfter = 0;

  constructor(bus: RedisBus, options: RedisPresenceOptions = {}) {
    const { ttlMs = DEFAULT_PRESENCE_TTL_MS } = options;
    if (!Number.isInteger(ttlMs) || ttlMs < 30) throw new RangeError(`options.ttlMs must be an integer of at least 30 ms, not ${ttlMs}`);
    this.ttlMs = ttlMs;
    this.heartbeatIntervalMs = Math.floor(ttlMs / 3);
    this.redis = bus.commands;
    this.prefix = bus.key('presence:');
    this.nodeId = bus.nodeId;
    this.log = options.log ?? createLogger('silent');
  }

  async connected(username: string, deviceId: string): Promise<PresenceChange | undefined> {
    // Counted (and the write issued) at once, so writes reach Redis in the order of events.
    if (!this.counts.add(username, deviceId).firstOfDevice) return undefined;
    const [missing, changes] = (await this.write(scripts.connect, [username, deviceId, this.ttlMs])) as [number, RawChange[]];
    if (missing === 1) this.dirty = true; // presumed dead meanwhile: the heartbeat restores the rest
    return parseChanges(changes)[0];
  }

  async disconnected(username: string, deviceId: string): Promise<PresenceChange | undefined> {
    if (!this.counts.remove(username, deviceId)?.lastOfDevice) return undefined;
    return parseChanges((await this.write(scripts.disconnect, [username, deviceId])) as RawChange[])[0];
  }

  async filterOnline(usernames: readonly string[]): Promise<string[]> {
    const unique = [...new Set(usernames)];
    if (unique.length === 0) return [];
    const scores = await this.redis.zmscore(`${this.prefix}online`, ...unique);
    return unique.filter((_username, index) => scores[index] !== null);
  }

  async listOnline(after: string | undefined, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return this.redis.zrangebylex(`${this.prefix}online`, after === undefined ? '-' : `(${after}`, '+', 'LIMIT', 0, limit);
  }

  async heartbeat(): Promise<PresenceChange[]> {
    const sweep = Date.now() >= this.sweepAfter;
    const [missing, late, raw] = (await this.run(scripts.heartbeat, [this.ttlMs, sweep ? '1' : '0'])) as [number, number, RawChange[]];
    // This node missed its own deadline: most likely Redis was unreachable, for every node alike.
    // The others get a TTL to beat again before anyone is expired, or all their users would
    // flap offline and back when Redis returns.
    if (late === 1) this.sweepAfter = Date.now() + this.ttlMs;
    const changes = parseChanges(raw);
    if (missing === 1 || this.dirty) {
      if (this.dirty) this.log.info({ event: 'presence.resync', devices: [...this.counts.devices()].length }, "rewriting this node's presence entries");
      changes.push(...(await this.resync(String(this.ttlMs))));
    }
    return changes;
  }

  async leave(): Promise<PresenceChange[]> {
    this.counts.clear();
    return this.resync('leave');
  }

  private async resync(ttl: string): Promise<PresenceChange[]> {
    this.dirty = false;
    const devices = [...this.counts.devices()].flat();
    try {
      return parseChanges((await this.run(scripts.resync, [ttl, ...devices])) as RawChange[]);
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  /** A connect or disconnect: when it fails, Redis may or may not have applied it, so repair later. */
  private async write(target: Script, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.run(target, args);
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  private async run(target: Script, args: (string | number)[]): Promise<unknown> {
    // EVAL, not EVALSHA with a fallback: Redis caches the compiled script either way, and a
    // fallback after NOSCRIPT (an empty cache after a restart) could run a write after a later one.
    return this.redis.eval(target, 0, this.prefix, this.nodeId, ...args);
  }
}

function parseChanges(raw: RawChange[]): PresenceChange[] {
  return raw.map(([username, online, version]) => ({ username, online: online === 1, version }));
}
