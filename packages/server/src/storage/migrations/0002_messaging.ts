/**
 * Messaging (DESIGN §6): KeyPackages, groups with their admins and routing lists, one ordered log
 * per group, and a per-device mailbox. Portable between SQLite and PostgreSQL: no autoincrement
 * columns (mailbox ids come from the `counters` table inside the inserting transaction), booleans
 * stored as 0/1 integers, times and sequence numbers as bigint.
 */
import { sql, type Kysely } from 'kysely';
import { binaryType } from './types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const binary = binaryType(db);

  // Named monotonic counters. Allocating with `UPDATE ... SET value = value + n RETURNING value`
  // holds the row lock until commit, so ids become visible in allocation order on every dialect.
  await db.schema
    .createTable('counters')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('value', 'bigint', (col) => col.notNull())
    .execute();
  await sql`insert into counters (name, value) values ('mailbox', 0)`.execute(db);

  await db.schema
    .createTable('key_packages')
    .addColumn('username', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    // RFC 9420 §5.2 KeyPackageRef: unique per KeyPackage, so re-uploads are idempotent.
    .addColumn('id', binary, (col) => col.notNull())
    .addColumn('key_package', binary, (col) => col.notNull())
    .addColumn('last_resort', 'integer', (col) => col.notNull())
    .addColumn('expires_at', 'bigint', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('key_packages_pk', ['username', 'device_id', 'id'])
    .addForeignKeyConstraint('key_packages_device_fk', ['username', 'device_id'], 'devices', ['username', 'device_id'])
    .execute();
  await db.schema.createIndex('key_packages_claim').on('key_packages').columns(['username', 'device_id', 'last_resort', 'created_at']).execute();

  await db.schema
    .createTable('groups')
    .addColumn('group_id', binary, (col) => col.primaryKey())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('epoch', 'bigint', (col) => col.notNull())
    .addColumn('group_info', binary, (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    // Sequence number of the newest log entry; the next one gets last_seq + 1.
    .addColumn('last_seq', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('group_admins')
    .addColumn('group_id', binary, (col) => col.notNull().references('groups.group_id'))
    .addColumn('username', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('group_admins_pk', ['group_id', 'username'])
    .execute();

  // The routing list and each device's cursor. A removed device keeps its row (removed_seq set)
  // until it has acknowledged the commit that removed it, so it can still read what came before.
  await db.schema
    .createTable('group_devices')
    .addColumn('group_id', binary, (col) => col.notNull().references('groups.group_id'))
    .addColumn('username', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('acked_seq', 'bigint', (col) => col.notNull())
    .addColumn('joined_seq', 'bigint', (col) => col.notNull())
    .addColumn('removed_seq', 'bigint')
    .addPrimaryKeyConstraint('group_devices_pk', ['group_id', 'username', 'device_id'])
    .execute();
  await db.schema.createIndex('group_devices_by_device').on('group_devices').columns(['username', 'device_id']).execute();

  await db.schema
    .createTable('group_log')
    .addColumn('group_id', binary, (col) => col.notNull().references('groups.group_id'))
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('epoch', 'bigint', (col) => col.notNull())
    .addColumn('sender_username', 'text', (col) => col.notNull())
    .addColumn('sender_device', 'text', (col) => col.notNull())
    .addColumn('payload', binary, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('group_log_pk', ['group_id', 'seq'])
    .execute();
  await db.schema.createIndex('group_log_by_time').on('group_log').column('created_at').execute();

  await db.schema
    .createTable('mailbox')
    .addColumn('id', 'bigint', (col) => col.primaryKey())
    .addColumn('username', 'text', (col) => col.notNull())
    .addColumn('device_id', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('group_id', binary, (col) => col.notNull())
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('sender_username', 'text', (col) => col.notNull())
    .addColumn('sender_device', 'text', (col) => col.notNull())
    .addColumn('payload', binary)
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('mailbox_by_device').on('mailbox').columns(['username', 'device_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['mailbox', 'group_log', 'group_devices', 'group_admins', 'groups', 'key_packages', 'counters']) {
    await db.schema.dropTable(table).execute();
  }
}
