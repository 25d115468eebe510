/**
 * Consent (DESIGN §6, §7): each account's contacts and the users it blocks. Presence is shown only
 * between mutual contacts, and blocks are enforced by the server, so it keeps both lists (the
 * README says so). The indexes on the second column answer "who has me" for presence and blocks.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('contacts')
    .addColumn('owner', 'text', (col) => col.notNull().references('accounts.username'))
    .addColumn('contact', 'text', (col) => col.notNull().references('accounts.username'))
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('contacts_pk', ['owner', 'contact'])
    .execute();
  await db.schema.createIndex('contacts_by_contact').on('contacts').columns(['contact', 'owner']).execute();

  await db.schema
    .createTable('blocks')
    .addColumn('owner', 'text', (col) => col.notNull().references('accounts.username'))
    .addColumn('blocked', 'text', (col) => col.notNull().references('accounts.username'))
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('blocks_pk', ['owner', 'blocked'])
    .execute();
  await db.schema.createIndex('blocks_by_blocked').on('blocks').columns(['blocked', 'owner']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('blocks').execute();
  await db.schema.dropTable('contacts').execute();
}
