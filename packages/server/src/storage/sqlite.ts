/** @module The embedded default: SQLite through better-sqlite3, in WAL mode. */
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type KyselyPlugin, type PluginTransformResultArgs, type QueryResult, type UnknownRow } from 'kysely';
import { KyselyStorage } from './kysely-storage.js';
import type { Database as Schema } from './schema.js';

/** How long queries may run back to back before the event loop gets a turn. */
const SLICE_MS = 2;

/**
 * better-sqlite3 runs each query synchronously, and Kysely's awaits on it settle as microtasks, so
 * a backlog of requests (a flood on several connections) would run query after query without the
 * event loop ever reading a socket: everyone else's pings and replies would wait for all of it.
 * After every few milliseconds of queries, this waits one turn of the event loop (DESIGN §10).
 */
class EventLoopTurns implements KyselyPlugin {
  private sliceStarted = performance.now();

  transformQuery: KyselyPlugin['transformQuery'] = (args) => args.node;

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (performance.now() - this.sliceStarted > SLICE_MS) {
      await nextTurn();
      this.sliceStarted = performance.now();
    }
    return args.result;
  }
}

export async function openSqliteStorage(file: string): Promise<KyselyStorage> {
  const sqlite = new Database(file);
  // WAL lets readers run beside the writer; NORMAL sync is crash-safe for process crashes (kill -9).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const storage = new KyselyStorage(new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }), plugins: [new EventLoopTurns()] }));
  await storage.migrate();
  return storage;
}
