/** @module The embedded default: SQLite through better-sqlite3, in WAL mode. */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStorage } from './kysely-storage.js';
import type { Database as Schema } from './schema.js';

export async function openSqliteStorage(file: string): Promise<KyselyStorage> {
  const sqlite = new Database(file);
  // WAL lets readers run beside the writer; NORMAL sync is crash-safe for process crashes (kill -9).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const storage = new KyselyStorage(new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) }));
  await storage.migrate();
  return storage;
}
