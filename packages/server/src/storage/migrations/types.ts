/** @module Column types that differ between SQLite and PostgreSQL, so one migration serves both. */
import { PostgresAdapter, type Kysely } from 'kysely';

export function binaryType(db: Kysely<unknown>): 'bytea' | 'blob' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
}
