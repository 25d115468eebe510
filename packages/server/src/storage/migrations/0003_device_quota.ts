/** Per-device backlog quota: what the server dropped for a device that fell too far behind, until it is told. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('group_devices').addColumn('quota_gap_from', 'bigint').execute();
  await db.schema.alterTable('group_devices').addColumn('quota_gap_to', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('group_devices').dropColumn('quota_gap_to').execute();
  await db.schema.alterTable('group_devices').dropColumn('quota_gap_from').execute();
}
