/**
 * What the slowest device of a group acknowledged, by index: every sync.ack deletes the log
 * entries all routed devices have read (kysely-delivery collectAcknowledged), which took the
 * minimum of `acked_seq` over every device of the group, a scan of 1,000 rows per acknowledgement
 * in a 1,000-member group. With this index the minimum is one seek.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('group_devices_by_acked').on('group_devices').columns(['group_id', 'acked_seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('group_devices_by_acked').execute();
}
