/**
 * @module Storage on PostgreSQL, for several server nodes sharing one database (DESIGN §12).
 *
 * The queries and migrations are the shared Kysely ones; this file only opens the pool.
 *
 * At start, an unreachable server (refused, reset, DNS not yet resolvable, "the database
 * system is starting up", too many connections) is retried with backoff for
 * `startupTimeoutMs`; a refusal that waiting cannot fix (wrong password, no such database)
 * fails at once. Either way the error names host, port and database, never the URL, which
 * may carry a password.
 *
 * While running, a lost server does not crash the process: idle connections that die are
 * logged and dropped (pool 'error'), a connection that dies while checked out fails the
 * query or transaction that holds it, and every request that needs the database fails
 * (each new connection attempt gives up after `connectTimeoutMs`) until PostgreSQL is
 * back, when the pool opens fresh connections by itself. Nothing is queued or retried
 * behind the caller's back: a transaction that failed was rolled back.
 */
import { ErrorCode } from '@parley/protocol';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createLogger, type Logger } from '../logger.js';
import { KyselyStorage } from './kysely-storage.js';
import type { Database as Schema } from './schema.js';

export interface PostgresStorageOptions {
  /**
   * Schema that holds Parley's tables, created if missing. Default: the first existing
   * schema on the server's search_path (normally `public`).
   */
  schema?: string;
  /** How long to keep retrying while PostgreSQL is unreachable at start. Default 30 s. */
  startupTimeoutMs?: number;
  /** Time allowed to open one connection; after it the query needing it fails. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * How long a query may wait for a free connection while all are busy. Default 30 s: as long
   * as a client waits for its reply, so a burst is served late rather than refused.
   */
  queueTimeoutMs?: number;
  /** Most connections this node holds open. Default 10. */
  poolSize?: number;
  log?: Logger;
}

/** PostgreSQL could not be reached, or refused Parley, at start. The message names the server. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  /** The stable code `parley serve` prints with it (`error UNAVAILABLE: ...`). */
  readonly code = ErrorCode.UNAVAILABLE;
}

const INITIAL_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * int8 (`bigint`, and what count(*) returns) as a JS number, set on this pool only so other
 * users of `pg` in the process keep the driver's default (strings). Parley stores
 * millisecond times and counters there, far below 2^53; a value beyond that fails the query
 * rather than losing precision silently.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value ${text} is outside JavaScript's safe integer range`);
  return value;
}

export async function openPostgresStorage(url: string, options: PostgresStorageOptions = {}): Promise<KyselyStorage> {
  const { schema, startupTimeoutMs = 30_000, connectTimeoutMs = 5_000, queueTimeoutMs = 30_000, poolSize = 10 } = options;
  const log = options.log ?? createLogger('silent');
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TypeError(`options.schema must be a lowercase SQL identifier, not ${JSON.stringify(schema)}`);
  }
  const target = describeTarget(url);

  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, parseInt8);
  // pg-pool's connectionTimeoutMillis bounds both the opening of a connection and the wait for
  // a free one: as the connect timeout it refused queries queued behind a busy pool with
  // "timeout exceeded when trying to connect" under load. Each client bounds its own opening.
  class TimedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectTimeoutMs });
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: poolSize,
    Client: TimedClient,
    connectionTimeoutMillis: queueTimeoutMs,
    keepAlive: true,
    application_name: 'parley',
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection that dies (server restart, network cut) is reported here; without a
  // listener it would be an uncaught exception. The pool discards it and reconnects on demand.
  pool.on('error', (error) => {
    log.warn({ event: 'postgres.connection_lost', target, reason: describeError(error) }, 'an idle PostgreSQL connection failed; it will be replaced when needed');
  });
  // A connection that dies while checked out (between two statements of a transaction) emits
  // 'error' on the client, which pg-pool does not listen to then. The statement that uses it
  // fails instead, and the pool drops it on release.
  pool.on('connect', (client) => {
    client.on('error', (error) => log.debug({ event: 'postgres.client_error', target, reason: describeError(error) }, 'PostgreSQL connection failed'));
  });

  try {
    await waitForServer(pool, target, startupTimeoutMs, log);
    if (schema) await ensureSchema(pool, schema);
    const current = await pool.query<{ schema: string | null }>('select current_schema() as schema');
    const tablesSchema = current.rows[0]?.schema;
    if (!tablesSchema) throw new StorageUnavailableError(`PostgreSQL at ${target}: no schema on the search_path exists; create one or pass a schema`);
    // An `options` parameter in the URL wins over the pool's, and would put the tables elsewhere.
    if (schema && tablesSchema !== schema) throw new StorageUnavailableError(`PostgreSQL at ${target}: the URL's search_path overrides the schema ${schema}`);
    const storage = new KyselyStorage(new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }));
    await storage.migrate({ migrationTableSchema: tablesSchema });
    log.info({ event: 'postgres.ready', target, schema: tablesSchema }, 'PostgreSQL storage ready');
    return storage;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}

/** host:port/database as the driver will resolve it (URL, then PG* variables, then defaults). */
function describeTarget(url: string): string {
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: url });
  } catch {
    // The parser's own error may quote the URL, and with it a password.
    throw new StorageUnavailableError('the PostgreSQL URL is not valid (not shown, as it may hold a password)');
  }
  return `${client.host}:${client.port}/${client.database ?? ''}`;
}

async function waitForServer(pool: pg.Pool, target: string, timeoutMs: number, log: Logger): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('select 1');
      if (attempt > 1) log.info({ event: 'postgres.reachable', target, attempts: attempt }, 'PostgreSQL reachable');
      return;
    } catch (error) {
      const reason = describeError(error);
      if (!isTransient(error)) throw new StorageUnavailableError(`PostgreSQL at ${target} refused the connection: ${reason}`, { cause: error });
      const elapsed = Date.now() - started;
      const delay = Math.min(MAX_RETRY_MS, INITIAL_RETRY_MS * 2 ** (attempt - 1), timeoutMs - elapsed);
      if (delay <= 0) {
        throw new StorageUnavailableError(`PostgreSQL at ${target} is unreachable (gave up after ${attempt} attempts in ${(elapsed / 1000).toFixed(1)} s): ${reason}`, { cause: error });
      }
      log.warn({ event: 'postgres.unreachable', target, attempt, retryInMs: delay, reason }, 'PostgreSQL unreachable, retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Worth waiting for: the network, a server starting or shutting down, a full server. Not: credentials, a missing database, bad options. */
function isTransient(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return /^(08|53|57P)/.test(error.code ?? '');
  if (error instanceof AggregateError) return error.errors.some(isTransient);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return true; // ECONNREFUSED, ENOTFOUND, ETIMEDOUT, ...
  return /timeout|terminated|closed/i.test(error.message);
}

async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  // Checked first because CREATE SCHEMA IF NOT EXISTS still demands the CREATE privilege.
  const existing = await pool.query('select 1 from pg_namespace where nspname = $1', [schema]);
  if (existing.rowCount === 0) await pool.query(`create schema if not exists ${pg.escapeIdentifier(schema)}`);
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return [...new Set(error.errors.map(describeError))].join('; ');
  if (error instanceof Error) return error.message || String((error as { code?: unknown }).code ?? error.name);
  return String(error);
}
