/** @module The embedded default: SQLite through better-sqlite3, in WAL mode, readable by its owner only. */
import { chmodSync, closeSync, openSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Kysely, type KyselyPlugin, type PluginTransformResultArgs, type QueryResult, type UnknownRow } from 'kysely';
import { KyselyStorage } from './kysely-storage.js';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.js';
import type { Database as Schema } from './schema.js';

const OWNER_ONLY = 0o600;

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
  ownerOnly(file);
  const sqlite = new Database(file);
  // WAL lets readers run beside the writer. NORMAL leaves each commit's fsync of the WAL to the
  // group-commit driver (./sqlite-group-commit.ts), which makes it off the event loop, once per
  // batch, before it answers: what was acknowledged survives a power cut, not just a killed process.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // SQLite gives the WAL and shared-memory files the database file's mode; older ones are fixed here.
  for (const companion of [`${file}-wal`, `${file}-shm`]) ownerOnly(companion, { create: false });
  const storage = new KyselyStorage(new Kysely<Schema>({ dialect: new GroupCommitSqliteDialect(sqlite), plugins: [new EventLoopTurns()] }));
  await storage.migrate();
  return storage;
}

/**
 * Makes `file` readable and writable by its owner only, creating it empty first unless told not
 * to, whatever the directory's mode and the umask: the database holds every account's OPAQUE
 * record and sealed key backups.
 */
function ownerOnly(file: string, options: { create?: boolean } = {}): void {
  try {
    if (options.create ?? true) closeSync(openSync(file, 'a', OWNER_ONLY));
    chmodSync(file, OWNER_ONLY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.create !== false) throw error;
  }
}
