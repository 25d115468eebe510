/** Accounts (OPAQUE record, public keys, sealed key backups) and their devices. */
import type { Kysely } from 'kysely';
import { binaryType } from './types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const binary = binaryType(db);
  await db.schema
    .createTable('accounts')
    .addColumn('username', 'text', (col) => col.primaryKey())
    .addColumn('identity_key', binary, (col) => col.notNull())
    .addColumn('recovery_key', binary, (col) => col.notNull())
    .addColumn('opaque_record', binary, (col) => col.notNull())
    .addColumn('backup', binary, (col) => col.notNull())
    .addColumn('recovery_backup', binary, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('devices')
    .addColumn('username', 'text', (col) => col.notNull().references('accounts.username'))
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('public_key', binary, (col) => col.notNull())
    .addColumn('certificate', binary, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('last_seen_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addPrimaryKeyConstraint('devices_pk', ['username', 'device_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('devices').execute();
  await db.schema.dropTable('accounts').execute();
}
