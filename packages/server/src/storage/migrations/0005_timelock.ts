/**
 * Time-locked messages (DESIGN §8): the server's RSW moduli, each with its trapdoor sealed under a
 * key from the key file, and the locks until they are released. No plaintext, no sealed text:
 * only the puzzle, and the challenge key once it has been released.
 */
import type { Kysely } from 'kysely';
import { binaryType } from './types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const binary = binaryType(db);
  await db.schema
    .createTable('timelock_moduli')
    .addColumn('id', binary, (col) => col.primaryKey())
    .addColumn('modulus', binary, (col) => col.notNull())
    .addColumn('sealed_trapdoor', binary, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('timelocks')
    .addColumn('lock_id', binary, (col) => col.primaryKey())
    .addColumn('group_id', binary, (col) => col.notNull().references('groups.group_id'))
    .addColumn('creator_username', 'text', (col) => col.notNull())
    .addColumn('creator_device', 'text', (col) => col.notNull())
    // No foreign key: a modulus goes (with its trapdoor) once its locks are released, the released rows stay.
    .addColumn('modulus_id', binary, (col) => col.notNull())
    .addColumn('base', binary, (col) => col.notNull())
    .addColumn('squarings', 'bigint', (col) => col.notNull())
    .addColumn('masked_key', binary, (col) => col.notNull())
    .addColumn('unlock_at', 'bigint', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('released_at', 'bigint')
    .addColumn('released_key', binary)
    .execute();
  // The release scheduler's query: unreleased locks by unlock time.
  await db.schema.createIndex('timelocks_due').on('timelocks').columns(['released_at', 'unlock_at']).execute();
  await db.schema.createIndex('timelocks_by_creator').on('timelocks').columns(['creator_username', 'released_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('timelocks').execute();
  await db.schema.dropTable('timelock_moduli').execute();
}
