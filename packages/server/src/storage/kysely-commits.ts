/**
 * @module The writes that move a group on (RFC 9420 §14, DESIGN §6): the atomic commit, application
 * messages, and a user leaving. Each runs in one transaction.
 *
 * Concurrency: every write that depends on the group's state first claims the group row with a
 * conditional UPDATE (`... WHERE epoch = ?` for commits). In PostgreSQL that row lock is held to
 * the end of the transaction, so later statements see the latest committed routing list and a
 * concurrent commit for the same epoch waits, then matches no row; SQLite serialises writers.
 * Lists (the devices a commit adds or removes, its leaves) are written in one statement each.
 */
import type { DeviceRef } from '@parley/protocol';
import type { Kysely, Transaction } from 'kysely';
import { CompiledOnce } from './compiled-once.js';
import { addAdmin, admins, deviceKey, leafRow, members } from './kysely-groups.js';
import { recordSent } from './kysely-sent-messages.js';
import { int, toMailboxRecord } from './rows.js';
import type { Database, MailboxTable } from './schema.js';
import {
  StaleEpochError,
  StorageNotFoundError,
  type CommitResult,
  type GroupCheck,
  type GroupKind,
  type LogRecord,
  type MailboxRecord,
  type MessageCheck,
  type NewCommit,
  type NewMessage,
} from './types.js';

type Db = Kysely<Database>;

/** Mailbox ids come from a counter row whose lock is held until commit, so ids appear in order. */
export async function allocateMailboxIds(tx: Transaction<Database>, count: number): Promise<number> {
  const row = await tx
    .updateTable('counters')
    .set((eb) => ({ value: eb('value', '+', count) }))
    .where('name', '=', 'mailbox')
    .returning('value')
    .executeTakeFirstOrThrow();
  return int(row.value) - count + 1;
}

const insertLogEntry = new CompiledOnce(
  (db, groupId: Uint8Array, seq: number, kind: string, epoch: number, senderUsername: string, senderDevice: string, payload: Uint8Array, createdAt: number) =>
    db.insertInto('group_log').values({
      group_id: groupId,
      seq,
      kind,
      epoch,
      sender_username: senderUsername,
      sender_device: senderDevice,
      payload,
      created_at: createdAt,
    }),
);

// A sender that had read everything before its own entry has read that too: it never fetches
// its own entries, and its cursor must not hold back the log's garbage collection.
const followOwnEntry = new CompiledOnce((db, groupId: Uint8Array, username: string, deviceId: string, seq: number, previous: number) =>
  db
    .updateTable('group_devices')
    .set({ acked_seq: seq })
    .where('group_id', '=', groupId)
    .where('username', '=', username)
    .where('device_id', '=', deviceId)
    .where('acked_seq', '=', previous),
);

// DESIGN §6 quota: a device more than `backlogQuota` entries behind skips the oldest; the skipped
// range is remembered and reported to it as a gap, never silently lost.
const skipPastQuota = new CompiledOnce((db, groupId: Uint8Array, keepFrom: number) =>
  db
    .updateTable('group_devices')
    .set((eb) => ({
      quota_gap_from: eb.fn.coalesce('quota_gap_from', eb('acked_seq', '+', 1)),
      quota_gap_to: keepFrom,
      acked_seq: keepFrom,
    }))
    .where('group_id', '=', groupId)
    .where('removed_seq', 'is', null)
    .where('acked_seq', '<', keepFrom),
);

async function appendLog(tx: Transaction<Database>, entry: LogRecord, backlogQuota: number | undefined): Promise<void> {
  const { groupId, seq, sender } = entry;
  await insertLogEntry.execute(tx, groupId, seq, entry.kind, entry.epoch, sender.username, sender.deviceId, entry.payload, entry.createdAt);
  await followOwnEntry.execute(tx, groupId, sender.username, sender.deviceId, seq, seq - 1);
  if (backlogQuota !== undefined) await skipPastQuota.execute(tx, groupId, seq - backlogQuota);
}

export async function acceptCommit(db: Db, commit: NewCommit, check: GroupCheck): Promise<CommitResult> {
  return db.transaction().execute(async (tx) => {
    // RFC 9420 §14: the first commit for an epoch wins. The conditional update is the arbiter.
    const claimed = await tx
      .updateTable('groups')
      .set((eb) => ({ epoch: eb('epoch', '+', 1), last_seq: eb('last_seq', '+', 1), group_info: commit.groupInfo }))
      .where('group_id', '=', commit.groupId)
      .where('epoch', '=', commit.epoch)
      .returning(['kind', 'last_seq'])
      .executeTakeFirst();
    if (!claimed) {
      const current = await tx.selectFrom('groups').select('epoch').where('group_id', '=', commit.groupId).executeTakeFirst();
      if (!current) throw new StorageNotFoundError('no such group');
      throw new StaleEpochError(int(current.epoch));
    }
    const seq = int(claimed.last_seq);
    const before = { admins: await admins(tx, commit.groupId), members: (await members(tx, commit.groupId)).map(deviceKey) };
    check({ groupId: commit.groupId, kind: claimed.kind as GroupKind, epoch: commit.epoch, ...before });

    const entry: LogRecord = {
      groupId: commit.groupId,
      seq,
      kind: 'commit',
      epoch: commit.epoch,
      sender: deviceKey(commit.sender),
      createdAt: commit.createdAt,
      payload: commit.commit,
    };
    await appendLog(tx, entry, commit.backlogQuota);

    const removed: DeviceRef[] =
      commit.remove.length === 0
        ? []
        : (
            await tx
              .updateTable('group_devices')
              .set({ removed_seq: seq })
              .where('group_id', '=', commit.groupId)
              .where(({ eb, refTuple, tuple }) => eb(refTuple('username', 'device_id'), 'in', commit.remove.map((device) => tuple(device.username, device.deviceId))))
              .where('removed_seq', 'is', null)
              .returning(['username', 'device_id'])
              .execute()
          ).map((row) => ({ username: row.username, deviceId: row.device_id }));
    if (commit.add.length > 0) {
      await tx
        .insertInto('group_devices')
        .values(commit.add.map((device) => ({ group_id: commit.groupId, username: device.username, device_id: device.deviceId, acked_seq: seq, joined_seq: seq, removed_seq: null })))
        .onConflict((conflict) => conflict.columns(['group_id', 'username', 'device_id']).doUpdateSet({ acked_seq: seq, joined_seq: seq, removed_seq: null }))
        .execute();
    }
    if (commit.leaves.removed.length > 0) {
      await tx.deleteFrom('group_leaves').where('group_id', '=', commit.groupId).where('leaf_index', 'in', commit.leaves.removed).execute();
    }
    if (commit.leaves.added.length > 0) {
      await tx.insertInto('group_leaves').values(commit.leaves.added.map((leaf) => leafRow(commit.groupId, leaf))).execute();
    }

    const queued: Omit<MailboxTable, 'id'>[] = [];
    const mailboxRow = (to: DeviceRef, kind: 'welcome' | 'removed', payload: Uint8Array | null): Omit<MailboxTable, 'id'> => ({
      username: to.username,
      device_id: to.deviceId,
      kind,
      group_id: commit.groupId,
      seq,
      sender_username: commit.sender.username,
      sender_device: commit.sender.deviceId,
      payload,
      created_at: commit.createdAt,
    });
    if (commit.welcome) for (const device of commit.add) queued.push(mailboxRow(device, 'welcome', commit.welcome));
    for (const device of removed) queued.push(mailboxRow(device, 'removed', null));
    let mailbox: CommitResult['mailbox'] = [];
    if (queued.length > 0) {
      const first = await allocateMailboxIds(tx, queued.length);
      const rows = queued.map((row, i) => ({ ...row, id: first + i }));
      await tx.insertInto('mailbox').values(rows).execute();
      mailbox = rows.map(toMailboxRecord);
    }

    const after = (await members(tx, commit.groupId)).map(deviceKey);
    const settled = await settleAdmins(tx, commit.groupId, before.admins, after);
    return { entry, epoch: commit.epoch + 1, members: after, admins: settled, mailbox };
  });
}

export async function queueMailbox(db: Db, entry: Omit<MailboxRecord, 'id'>): Promise<MailboxRecord> {
  return db.transaction().execute(async (tx) => {
    const id = await allocateMailboxIds(tx, 1);
    const row: MailboxTable = {
      id,
      username: entry.recipient.username,
      device_id: entry.recipient.deviceId,
      kind: entry.kind,
      group_id: entry.groupId,
      seq: entry.seq,
      sender_username: entry.sender.username,
      sender_device: entry.sender.deviceId,
      payload: entry.payload ?? null,
      created_at: entry.createdAt,
    };
    await tx.insertInto('mailbox').values(row).execute();
    return toMailboxRecord(row);
  });
}

export async function leaveGroup(db: Db, groupId: Uint8Array, username: string, at: number): Promise<{ members: DeviceRef[]; mailbox: MailboxRecord[] }> {
  return db.transaction().execute(async (tx) => {
    const group = await tx.selectFrom('groups').select('last_seq').where('group_id', '=', groupId).executeTakeFirst();
    if (!group) throw new StorageNotFoundError('no such group');
    const seq = int(group.last_seq);
    const adminsBefore = await admins(tx, groupId);
    const leaving = (await members(tx, groupId)).filter((member) => member.username === username);
    await tx
      .updateTable('group_devices')
      .set({ removed_seq: seq })
      .where('group_id', '=', groupId)
      .where('username', '=', username)
      .where('removed_seq', 'is', null)
      .execute();
    let mailbox: MailboxRecord[] = [];
    if (leaving.length > 0) {
      const first = await allocateMailboxIds(tx, leaving.length);
      const rows: MailboxTable[] = leaving.map((device, i) => ({
        id: first + i,
        username,
        device_id: device.deviceId,
        kind: 'removed',
        group_id: groupId,
        seq,
        sender_username: username,
        sender_device: device.deviceId,
        payload: null,
        created_at: at,
      }));
      await tx.insertInto('mailbox').values(rows).execute();
      mailbox = rows.map(toMailboxRecord);
    }
    const after = (await members(tx, groupId)).map(deviceKey);
    await settleAdmins(tx, groupId, adminsBefore, after);
    return { members: after, mailbox };
  });
}

/**
 * A user with no device left in the group is no longer its admin (they left or were removed).
 * A group is never left without an admin while it has members: the user of the earliest-joined
 * remaining device is promoted.
 */
async function settleAdmins(tx: Transaction<Database>, groupId: Uint8Array, before: string[], after: DeviceRef[]): Promise<string[]> {
  const present = new Set(after.map((device) => device.username));
  const gone = before.filter((username) => !present.has(username));
  if (gone.length > 0) await tx.deleteFrom('group_admins').where('group_id', '=', groupId).where('username', 'in', gone).execute();
  const remaining = before.filter((username) => present.has(username));
  const heir = after[0];
  if (remaining.length > 0 || !heir) return remaining;
  await addAdmin(tx, groupId, heir.username);
  return [heir.username];
}

const claimNextSeq = new CompiledOnce((db, groupId: Uint8Array) =>
  db
    .updateTable('groups')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('group_id', '=', groupId)
    .returning(['kind', 'epoch', 'last_seq']),
);

const selectBlockers = new CompiledOnce((db, blocked: string) => db.selectFrom('blocks').select('owner').where('blocked', '=', blocked));

export async function appendMessage(db: Db, message: NewMessage, check: MessageCheck): Promise<{ entry: LogRecord; members: DeviceRef[] }> {
  return db.transaction().execute(async (tx) => {
    const [claimed] = await claimNextSeq.rows(tx, message.groupId);
    if (!claimed) throw new StorageNotFoundError('no such group');
    const kind = claimed.kind as GroupKind;
    const routing = (await members(tx, message.groupId)).map(deviceKey);
    // Read here rather than before the transaction: a read outside it would wait for a group commit of its own.
    const blockers =
      kind === 'direct' ? (await selectBlockers.rows(tx, message.sender.username)).map((row) => row.owner).filter((owner) => routing.some((member) => member.username === owner)) : [];
    check({ groupId: message.groupId, kind, epoch: int(claimed.epoch), members: routing, blockers });
    const entry: LogRecord = {
      groupId: message.groupId,
      seq: int(claimed.last_seq),
      kind: 'message',
      epoch: message.epoch,
      sender: deviceKey(message.sender),
      createdAt: message.createdAt,
      payload: message.payload,
    };
    await appendLog(tx, entry, message.backlogQuota);
    await recordSent(tx, entry, message.resendWindow);
    return { entry, members: routing };
  });
}
