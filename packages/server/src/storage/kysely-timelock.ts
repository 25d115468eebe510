/** @module Time-lock queries (DESIGN §8): moduli, locks, and the release that queues a mailbox entry per member device. */
import type { Kysely, Selectable } from 'kysely';
import { allocateMailboxIds } from './kysely-commits.js';
import { bytes, int, toMailboxRecord } from './rows.js';
import type { Database, MailboxTable, TimelocksTable } from './schema.js';
import type { NewTimelock, TimelockModulusRecord, TimelockRecord } from './timelock-types.js';
import type { MailboxRecord } from './types.js';

type Db = Kysely<Database>;

function toTimelock(row: Selectable<TimelocksTable>): TimelockRecord {
  return {
    lockId: bytes(row.lock_id),
    groupId: bytes(row.group_id),
    creator: { username: row.creator_username, deviceId: row.creator_device },
    modulusId: bytes(row.modulus_id),
    base: bytes(row.base),
    squarings: int(row.squarings),
    maskedKey: bytes(row.masked_key),
    unlockAt: int(row.unlock_at),
    createdAt: int(row.created_at),
    released: row.released_at === null || row.released_key === null ? undefined : { at: int(row.released_at), key: bytes(row.released_key) },
  };
}

export async function addTimelockModulus(db: Db, modulus: TimelockModulusRecord): Promise<void> {
  await db
    .insertInto('timelock_moduli')
    .values({ id: modulus.id, modulus: modulus.modulus, sealed_trapdoor: modulus.sealedTrapdoor, created_at: modulus.createdAt })
    .execute();
}

export async function listTimelockModuli(db: Db): Promise<TimelockModulusRecord[]> {
  const rows = await db.selectFrom('timelock_moduli').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
  return rows.map((row) => ({ id: bytes(row.id), modulus: bytes(row.modulus), sealedTrapdoor: bytes(row.sealed_trapdoor), createdAt: int(row.created_at) }));
}

export async function retireTimelockModuli(db: Db, before: number): Promise<number> {
  const result = await db
    .deleteFrom('timelock_moduli')
    .where('created_at', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('timelocks').select('lock_id').whereRef('timelocks.modulus_id', '=', 'timelock_moduli.id').where('released_at', 'is', null))),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function addTimelock(db: Db, lock: NewTimelock): Promise<void> {
  await db
    .insertInto('timelocks')
    .values({
      lock_id: lock.lockId,
      group_id: lock.groupId,
      creator_username: lock.creator.username,
      creator_device: lock.creator.deviceId,
      modulus_id: lock.modulusId,
      base: lock.base,
      squarings: lock.squarings,
      masked_key: lock.maskedKey,
      unlock_at: lock.unlockAt,
      created_at: lock.createdAt,
      released_at: null,
      released_key: null,
    })
    .execute();
}

export async function getTimelocks(db: Db, lockIds: readonly Uint8Array[]): Promise<TimelockRecord[]> {
  if (lockIds.length === 0) return [];
  const rows = await db.selectFrom('timelocks').selectAll().where('lock_id', 'in', lockIds).execute();
  return rows.map(toTimelock);
}

export async function countPendingTimelocks(db: Db, username: string): Promise<number> {
  const row = await db
    .selectFrom('timelocks')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('creator_username', '=', username)
    .where('released_at', 'is', null)
    .executeTakeFirstOrThrow();
  return int(row.count);
}

export async function nextTimelockUnlock(db: Db): Promise<number | undefined> {
  const row = await db.selectFrom('timelocks').select((eb) => eb.fn.min<number>('unlock_at').as('next')).where('released_at', 'is', null).executeTakeFirst();
  return row?.next === null || row?.next === undefined ? undefined : int(row.next);
}

export async function dueTimelocks(db: Db, now: number, limit: number): Promise<TimelockRecord[]> {
  const rows = await db
    .selectFrom('timelocks')
    .selectAll()
    .where('released_at', 'is', null)
    .where('unlock_at', '<=', now)
    .orderBy('unlock_at')
    .orderBy('lock_id')
    .limit(limit)
    .execute();
  return rows.map(toTimelock);
}

export async function releaseTimelock(db: Db, lockId: Uint8Array, release: { key: Uint8Array; payload: Uint8Array; at: number }): Promise<MailboxRecord[] | undefined> {
  return db.transaction().execute(async (tx) => {
    // Claiming the row is what makes the release happen once, whichever node gets there first.
    const claimed = await tx
      .updateTable('timelocks')
      .set({ released_at: release.at, released_key: release.key })
      .where('lock_id', '=', lockId)
      .where('released_at', 'is', null)
      .returning(['group_id', 'creator_username', 'creator_device'])
      .executeTakeFirst();
    if (!claimed) return undefined;
    const group = await tx.selectFrom('groups').select('last_seq').where('group_id', '=', claimed.group_id).executeTakeFirstOrThrow();
    const routed = await tx
      .selectFrom('group_devices')
      .select(['username', 'device_id'])
      .where('group_id', '=', claimed.group_id)
      .where('removed_seq', 'is', null)
      .orderBy('joined_seq')
      .orderBy('username')
      .orderBy('device_id')
      .execute();
    if (routed.length === 0) return [];
    const first = await allocateMailboxIds(tx, routed.length);
    const rows: MailboxTable[] = routed.map((device, i) => ({
      id: first + i,
      username: device.username,
      device_id: device.device_id,
      kind: 'release',
      group_id: claimed.group_id,
      seq: int(group.last_seq),
      sender_username: claimed.creator_username,
      sender_device: claimed.creator_device,
      payload: release.payload,
      created_at: release.at,
    }));
    await tx.insertInto('mailbox').values(rows).execute();
    return rows.map(toMailboxRecord);
  });
}

export async function deleteReleasedTimelocks(db: Db, cutoff: number): Promise<number> {
  const result = await db.deleteFrom('timelocks').where('released_at', 'is not', null).where('released_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
