/**
 * @module Group queries for the Delivery Service (RFC 9420 §14, DESIGN §6): creation and reads of
 * the routing state and the tracked leaves. The writes that move a group on (commits, messages,
 * leaving) are in kysely-commits.ts.
 */
import type { DeviceRef } from '@parley/protocol';
import type { Kysely, Selectable, SelectQueryBuilder } from 'kysely';
import { CompiledOnce } from './compiled-once.js';
import { bytes, hexKey, int } from './rows.js';
import type { Database, GroupDevicesTable, GroupLeavesTable, GroupsTable } from './schema.js';
import { StorageConflictError, type GroupKind, type GroupLeaf, type GroupMember, type GroupRecord, type NewGroup } from './types.js';

type Db = Kysely<Database>;

function toMember(row: Pick<Selectable<GroupDevicesTable>, 'username' | 'device_id' | 'acked_seq' | 'joined_seq'>): GroupMember {
  return { username: row.username, deviceId: row.device_id, ackedSeq: int(row.acked_seq), joinedSeq: int(row.joined_seq) };
}

function toGroup(row: Omit<Selectable<GroupsTable>, 'group_info'>, admins: string[], members: GroupMember[]): GroupRecord {
  return {
    groupId: bytes(row.group_id),
    kind: row.kind as GroupKind,
    epoch: int(row.epoch),
    createdBy: row.created_by,
    createdAt: int(row.created_at),
    lastSeq: int(row.last_seq),
    admins,
    members,
  };
}

const groupColumns = ['group_id', 'kind', 'epoch', 'created_by', 'created_at', 'last_seq'] as const;

const selectAdmins = new CompiledOnce((db, groupId: Uint8Array) => db.selectFrom('group_admins').select('username').where('group_id', '=', groupId).orderBy('username'));

export async function admins(db: Db, groupId: Uint8Array): Promise<string[]> {
  return (await selectAdmins.rows(db, groupId)).map((row) => row.username);
}

const selectMembers = new CompiledOnce((db, groupId: Uint8Array) =>
  db
    .selectFrom('group_devices')
    .select(['username', 'device_id', 'acked_seq', 'joined_seq'])
    .where('group_id', '=', groupId)
    .where('removed_seq', 'is', null)
    .orderBy('joined_seq')
    .orderBy('username')
    .orderBy('device_id'),
);

/** The routing list: devices not removed, in the order they joined. */
export async function members(db: Db, groupId: Uint8Array): Promise<GroupMember[]> {
  return (await selectMembers.rows(db, groupId)).map(toMember);
}

export const deviceKey = ({ username, deviceId }: DeviceRef): DeviceRef => ({ username, deviceId });

export function leafRow(groupId: Uint8Array, leaf: GroupLeaf): GroupLeavesTable {
  return { group_id: groupId, leaf_index: leaf.leafIndex, signature_key: leaf.signatureKey, username: leaf.device?.username ?? null, device_id: leaf.device?.deviceId ?? null };
}

export async function createGroup(db: Db, group: NewGroup): Promise<GroupRecord> {
  return db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('groups')
      .values({
        group_id: group.groupId,
        kind: group.kind,
        epoch: 0,
        group_info: group.groupInfo,
        created_by: group.creator.username,
        created_at: group.createdAt,
        last_seq: 0,
      })
      .onConflict((conflict) => conflict.column('group_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) throw new StorageConflictError('group id exists');
    await tx.insertInto('group_admins').values({ group_id: group.groupId, username: group.creator.username }).execute();
    await tx
      .insertInto('group_devices')
      .values({ group_id: group.groupId, username: group.creator.username, device_id: group.creator.deviceId, acked_seq: 0, joined_seq: 0, removed_seq: null })
      .execute();
    await tx.insertInto('group_leaves').values(leafRow(group.groupId, group.creatorLeaf)).execute();
    return {
      groupId: group.groupId,
      kind: group.kind,
      epoch: 0,
      createdBy: group.creator.username,
      createdAt: group.createdAt,
      lastSeq: 0,
      admins: [group.creator.username],
      members: [{ ...deviceKey(group.creator), ackedSeq: 0, joinedSeq: 0 }],
    };
  });
}

export async function getGroup(db: Db, groupId: Uint8Array): Promise<GroupRecord | undefined> {
  const row = await db.selectFrom('groups').select(groupColumns).where('group_id', '=', groupId).executeTakeFirst();
  if (!row) return undefined;
  return toGroup(row, await admins(db, groupId), await members(db, groupId));
}

export async function getGroupInfo(db: Db, groupId: Uint8Array): Promise<{ epoch: number; groupInfo: Uint8Array } | undefined> {
  const row = await db.selectFrom('groups').select(['epoch', 'group_info']).where('group_id', '=', groupId).executeTakeFirst();
  return row && { epoch: int(row.epoch), groupInfo: bytes(row.group_info) };
}

export async function getGroupLeaves(db: Db, groupId: Uint8Array): Promise<GroupLeaf[]> {
  const rows = await db.selectFrom('group_leaves').selectAll().where('group_id', '=', groupId).orderBy('leaf_index').execute();
  return rows.map((row) => ({
    leafIndex: int(row.leaf_index),
    signatureKey: bytes(row.signature_key),
    device: row.username === null || row.device_id === null ? undefined : { username: row.username, deviceId: row.device_id },
  }));
}

export async function listDeviceGroups(db: Db, device: DeviceRef): Promise<GroupRecord[]> {
  const mine = db
    .selectFrom('group_devices')
    .select('group_id')
    .where('username', '=', device.username)
    .where('device_id', '=', device.deviceId)
    .where('removed_seq', 'is', null);
  return listGroupsIn(db, mine);
}

/** Groups where any device of the user is routed: what a new device of the account should join. */
export async function listUserGroups(db: Db, username: string): Promise<GroupRecord[]> {
  const mine = db.selectFrom('group_devices').select('group_id').where('username', '=', username).where('removed_seq', 'is', null);
  return listGroupsIn(db, mine);
}

async function listGroupsIn(db: Db, mine: SelectQueryBuilder<Database, 'group_devices', { group_id: Uint8Array }>): Promise<GroupRecord[]> {
  const groups = await db.selectFrom('groups').select(groupColumns).where('group_id', 'in', mine).orderBy('group_id').execute();
  if (groups.length === 0) return [];
  const adminRows = await db.selectFrom('group_admins').select(['group_id', 'username']).where('group_id', 'in', mine).orderBy('username').execute();
  const memberRows = await db
    .selectFrom('group_devices')
    .select(['group_id', 'username', 'device_id', 'acked_seq', 'joined_seq'])
    .where('group_id', 'in', mine)
    .where('removed_seq', 'is', null)
    .orderBy('joined_seq')
    .orderBy('username')
    .orderBy('device_id')
    .execute();
  const adminsOf = new Map<string, string[]>();
  for (const row of adminRows) adminsOf.set(hexKey(row.group_id), [...(adminsOf.get(hexKey(row.group_id)) ?? []), row.username]);
  const membersOf = new Map<string, GroupMember[]>();
  for (const row of memberRows) membersOf.set(hexKey(row.group_id), [...(membersOf.get(hexKey(row.group_id)) ?? []), toMember(row)]);
  return groups.map((row) => toGroup(row, adminsOf.get(hexKey(row.group_id)) ?? [], membersOf.get(hexKey(row.group_id)) ?? []));
}

export async function addAdmin(db: Db, groupId: Uint8Array, username: string): Promise<void> {
  await db
    .insertInto('group_admins')
    .values({ group_id: groupId, username })
    .onConflict((conflict) => conflict.columns(['group_id', 'username']).doNothing())
    .execute();
}

export async function countUserGroups(db: Db, usernames: readonly string[]): Promise<Map<string, number>> {
  if (usernames.length === 0) return new Map();
  const rows = await db
    .selectFrom('group_devices')
    .select((eb) => ['username', eb.fn.count<number | string>('group_id').distinct().as('groups')])
    .where('username', 'in', [...usernames])
    .where('removed_seq', 'is', null)
    .groupBy('username')
    .execute();
  return new Map(rows.map((row) => [row.username, int(row.groups)]));
}
