/**
 * @module The digests resends are checked against (group.send `resend`): one row per application
 * message in a group's last `window` entries. Unlike the log entry, the row stays when every device
 * has acknowledged the message, so the answer to a resend never tells whether anyone has read it.
 */
import { createHash } from 'node:crypto';
import type { DeviceRef } from '@parley/protocol';
import type { Kysely, Transaction } from 'kysely';
import { CompiledOnce } from './compiled-once.js';
import { int } from './rows.js';
import type { Database } from './schema.js';
import type { LogRecord } from './types.js';

type Db = Kysely<Database>;

const digestOf = (payload: Uint8Array): Uint8Array => createHash('sha256').update(payload).digest();

const insertSent = new CompiledOnce((db, groupId: Uint8Array, seq: number, epoch: number, username: string, deviceId: string, digest: Uint8Array, createdAt: number) =>
  db.insertInto('sent_messages').values({ group_id: groupId, seq, epoch, sender_username: username, sender_device: deviceId, digest, created_at: createdAt }),
);

const forgetBefore = new CompiledOnce((db, groupId: Uint8Array, keepAfter: number) => db.deleteFrom('sent_messages').where('group_id', '=', groupId).where('seq', '<=', keepAfter));

/** Records the message of `entry` (in the transaction that appends it), and forgets what fell out of the group's last `window` entries. */
export async function recordSent(tx: Transaction<Database>, entry: LogRecord, window: number | undefined): Promise<void> {
  const { groupId, seq, sender } = entry;
  await insertSent.execute(tx, groupId, seq, entry.epoch, sender.username, sender.deviceId, digestOf(entry.payload), entry.createdAt);
  if (window !== undefined) await forgetBefore.execute(tx, groupId, seq - window);
}

export async function findSentMessage(db: Db, groupId: Uint8Array, sender: DeviceRef, epoch: number, payload: Uint8Array, window: number): Promise<number | undefined> {
  const group = await db.selectFrom('groups').select('last_seq').where('group_id', '=', groupId).executeTakeFirst();
  if (!group) return undefined;
  // A range of the primary key (group_id, seq): bounded work, however long the log is.
  const row = await db
    .selectFrom('sent_messages')
    .select('seq')
    .where('group_id', '=', groupId)
    .where('seq', '>', int(group.last_seq) - window)
    .where('epoch', '=', epoch)
    .where('sender_username', '=', sender.username)
    .where('sender_device', '=', sender.deviceId)
    .where('digest', '=', digestOf(payload))
    .executeTakeFirst();
  return row === undefined ? undefined : int(row.seq);
}

/** Retention (DESIGN §6): digests go with the log entries of their age. */
export async function deleteSentBefore(db: Db, cutoff: number): Promise<void> {
  await db.deleteFrom('sent_messages').where('created_at', '<', cutoff).execute();
}
