/** @module KeyPackage queries (RFC 9420 §10): upload, count, and the claim that consumes one. */
import type { DeviceRef } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { bytes, int } from './rows.js';
import type { Database, KeyPackagesTable } from './schema.js';
import type { ClaimedKeyPackage, NewKeyPackage } from './types.js';

// A claim that loses a race for a row (another claim deleted it first) tries the next one.
const CLAIM_ATTEMPTS = 8;

function row(device: DeviceRef, keyPackage: NewKeyPackage, lastResort: boolean, at: number): KeyPackagesTable {
  return {
    username: device.username,
    device_id: device.deviceId,
    id: keyPackage.id,
    key_package: keyPackage.keyPackage,
    last_resort: lastResort ? 1 : 0,
    expires_at: keyPackage.expiresAt,
    created_at: at,
  };
}

export async function addKeyPackages(
  db: Kysely<Database>,
  device: DeviceRef,
  oneTime: readonly NewKeyPackage[],
  lastResort: NewKeyPackage | undefined,
  at: number,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (lastResort) {
      await tx
        .deleteFrom('key_packages')
        .where('username', '=', device.username)
        .where('device_id', '=', device.deviceId)
        .where('last_resort', '=', 1)
        .execute();
      await tx.insertInto('key_packages').values(row(device, lastResort, true, at)).execute();
    }
    if (oneTime.length > 0) {
      await tx
        .insertInto('key_packages')
        .values(oneTime.map((keyPackage) => row(device, keyPackage, false, at)))
        .onConflict((conflict) => conflict.columns(['username', 'device_id', 'id']).doNothing())
        .execute();
    }
  });
}

export async function countKeyPackages(db: Kysely<Database>, device: DeviceRef, now: number): Promise<{ oneTime: number; lastResort: boolean }> {
  const rows = await db
    .selectFrom('key_packages')
    .select((eb) => ['last_resort', eb.fn.countAll().as('count')])
    .where('username', '=', device.username)
    .where('device_id', '=', device.deviceId)
    .where('expires_at', '>', now)
    .groupBy('last_resort')
    .execute();
  const count = (flag: number) => int(rows.find((r) => int(r.last_resort) === flag)?.count ?? 0);
  return { oneTime: count(0), lastResort: count(1) > 0 };
}

/**
 * Select-then-delete: the delete names the exact row, so of two concurrent claims only one
 * deletes it and the other moves on to the next row. Portable, and needs no row locks.
 */
export async function claimKeyPackage(db: Kysely<Database>, device: DeviceRef, now: number): Promise<ClaimedKeyPackage | undefined> {
  const ofDevice = db
    .selectFrom('key_packages')
    .select(['id', 'key_package'])
    .where('username', '=', device.username)
    .where('device_id', '=', device.deviceId)
    .where('expires_at', '>', now);
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const candidate = await ofDevice.where('last_resort', '=', 0).orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
    if (!candidate) break;
    const deleted = await db
      .deleteFrom('key_packages')
      .where('username', '=', device.username)
      .where('device_id', '=', device.deviceId)
      .where('id', '=', candidate.id)
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 1) return { keyPackage: bytes(candidate.key_package), lastResort: false };
  }
  // RFC 9420 §16.8 discourages KeyPackage reuse: the last-resort one serves only when no one-time one remains.
  const fallback = await ofDevice.where('last_resort', '=', 1).executeTakeFirst();
  return fallback && { keyPackage: bytes(fallback.key_package), lastResort: true };
}

export async function deleteExpiredKeyPackages(db: Kysely<Database>, now: number): Promise<number> {
  const result = await db.deleteFrom('key_packages').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
