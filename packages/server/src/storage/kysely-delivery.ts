/**
 * @module Delivery queries (DESIGN §6): what a device has not acknowledged yet, moving its cursors,
 * and deleting what everyone acknowledged or what outlived the retention limit.
 */
import type { DeviceRef } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { CompiledOnce } from './compiled-once.js';
import { deleteSentBefore } from './kysely-sent-messages.js';
import { bytes, hexKey, int, optionalInt, toLogRecord, toMailboxRecord } from './rows.js';
import type { Database } from './schema.js';
import type { Acknowledgement, CursorRecord, DeviceFetch, GapRecord, LogRange } from './types.js';

type Db = Kysely<Database>;

/** What each entry of a reply costs besides its payload (ids, names, CBOR framing), for budgeting. */
export const FETCH_ENTRY_OVERHEAD = 256;

/** The log entries a device has not acknowledged (within `range`), oldest first per group, as a query to refine. */
function unread(db: Db, device: DeviceRef, range: LogRange | undefined) {
  let query = db
    .selectFrom('group_log as l')
    .innerJoin('group_devices as d', 'd.group_id', 'l.group_id')
    .where('d.username', '=', device.username)
    .where('d.device_id', '=', device.deviceId)
    .whereRef('l.seq', '>', 'd.acked_seq')
    // A removed device still gets everything up to and including the commit that removed it.
    .where((eb) => eb.or([eb('d.removed_seq', 'is', null), eb('l.seq', '<=', eb.ref('d.removed_seq'))]))
    // Not the device's own entries: it knows their seq, and their keys are gone (RFC 9420 §9.2 deletion schedule).
    .where((eb) => eb.or([eb('l.sender_username', '<>', device.username), eb('l.sender_device', '<>', device.deviceId)]));
  if (range) {
    query = query.where('l.group_id', '=', range.groupId).where('l.seq', '>=', range.fromSeq);
    if (range.toSeq !== undefined) query = query.where('l.seq', '<=', range.toSeq);
  }
  return query;
}

/** How many of `sizes` fit in `budget` (at least one if nothing was taken before), and what is left. */
function fit(sizes: readonly (number | string | null)[], budget: number, takenBefore: number): { count: number; left: number } {
  let left = budget;
  let count = 0;
  for (const size of sizes) {
    const cost = int(size ?? 0) + FETCH_ENTRY_OVERHEAD;
    if (cost > left && takenBefore + count > 0) break;
    left -= cost;
    count++;
  }
  return { count, left };
}

/**
 * Sizes are read first and payloads only for what fits in `maxBytes`, so a reply stays within
 * one protocol envelope however large the waiting entries are; `more` says the rest is waiting.
 */
export async function fetchForDevice(db: Db, device: DeviceRef, options: { limit: number; maxBytes: number; range?: LogRange }): Promise<DeviceFetch> {
  const { limit, maxBytes, range } = options;
  // One row past the limit tells whether more is waiting. A range is one group's log: no mailbox.
  const boxSizes = range
    ? []
    : await db
        .selectFrom('mailbox')
        .select((eb) => ['id', eb.fn<number | null>('length', ['payload']).as('size')])
        .where('username', '=', device.username)
        .where('device_id', '=', device.deviceId)
        .orderBy('id')
        .limit(limit + 1)
        .execute();
  const boxFit = fit(boxSizes.slice(0, limit).map((row) => row.size), maxBytes, 0);
  const boxIds = boxSizes.slice(0, boxFit.count).map((row) => row.id);
  const mailbox =
    boxIds.length === 0
      ? []
      : (
          await db
            .selectFrom('mailbox')
            .selectAll()
            .where('username', '=', device.username)
            .where('device_id', '=', device.deviceId)
            .where('id', 'in', boxIds)
            .orderBy('id')
            .execute()
        ).map(toMailboxRecord);
  let more = boxSizes.length > boxFit.count;

  const room = limit - boxIds.length;
  const entrySizes = await unread(db, device, range)
    .select((eb) => ['l.group_id', 'l.seq', eb.fn<number | null>('length', ['l.payload']).as('size')])
    .orderBy('l.group_id')
    .orderBy('l.seq')
    .limit(room + 1)
    .execute();
  const entryFit = more ? { count: 0 } : fit(entrySizes.slice(0, room).map((row) => row.size), boxFit.left, boxIds.length);
  more ||= entrySizes.length > entryFit.count;

  // The chosen entries are, per group, a run of consecutive sequence numbers: fetch each run.
  const runs = new Map<string, { groupId: Uint8Array; from: number; to: number }>();
  for (const row of entrySizes.slice(0, entryFit.count)) {
    const key = hexKey(row.group_id);
    const run = runs.get(key) ?? { groupId: row.group_id, from: int(row.seq), to: int(row.seq) };
    run.to = int(row.seq);
    runs.set(key, run);
  }
  const entries: DeviceFetch['entries'] = [];
  for (const run of runs.values()) {
    const rows = await db
      .selectFrom('group_log as l')
      .selectAll('l')
      .where('l.group_id', '=', run.groupId)
      .where('l.seq', '>=', run.from)
      .where('l.seq', '<=', run.to)
      .where((eb) => eb.or([eb('l.sender_username', '<>', device.username), eb('l.sender_device', '<>', device.deviceId)]))
      .orderBy('l.seq')
      .execute();
    entries.push(...rows.map(toLogRecord));
  }
  return { mailbox, entries, gaps: await findGaps(db, device, range?.groupId), more };
}

/** Entries between a cursor and the oldest entry still kept were deleted by retention: say so. */
async function findGaps(db: Db, device: DeviceRef, groupId: Uint8Array | undefined): Promise<GapRecord[]> {
  let query = db
    .selectFrom('group_devices as d')
    .innerJoin('groups as g', 'g.group_id', 'd.group_id')
    .select((eb) => [
      'd.group_id',
      'd.acked_seq',
      'd.removed_seq',
      'd.quota_gap_from',
      'd.quota_gap_to',
      'g.last_seq',
      eb.selectFrom('group_log as l').select((inner) => inner.fn.min('l.seq').as('oldest')).whereRef('l.group_id', '=', 'd.group_id').as('oldest'),
    ])
    .where('d.username', '=', device.username)
    .where('d.device_id', '=', device.deviceId);
  if (groupId) query = query.where('d.group_id', '=', groupId);
  const rows = await query.orderBy('d.group_id').execute();
  const gaps: GapRecord[] = [];
  for (const row of rows) {
    const acked = int(row.acked_seq);
    const end = optionalInt(row.removed_seq) ?? int(row.last_seq);
    const oldest = optionalInt(row.oldest) ?? int(row.last_seq) + 1;
    const quotaFrom = optionalInt(row.quota_gap_from);
    const quotaTo = optionalInt(row.quota_gap_to);
    if (quotaFrom !== undefined && quotaTo !== undefined) gaps.push({ groupId: bytes(row.group_id), fromSeq: quotaFrom, toSeq: quotaTo, reason: 'quota' });
    const toSeq = Math.min(oldest - 1, end);
    if (toSeq > acked) gaps.push({ groupId: bytes(row.group_id), fromSeq: acked + 1, toSeq, reason: 'retention' });
  }
  return gaps;
}

const selectCursors = new CompiledOnce((db, username: string, deviceId: string) =>
  db
    .selectFrom('group_devices as d')
    .innerJoin('groups as g', 'g.group_id', 'd.group_id')
    .select(['d.group_id', 'd.acked_seq', 'd.removed_seq', 'g.last_seq'])
    .where('d.username', '=', username)
    .where('d.device_id', '=', deviceId)
    .orderBy('d.group_id'),
);

export async function listCursors(db: Db, device: DeviceRef): Promise<CursorRecord[]> {
  const rows = await selectCursors.rows(db, device.username, device.deviceId);
  return rows.map((row) => ({
    groupId: bytes(row.group_id),
    ackedSeq: int(row.acked_seq),
    removedSeq: optionalInt(row.removed_seq),
    lastSeq: int(row.last_seq),
  }));
}

/**
 * Everything a sync.ack changes, in one transaction (one durable commit to wait for, not one per
 * statement). Deadlocks (PostgreSQL): it locks its own cursor rows in group order, then log rows
 * in group order, and commits, which lock a group's row and then its cursor rows, never wait for
 * log rows; so every chain of waits climbs in group order and cannot close into a cycle.
 */
export async function acknowledge(db: Db, device: DeviceRef, ack: Acknowledgement, check: (cursors: CursorRecord[]) => void): Promise<{ mailbox: number; entries: number }> {
  return db.transaction().execute(async (tx) => {
    const before = await listCursors(tx, device);
    check(before);
    const cursors = [...ack.cursors].sort((a, b) => compareBytes(a.groupId, b.groupId));
    await moveCursors(tx, device, cursors, { removedSomewhere: before.some((cursor) => cursor.removedSeq !== undefined) });
    const mailbox = await deleteMailbox(tx, device, ack.mailbox);
    let entries = 0;
    for (const { groupId } of cursors) entries += await collectAcknowledged(tx, groupId);
    return { mailbox, entries };
  });
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/**
 * The cursor moves forward only, and acknowledging the end of a quota gap means the device was
 * told: forget the gap. One statement for both (every sync.ack runs it), each CASE reading the
 * row as it was.
 */
const moveCursor = new CompiledOnce((db, groupId: Uint8Array, username: string, deviceId: string, seq: number) =>
  db
    .updateTable('group_devices')
    .set((eb) => ({
      acked_seq: eb.case().when('acked_seq', '<', seq).then(seq).else(eb.ref('acked_seq')).end(),
      quota_gap_from: eb.case().when('quota_gap_to', '<=', seq).then(null).else(eb.ref('quota_gap_from')).end(),
      quota_gap_to: eb.case().when('quota_gap_to', '<=', seq).then(null).else(eb.ref('quota_gap_to')).end(),
    }))
    .where('group_id', '=', groupId)
    .where('username', '=', username)
    .where('device_id', '=', deviceId)
    .where((eb) => eb.or([eb('acked_seq', '<', seq), eb('quota_gap_to', '<=', seq)])),
);

// A removed device that has read its removal needs nothing more from the group.
const dropReadRemovals = new CompiledOnce((db, username: string, deviceId: string) =>
  db
    .deleteFrom('group_devices')
    .where('username', '=', username)
    .where('device_id', '=', deviceId)
    .where('removed_seq', 'is not', null)
    .whereRef('acked_seq', '>=', 'removed_seq'),
);

async function moveCursors(db: Db, device: DeviceRef, cursors: readonly { groupId: Uint8Array; seq: number }[], options: { removedSomewhere: boolean }): Promise<void> {
  for (const { groupId, seq } of cursors) {
    await moveCursor.execute(db, groupId, device.username, device.deviceId, seq);
  }
  if (cursors.length > 0 && options.removedSomewhere) await dropReadRemovals.execute(db, device.username, device.deviceId);
}

export async function advanceCursors(db: Db, device: DeviceRef, cursors: readonly { groupId: Uint8Array; seq: number }[]): Promise<void> {
  await moveCursors(db, device, cursors, { removedSomewhere: true });
}

export async function deleteMailbox(db: Db, device: DeviceRef, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .deleteFrom('mailbox')
    .where('username', '=', device.username)
    .where('device_id', '=', device.deviceId)
    .where('id', 'in', [...ids])
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** More than any sequence number: with no device left to read it, the whole log can go. */
const EVERYTHING = Number.MAX_SAFE_INTEGER;

const deleteAcknowledged = new CompiledOnce((db, groupId: Uint8Array) =>
  db
    .deleteFrom('group_log')
    .where('group_id', '=', groupId)
    .where('seq', '<=', (eb) =>
      eb
        .selectFrom('group_devices')
        .select((inner) => inner.fn.coalesce(inner.fn.min('acked_seq'), inner.val(EVERYTHING)).as('acked'))
        .where('group_id', '=', groupId),
    ),
);

/** What the slowest device acknowledged, in one statement. */
export async function collectAcknowledged(db: Db, groupId: Uint8Array): Promise<number> {
  return deleteAcknowledged.changed(db, groupId);
}

export async function deleteLogBefore(db: Db, cutoff: number): Promise<number> {
  await deleteSentBefore(db, cutoff);
  const result = await db.deleteFrom('group_log').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
