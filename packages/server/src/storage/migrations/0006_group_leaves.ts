/**
 * Each group's leaves as the Delivery Service tracks them (RFC 9420 §7.8): which leaf of the
 * ratchet tree belongs to which device, recorded when a commit adds it, so the server can tell
 * whose leaves a PublicMessage commit removes and whose leaf signed it (services/group-commits.ts).
 *
 * Existing groups start from the ratchet tree in their stored GroupInfo: each leaf is matched by
 * its signature key to a device the group routes or routed; a leaf with no such device is kept
 * with none (anyone may remove it, no one may commit as it). A GroupInfo that does not parse
 * (never accepted by a server that checks them at upload, but a database may hold anything) leaves
 * its group with no tracked leaves: its members' commits are refused until they rejoin by external
 * commit, which records their new leaves. One bad row must not stop the server from starting.
 */
import { groupInfoLeaves } from '@parley/crypto';
import type { Kysely } from 'kysely';
import { binaryType } from './types.js';

interface Tables {
  groups: { group_id: Uint8Array; group_info: Uint8Array };
  group_devices: { group_id: Uint8Array; username: string; device_id: string };
  devices: { username: string; device_id: string; public_key: Uint8Array };
  group_leaves: { group_id: Uint8Array; leaf_index: number; signature_key: Uint8Array; username: string | null; device_id: string | null };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('group_leaves')
    .addColumn('group_id', binaryType(db), (col) => col.notNull().references('groups.group_id'))
    .addColumn('leaf_index', 'integer', (col) => col.notNull())
    .addColumn('signature_key', binaryType(db), (col) => col.notNull())
    .addColumn('username', 'text')
    .addColumn('device_id', 'text')
    .addPrimaryKeyConstraint('group_leaves_pk', ['group_id', 'leaf_index'])
    .execute();

  const tables = db as unknown as Kysely<Tables>;
  for (const group of await tables.selectFrom('groups').select(['group_id', 'group_info']).execute()) {
    const devices = await tables
      .selectFrom('group_devices as g')
      .innerJoin('devices as d', (join) => join.onRef('d.username', '=', 'g.username').onRef('d.device_id', '=', 'g.device_id'))
      .select(['d.username', 'd.device_id', 'd.public_key'])
      .where('g.group_id', '=', group.group_id)
      .execute();
    const byKey = new Map(devices.map((device) => [hex(device.public_key), device]));
    let treeLeaves: ReturnType<typeof groupInfoLeaves>;
    try {
      treeLeaves = groupInfoLeaves(group.group_info);
    } catch {
      continue; // see the module comment
    }
    const leaves = treeLeaves.map((leaf) => {
      const device = byKey.get(hex(leaf.signaturePublicKey));
      return { group_id: group.group_id, leaf_index: leaf.leafIndex, signature_key: leaf.signaturePublicKey, username: device?.username ?? null, device_id: device?.device_id ?? null };
    });
    if (leaves.length > 0) await tables.insertInto('group_leaves').values(leaves).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('group_leaves').execute();
}
