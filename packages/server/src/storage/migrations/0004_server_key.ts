/** The server key a database serves with, recorded on first start, so a node with another key refuses to start on it. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('server_key')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // The Noise static key's fingerprint (public); the key itself stays in the key file.
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('recorded_at', 'bigint', (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('server_key').execute();
}
