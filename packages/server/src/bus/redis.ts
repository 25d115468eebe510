/**
 * @module The bus shared between server nodes through Redis pub/sub (DESIGN §12).
 *
 * Two connections: `commands` publishes (and is where key-value state such as presence or
 * strikes will live, under `key()`), and a dedicated subscriber, which Redis requires because
 * a subscribed connection takes no other commands. The subscriber holds one pattern
 * subscription on the namespace's bus channels from start to close, made before
 * `RedisBus.connect` resolves, so `subscribe` is a local, synchronous registration that is in
 * effect at once, as with MemoryBus.
 *
 * Delivery: a publish reaches this node's subscribers directly, then every other node's
 * through Redis (each node skips its own messages when they come back). Order is kept per
 * publisher. Delivery to other nodes is at most once: what is published while a node is cut
 * off from Redis never reaches it. The bus carries notifications; the state they announce
 * is in storage.
 *
 * Outages: both connections reconnect with backoff (100 ms doubling to 5 s) for as long as
 * it takes, and the subscription is renewed on reconnect. 'error' events are logged, never
 * thrown. While Redis is unreachable, `publish` still delivers locally but then rejects at
 * once with BusUnavailableError: nothing is queued, so no unbounded buffer grows and no
 * stale event is replayed later. At start, Redis is waited for (same backoff) for
 * `startupTimeoutMs`; a refused password fails at once. Errors name host and port, never
 * the URL, which may carry a password.
 *
 * Payloads are JSON. Uint8Array values anywhere in a payload travel as {"$bytes": base64}
 * and come back as Uint8Array, so an object whose only key is `$bytes` is reserved.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@parley/protocol';
import { Redis, type RedisOptions } from 'ioredis';
import { createLogger, type Logger } from '../logger.js';
import type { Bus, BusEvents, BusTopic } from './types.js';

export interface RedisBusOptions {
  /** Prefix of every channel (and future key) name, so deployments or tests can share a Redis. Default `parley:`. */
  namespace?: string;
  /** How long to keep retrying while Redis is unreachable at start. Default 30 s. */
  startupTimeoutMs?: number;
  /** How long a command (a publish) may wait for Redis's answer. Default 5 s. */
  commandTimeoutMs?: number;
  log?: Logger;
}

/** Redis is unreachable (at start, or when publishing), or the bus is closed. The message names the server. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
  /** The stable code `parley serve` prints with it (`error UNAVAILABLE: ...`). */
  readonly code = ErrorCode.UNAVAILABLE;
}

type Handler = (message: never) => void;

interface Envelope {
  /** The publishing node, which ignores its own messages when Redis echoes them back. */
  origin: string;
  message: unknown;
}

const INITIAL_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
const AUTH_FAILURE = /^(WRONGPASS|NOAUTH|NOPERM)|invalid (username-)?password/i;

export class RedisBus implements Bus {
  /** Identifies this node's messages on the shared channels. */
  readonly nodeId = randomUUID();
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly channelPrefix: string;
  private closed = false;

  private constructor(
    /** The command connection: publishes, and will hold key-value state under `key()`. Fails fast while Redis is down. */
    readonly commands: Redis,
    private readonly subscriber: Redis,
    readonly namespace: string,
    private readonly target: string,
    private readonly log: Logger,
  ) {
    this.channelPrefix = `${namespace}bus:`;
    subscriber.on('pmessage', (_pattern: string, channel: string, data: string) => this.receive(channel, data));
  }

  /** Connects both connections and subscribes, waiting for Redis up to `startupTimeoutMs`. */
  static async connect(url: string, options: RedisBusOptions = {}): Promise<RedisBus> {
    const { namespace = 'parley:', startupTimeoutMs = 30_000, commandTimeoutMs = 5_000 } = options;
    const log = options.log ?? createLogger('silent');
    const common: RedisOptions = {
      retryStrategy: (attempt) => Math.min(MAX_RETRY_MS, INITIAL_RETRY_MS * 2 ** (attempt - 1)),
      connectTimeout: Math.min(10_000, Math.max(1_000, startupTimeoutMs)),
    };
    let commands: Redis;
    let subscriber: Redis;
    try {
      // Publishes fail at once while disconnected (no offline queue, in-flight commands
      // rejected on a drop) rather than piling up; the subscriber keeps ioredis's defaults so
      // its subscription is queued and renewed across reconnects.
      commands = new Redis(url, {
        ...common,
        connectionName: 'parley-bus',
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: commandTimeoutMs,
      });
      subscriber = new Redis(url, { ...common, connectionName: 'parley-bus-subscriber', maxRetriesPerRequest: null });
    } catch {
      // The parser's own error may quote the URL, and with it a password.
      throw new BusUnavailableError('the Redis URL is not valid (not shown, as it may hold a password)');
    }
    const target = describeTarget(commands);
    const bus = new RedisBus(commands, subscriber, namespace, target, log);
    let lastError: unknown;
    let failFast: ((error: BusUnavailableError) => void) | undefined;
    for (const [role, connection] of [['commands', commands], ['subscriber', subscriber]] as const) {
      watchHealth(connection, role, target, log, (error) => {
        lastError = error;
        if (AUTH_FAILURE.test(describeError(error))) {
          failFast?.(new BusUnavailableError(`Redis at ${target} refused the connection: ${describeError(error)}`));
        }
      });
    }

    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const subscribed = subscriber.psubscribe(`${escapeGlob(bus.channelPrefix)}*`);
    // A failed command's error can carry its arguments (AUTH's are the password): rewrap it.
    const ready = Promise.all([readyOf(commands), subscribed]).catch((error: unknown) => {
      throw new BusUnavailableError(`Redis at ${target} failed at start: ${describeError(error)}`);
    });
    try {
      await Promise.race([
        ready,
        new Promise<never>((_resolve, reject) => {
          failFast = reject;
          timer = setTimeout(() => {
            const reason = lastError === undefined ? 'no answer' : describeError(lastError);
            const seconds = ((Date.now() - started) / 1000).toFixed(1);
            reject(new BusUnavailableError(`Redis at ${target} is unreachable (gave up after ${seconds} s): ${reason}`));
          }, startupTimeoutMs);
        }),
      ]);
    } catch (error) {
      ready.catch(() => undefined);
      bus.disconnect();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    log.info({ event: 'redis.ready', target, namespace }, 'Redis bus ready');
    return bus;
  }

  /** A key name in this deployment's namespace, for key-value state kept in Redis. */
  key(name: string): string {
    return `${this.namespace}${name}`;
  }

  async publish<T extends BusTopic>(topic: T, message: BusEvents[T]): Promise<void> {
    if (this.closed) throw new BusUnavailableError(`the bus is closed; "${topic}" was not published`);
    // Encoded first, so a payload JSON cannot carry fails before anyone sees it.
    const data = encode({ origin: this.nodeId, message });
    this.deliver(topic, message);
    try {
      await this.commands.publish(this.channelPrefix + topic, data);
    } catch (error) {
      throw new BusUnavailableError(`Redis at ${this.target} is unavailable, so "${topic}" reached this node only: ${describeError(error)}`);
    }
  }

  subscribe<T extends BusTopic>(topic: T, handler: (message: BusEvents[T]) => void): () => void {
    const set = this.handlers.get(topic) ?? new Set();
    set.add(handler as Handler);
    this.handlers.set(topic, set);
    return () => {
      set.delete(handler as Handler);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    await Promise.all([this.commands, this.subscriber].map((connection) => quit(connection)));
  }

  private disconnect(): void {
    this.closed = true;
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private receive(channel: string, data: string): void {
    if (this.closed || !channel.startsWith(this.channelPrefix)) return;
    let envelope: Envelope;
    try {
      envelope = decode(data);
    } catch (error) {
      this.log.warn({ event: 'redis.bad_message', channel, reason: describeError(error) }, 'undecodable bus message dropped');
      return;
    }
    if (envelope.origin === this.nodeId) return;
    this.deliver(channel.slice(this.channelPrefix.length), envelope.message);
  }

  /** Calls every handler of the topic; one that throws is logged and does not stop the others. */
  private deliver(topic: string, message: unknown): void {
    for (const handler of [...(this.handlers.get(topic) ?? [])]) {
      try {
        (handler as (message: unknown) => void)(message);
      } catch (error) {
        this.log.error({ event: 'bus.handler_failed', topic, err: error }, 'bus handler failed');
      }
    }
  }
}

/** Logs a connection's losses and recoveries once each, not every failed retry. */
function watchHealth(connection: Redis, role: string, target: string, log: Logger, onError: (error: unknown) => void): void {
  let up = false;
  let wasUp = false;
  let reason: string | undefined;
  connection.on('error', (error: unknown) => {
    onError(error);
    reason = describeError(error);
    log.debug({ event: 'redis.error', role, target, reason }, 'Redis connection error');
  });
  connection.on('close', () => {
    if (!up) return;
    up = false;
    log.warn(
      { event: 'redis.connection_lost', role, target, reason: reason ?? 'closed' },
      'Redis connection lost; reconnecting, and bus events meanwhile are not delivered across nodes',
    );
  });
  connection.on('ready', () => {
    reason = undefined;
    if (wasUp) log.info({ event: 'redis.connection_restored', role, target }, 'Redis connection restored');
    up = true;
    wasUp = true;
  });
}

function readyOf(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => connection.once('ready', () => resolve()));
}

async function quit(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}

/** host:port (or socket path) and database, as ioredis resolved the URL. Never the password. */
function describeTarget(connection: Redis): string {
  const { host, port, path, db } = connection.options;
  return `${path ?? `${host}:${port}`}${db ? `/${db}` : ''}`;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

// Errors from ioredis may carry the failed command and its arguments (for AUTH, the
// password), so only the message is ever logged or wrapped.
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return [...new Set(error.errors.map(describeError))].join('; ');
  if (error instanceof Error) return error.message || String((error as { code?: unknown }).code ?? error.name);
  return String(error);
}

function encode(envelope: Envelope): string {
  return JSON.stringify(envelope, function (this: Record<string, unknown>, key: string, value: unknown) {
    // `this[key]` is the value before toJSON, so a Buffer is seen as the bytes it is.
    const raw = this[key];
    return raw instanceof Uint8Array ? { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : value;
  });
}

function decode(data: string): Envelope {
  const parsed: unknown = JSON.parse(data, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const bytes = (value as { $bytes?: unknown }).$bytes;
      if (keys.length === 1 && typeof bytes === 'string') return new Uint8Array(Buffer.from(bytes, 'base64'));
    }
    return value;
  });
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Envelope).origin !== 'string' || !('message' in parsed)) {
    throw new TypeError('not a bus envelope');
  }
  return parsed as Envelope;
}
