/**
 * What a resend is checked against (group.send `resend`): the digest of each application message
 * in a group's last entries, kept apart from the log. The log loses an entry once every device
 * acknowledged it, so a lookup there would tell the sender whether the others had read it yet.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { binaryType } from './types.js';

interface MessageRow {
  group_id: Uint8Array;
  seq: number | string;
  epoch: number | string;
  sender_username: string;
  sender_device: string;
  payload: Uint8Array;
  created_at: number | string;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const binary = binaryType(db);
  await db.schema
    .createTable('sent_messages')
    .addColumn('group_id', binary, (col) => col.notNull().references('groups.group_id'))
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('epoch', 'bigint', (col) => col.notNull())
    .addColumn('sender_username', 'text', (col) => col.notNull())
    .addColumn('sender_device', 'text', (col) => col.notNull())
    .addColumn('digest', binary, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('sent_messages_pk', ['group_id', 'seq'])
    .execute();
  await db.schema.createIndex('sent_messages_by_time').on('sent_messages').column('created_at').execute();
  // The messages still in the log, so that a resend of one sent just before the upgrade is still found.
  const typed = db as Kysely<{ group_log: MessageRow & { kind: string }; sent_messages: Omit<MessageRow, 'payload'> & { digest: Uint8Array } }>;
  const messages = await typed.selectFrom('group_log').select(['group_id', 'seq', 'epoch', 'sender_username', 'sender_device', 'payload', 'created_at']).where('kind', '=', 'message').execute();
  for (const { payload, ...row } of messages) {
    await typed
      .insertInto('sent_messages')
      .values({ ...row, digest: createHash('sha256').update(payload).digest() })
      .execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sent_messages').execute();
}
