/**
 * @module Account queries (DESIGN §5): accounts with their OPAQUE records and key backups, and their
 * devices. Every key change appends its key-log leaves in the same transaction (DESIGN §11).
 */
import type { DeviceRef } from '@parley/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { AccountRecord, DeviceRecord, NewDevice } from './account-types.js';
import { appendKeyLeaves } from './kysely-key-log.js';
import { bytes, int, toDevice } from './rows.js';
import type { AccountsTable, Database, DevicesTable } from './schema.js';
import { StorageConflictError } from './types.js';

type Db = Kysely<Database>;

function toAccount(row: Selectable<AccountsTable>): AccountRecord {
  return {
    username: row.username,
    identityKey: bytes(row.identity_key),
    recoveryKey: bytes(row.recovery_key),
    opaqueRecord: bytes(row.opaque_record),
    backup: bytes(row.backup),
    recoveryBackup: bytes(row.recovery_backup),
    createdAt: int(row.created_at),
  };
}

function deviceRow(device: NewDevice): DevicesTable {
  return {
    username: device.username,
    device_id: device.deviceId,
    name: device.name,
    public_key: device.publicKey,
    certificate: device.certificate,
    created_at: device.createdAt,
    last_seen_at: null,
    revoked_at: null,
  };
}

export async function createAccount(db: Db, account: AccountRecord, firstDevice: NewDevice): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('accounts')
      .values({
        username: account.username,
        identity_key: account.identityKey,
        recovery_key: account.recoveryKey,
        opaque_record: account.opaqueRecord,
        backup: account.backup,
        recovery_backup: account.recoveryBackup,
        created_at: account.createdAt,
      })
      .onConflict((conflict) => conflict.column('username').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) throw new StorageConflictError(`username ${account.username} exists`);
    await tx.insertInto('devices').values(deviceRow(firstDevice)).execute();
    await appendKeyLeaves(tx, account.username, [{ event: 'registered', key: account.identityKey }, { event: 'device.added', deviceId: firstDevice.deviceId, key: firstDevice.publicKey }], account.createdAt);
  });
}

export async function getAccount(db: Db, username: string): Promise<AccountRecord | undefined> {
  const row = await db.selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst();
  return row && toAccount(row);
}

export async function updateCredentials(db: Db, username: string, credentials: { opaqueRecord: Uint8Array; backup: Uint8Array }, options: { ifOpaqueRecord?: Uint8Array } = {}): Promise<boolean> {
  let query = db
    .updateTable('accounts')
    .set({ opaque_record: credentials.opaqueRecord, backup: credentials.backup })
    .where('username', '=', username);
  // Blob equality is plain `=` in both SQLite and PostgreSQL (bytea), so the check stays portable.
  if (options.ifOpaqueRecord) query = query.where('opaque_record', '=', options.ifOpaqueRecord);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function addDevice(db: Db, device: NewDevice): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('devices')
      .values(deviceRow(device))
      .onConflict((conflict) => conflict.columns(['username', 'device_id']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) throw new StorageConflictError(`device ${device.deviceId} exists`);
    await appendKeyLeaves(tx, device.username, [{ event: 'device.added', deviceId: device.deviceId, key: device.publicKey }], device.createdAt);
  });
}

export async function getDevice(db: Db, username: string, deviceId: string): Promise<DeviceRecord | undefined> {
  const row = await db
    .selectFrom('devices')
    .selectAll()
    .where('username', '=', username)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return row && toDevice(row);
}

export async function getDevices(db: Db, devices: readonly DeviceRef[]): Promise<DeviceRecord[]> {
  if (devices.length === 0) return [];
  const rows = await db
    .selectFrom('devices')
    .selectAll()
    .where(({ eb, refTuple, tuple }) => eb(refTuple('username', 'device_id'), 'in', devices.map((device) => tuple(device.username, device.deviceId))))
    .execute();
  return rows.map(toDevice);
}

export async function listDevices(db: Db, username: string, options: { includeRevoked?: boolean } = {}): Promise<DeviceRecord[]> {
  let query = db.selectFrom('devices').selectAll().where('username', '=', username);
  if (!options.includeRevoked) query = query.where('revoked_at', 'is', null);
  const rows = await query.orderBy('created_at').orderBy('device_id').execute();
  return rows.map(toDevice);
}

export async function revokeDevices(db: Db, username: string, deviceIds: readonly string[] | 'all', at: number): Promise<string[]> {
  if (deviceIds !== 'all' && deviceIds.length === 0) return [];
  let query = db
    .updateTable('devices')
    .set({ revoked_at: at })
    .where('username', '=', username)
    .where('revoked_at', 'is', null);
  if (deviceIds !== 'all') query = query.where('device_id', 'in', deviceIds);
  return db.transaction().execute(async (tx) => {
    const rows = await tx.executeQuery(query.returning(['device_id', 'public_key']).compile());
    const revoked = rows.rows.map((row) => ({ event: 'device.revoked' as const, deviceId: row.device_id, key: bytes(row.public_key) }));
    await appendKeyLeaves(tx, username, revoked, at);
    return revoked.map((change) => change.deviceId);
  });
}

export async function touchDevice(db: Db, username: string, deviceId: string, at: number): Promise<void> {
  await db.updateTable('devices').set({ last_seen_at: at }).where('username', '=', username).where('device_id', '=', deviceId).execute();
}
