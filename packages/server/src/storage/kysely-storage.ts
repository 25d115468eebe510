/** @module The Storage interface over Kysely: one implementation of the queries for every SQL dialect. */
import type { DeviceRef } from '@parley/protocol';
import { Migrator, type Selectable } from 'kysely';
import * as commits from './kysely-commits.js';
import * as delivery from './kysely-delivery.js';
import * as groups from './kysely-groups.js';
import { appendKeyLeaves, KyselyKeyLog } from './kysely-key-log.js';
import * as keys from './kysely-key-packages.js';
import * as sentMessages from './kysely-sent-messages.js';
import * as timelock from './kysely-timelock.js';
import { migrationProvider } from './migrations/index.js';
import { bytes, int, toDevice } from './rows.js';
import type { AccountsTable, DevicesTable } from './schema.js';
import {
  StorageConflictError,
  type Acknowledgement,
  type AccountRecord,
  type ClaimedKeyPackage,
  type CommitResult,
  type CursorRecord,
  type DeviceFetch,
  type DeviceRecord,
  type GroupCheck,
  type GroupLeaf,
  type GroupRecord,
  type LogRange,
  type MailboxRecord,
  type MessageCheck,
  type LogRecord,
  type NewCommit,
  type NewDevice,
  type NewGroup,
  type NewKeyPackage,
  type NewMessage,
  type Storage,
} from './types.js';
import type { NewTimelock, TimelockModulusRecord, TimelockRecord } from './timelock-types.js';

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

export class KyselyStorage extends KyselyKeyLog implements Storage {
  /**
   * Applies pending migrations; throws with the failing migration's name. On PostgreSQL, pass
   * the schema the tables live in: without it Kysely's Migrator takes a migration log found in
   * any schema for this one's, and skips or misreads this schema's migrations.
   */
  async migrate(options: { migrationTableSchema?: string } = {}): Promise<void> {
    const { error, results } = await new Migrator({ db: this.db, provider: migrationProvider, ...options }).migrateToLatest();
    if (error) {
      const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`database migration ${failed} failed`, { cause: error });
    }
  }

  async createAccount(account: AccountRecord, firstDevice: NewDevice): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
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

  async getAccount(username: string): Promise<AccountRecord | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst();
    return row && toAccount(row);
  }

  async updateCredentials(username: string, credentials: { opaqueRecord: Uint8Array; backup: Uint8Array }, options: { ifOpaqueRecord?: Uint8Array } = {}): Promise<boolean> {
    let query = this.db
      .updateTable('accounts')
      .set({ opaque_record: credentials.opaqueRecord, backup: credentials.backup })
      .where('username', '=', username);
    // Blob equality is plain `=` in both SQLite and PostgreSQL (bytea), so the check stays portable.
    if (options.ifOpaqueRecord) query = query.where('opaque_record', '=', options.ifOpaqueRecord);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async addDevice(device: NewDevice): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const inserted = await tx
        .insertInto('devices')
        .values(deviceRow(device))
        .onConflict((conflict) => conflict.columns(['username', 'device_id']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) throw new StorageConflictError(`device ${device.deviceId} exists`);
      await appendKeyLeaves(tx, device.username, [{ event: 'device.added', deviceId: device.deviceId, key: device.publicKey }], device.createdAt);
    });
  }

  async getDevice(username: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const row = await this.db
      .selectFrom('devices')
      .selectAll()
      .where('username', '=', username)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row && toDevice(row);
  }

  async getDevices(devices: readonly DeviceRef[]): Promise<DeviceRecord[]> {
    if (devices.length === 0) return [];
    const rows = await this.db
      .selectFrom('devices')
      .selectAll()
      .where(({ eb, refTuple, tuple }) => eb(refTuple('username', 'device_id'), 'in', devices.map((device) => tuple(device.username, device.deviceId))))
      .execute();
    return rows.map(toDevice);
  }

  async listDevices(username: string, options: { includeRevoked?: boolean } = {}): Promise<DeviceRecord[]> {
    let query = this.db.selectFrom('devices').selectAll().where('username', '=', username);
    if (!options.includeRevoked) query = query.where('revoked_at', 'is', null);
    const rows = await query.orderBy('created_at').orderBy('device_id').execute();
    return rows.map(toDevice);
  }

  async revokeDevices(username: string, deviceIds: readonly string[] | 'all', at: number): Promise<string[]> {
    if (deviceIds !== 'all' && deviceIds.length === 0) return [];
    let query = this.db
      .updateTable('devices')
      .set({ revoked_at: at })
      .where('username', '=', username)
      .where('revoked_at', 'is', null);
    if (deviceIds !== 'all') query = query.where('device_id', 'in', deviceIds);
    return this.db.transaction().execute(async (tx) => {
      const rows = await tx.executeQuery(query.returning(['device_id', 'public_key']).compile());
      const revoked = rows.rows.map((row) => ({ event: 'device.revoked' as const, deviceId: row.device_id, key: bytes(row.public_key) }));
      await appendKeyLeaves(tx, username, revoked, at);
      return revoked.map((change) => change.deviceId);
    });
  }

  async touchDevice(username: string, deviceId: string, at: number): Promise<void> {
    await this.db.updateTable('devices').set({ last_seen_at: at }).where('username', '=', username).where('device_id', '=', deviceId).execute();
  }

  // Messaging queries live in one module per concern; see kysely-key-packages, kysely-groups, kysely-delivery.

  addKeyPackages(device: DeviceRef, oneTime: readonly NewKeyPackage[], lastResort: NewKeyPackage | undefined, at: number): Promise<void> {
    return keys.addKeyPackages(this.db, device, oneTime, lastResort, at);
  }

  countKeyPackages(device: DeviceRef, now: number): Promise<{ oneTime: number; lastResort: boolean }> {
    return keys.countKeyPackages(this.db, device, now);
  }

  claimKeyPackage(device: DeviceRef, now: number): Promise<ClaimedKeyPackage | undefined> {
    return keys.claimKeyPackage(this.db, device, now);
  }

  deleteExpiredKeyPackages(now: number): Promise<number> {
    return keys.deleteExpiredKeyPackages(this.db, now);
  }

  createGroup(group: NewGroup): Promise<GroupRecord> {
    return groups.createGroup(this.db, group);
  }

  getGroup(groupId: Uint8Array): Promise<GroupRecord | undefined> {
    return groups.getGroup(this.db, groupId);
  }

  getGroupInfo(groupId: Uint8Array): Promise<{ epoch: number; groupInfo: Uint8Array } | undefined> {
    return groups.getGroupInfo(this.db, groupId);
  }

  getGroupLeaves(groupId: Uint8Array): Promise<GroupLeaf[]> {
    return groups.getGroupLeaves(this.db, groupId);
  }

  listDeviceGroups(device: DeviceRef): Promise<GroupRecord[]> {
    return groups.listDeviceGroups(this.db, device);
  }

  listUserGroups(username: string): Promise<GroupRecord[]> {
    return groups.listUserGroups(this.db, username);
  }

  leaveGroup(groupId: Uint8Array, username: string, at: number) {
    return commits.leaveGroup(this.db, groupId, username, at);
  }

  addAdmin(groupId: Uint8Array, username: string): Promise<void> {
    return groups.addAdmin(this.db, groupId, username);
  }

  acceptCommit(commit: NewCommit, check: GroupCheck): Promise<CommitResult> {
    return commits.acceptCommit(this.db, commit, check);
  }

  findSentMessage(groupId: Uint8Array, sender: DeviceRef, epoch: number, payload: Uint8Array, window: number): Promise<number | undefined> {
    return sentMessages.findSentMessage(this.db, groupId, sender, epoch, payload, window);
  }

  appendMessage(message: NewMessage, check: MessageCheck): Promise<{ entry: LogRecord; members: DeviceRef[] }> {
    return commits.appendMessage(this.db, message, check);
  }

  countUserGroups(usernames: readonly string[]): Promise<Map<string, number>> {
    return groups.countUserGroups(this.db, usernames);
  }

  fetchForDevice(device: DeviceRef, options: { limit: number; maxBytes: number; range?: LogRange }): Promise<DeviceFetch> {
    return delivery.fetchForDevice(this.db, device, options);
  }

  listCursors(device: DeviceRef): Promise<CursorRecord[]> {
    return delivery.listCursors(this.db, device);
  }

  advanceCursors(device: DeviceRef, cursors: readonly { groupId: Uint8Array; seq: number }[]): Promise<void> {
    return delivery.advanceCursors(this.db, device, cursors);
  }

  deleteMailbox(device: DeviceRef, ids: readonly number[]): Promise<number> {
    return delivery.deleteMailbox(this.db, device, ids);
  }

  queueMailbox(entry: Omit<MailboxRecord, 'id'>): Promise<MailboxRecord> {
    return commits.queueMailbox(this.db, entry);
  }

  collectAcknowledged(groupId: Uint8Array): Promise<number> {
    return delivery.collectAcknowledged(this.db, groupId);
  }

  acknowledge(device: DeviceRef, ack: Acknowledgement, check: (cursors: CursorRecord[]) => void): Promise<{ mailbox: number; entries: number }> {
    return delivery.acknowledge(this.db, device, ack, check);
  }

  deleteLogBefore(cutoff: number): Promise<number> {
    return delivery.deleteLogBefore(this.db, cutoff);
  }

  async recordServerKey(fingerprint: string, at: number): Promise<string> {
    await this.db
      .insertInto('server_key')
      .values({ id: 'noise', fingerprint, recorded_at: at })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .execute();
    const row = await this.db.selectFrom('server_key').select('fingerprint').where('id', '=', 'noise').executeTakeFirstOrThrow();
    return row.fingerprint;
  }

  addTimelockModulus(modulus: TimelockModulusRecord): Promise<void> {
    return timelock.addTimelockModulus(this.db, modulus);
  }

  listTimelockModuli(): Promise<TimelockModulusRecord[]> {
    return timelock.listTimelockModuli(this.db);
  }

  retireTimelockModuli(before: number): Promise<number> {
    return timelock.retireTimelockModuli(this.db, before);
  }

  addTimelock(lock: NewTimelock): Promise<void> {
    return timelock.addTimelock(this.db, lock);
  }

  getTimelocks(lockIds: readonly Uint8Array[]): Promise<TimelockRecord[]> {
    return timelock.getTimelocks(this.db, lockIds);
  }

  countPendingTimelocks(username: string): Promise<number> {
    return timelock.countPendingTimelocks(this.db, username);
  }

  nextTimelockUnlock(): Promise<number | undefined> {
    return timelock.nextTimelockUnlock(this.db);
  }

  dueTimelocks(now: number, limit: number): Promise<TimelockRecord[]> {
    return timelock.dueTimelocks(this.db, now, limit);
  }

  releaseTimelock(lockId: Uint8Array, release: { key: Uint8Array; payload: Uint8Array; at: number }): Promise<MailboxRecord[] | undefined> {
    return timelock.releaseTimelock(this.db, lockId, release);
  }

  deleteReleasedTimelocks(cutoff: number): Promise<number> {
    return timelock.deleteReleasedTimelocks(this.db, cutoff);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
