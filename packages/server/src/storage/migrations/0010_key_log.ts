/**
 * The key-transparency log (DESIGN §11): one row per leaf of the append-only Merkle tree, by
 * index from 0. Leaf indexes come from the `key_log` counter inside the transaction that changes
 * the keys, so leaves become visible in index order and the committed log is always a prefix.
 * The leaf hash is kept so a server node can rebuild its tree without re-hashing every leaf.
 */
import { sql, type Kysely } from 'kysely';
import { binaryType } from './types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const binary = binaryType(db);
  await db.schema
    .createTable('key_log')
    .addColumn('idx', 'bigint', (col) => col.primaryKey())
    .addColumn('username', 'text', (col) => col.notNull().references('accounts.username'))
    .addColumn('leaf', binary, (col) => col.notNull())
    .addColumn('leaf_hash', binary, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('key_log_by_user').on('key_log').columns(['username', 'idx']).execute();
  await sql`insert into counters (name, value) values ('key_log', 0)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('key_log').execute();
  await sql`delete from counters where name = 'key_log'`.execute(db);
}
