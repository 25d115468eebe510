/** @module The Storage interface over Kysely: one implementation of the queries for every SQL dialect. */
import type { DeviceRef } from '@parley/protocol';
import { Migrator } from 'kysely';
import * as accounts from './kysely-accounts.js';
import * as commits from './kysely-commits.js';
import * as delivery from './kysely-delivery.js';
import * as groups from './kysely-groups.js';
import { KyselyKeyLog } from './kysely-key-log.js';
import * as keys from './kysely-key-packages.js';
import * as sentMessages from './kysely-sent-messages.js';
import * as timelock from './kysely-timelock.js';
import { migrationProvider } from './migrations/index.js';
import type {
  Acknowledgement,
  AccountRecord,
  ClaimedKeyPackage,
  CommitResult,
  CursorRecord,
  DeviceFetch,
  DeviceRecord,
  GroupCheck,
  GroupLeaf,
  GroupRecord,
  LogRange,
  MailboxRecord,
  MessageCheck,
  LogRecord,
  NewCommit,
  NewDevice,
  NewGroup,
  NewKeyPackage,
  NewMessage,
  Storage,
} from './types.js';
import type { NewTimelock, TimelockModulusRecord, TimelockRecord } from './timelock-types.js';

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

  createAccount(account: AccountRecord, firstDevice: NewDevice): Promise<void> {
    return accounts.createAccount(this.db, account, firstDevice);
  }

  getAccount(username: string): Promise<AccountRecord | undefined> {
    return accounts.getAccount(this.db, username);
  }

  updateCredentials(username: string, credentials: { opaqueRecord: Uint8Array; backup: Uint8Array }, options?: { ifOpaqueRecord?: Uint8Array }): Promise<boolean> {
    return accounts.updateCredentials(this.db, username, credentials, options);
  }

  addDevice(device: NewDevice): Promise<void> {
    return accounts.addDevice(this.db, device);
  }

  getDevice(username: string, deviceId: string): Promise<DeviceRecord | undefined> {
    return accounts.getDevice(this.db, username, deviceId);
  }

  getDevices(devices: readonly DeviceRef[]): Promise<DeviceRecord[]> {
    return accounts.getDevices(this.db, devices);
  }

  listDevices(username: string, options?: { includeRevoked?: boolean }): Promise<DeviceRecord[]> {
    return accounts.listDevices(this.db, username, options);
  }

  revokeDevices(username: string, deviceIds: readonly string[] | 'all', at: number): Promise<string[]> {
    return accounts.revokeDevices(this.db, username, deviceIds, at);
  }

  touchDevice(username: string, deviceId: string, at: number): Promise<void> {
    return accounts.touchDevice(this.db, username, deviceId, at);
  }

  // The queries live in one module per capability: kysely-accounts, kysely-key-packages, kysely-groups, kysely-commits, kysely-delivery, kysely-sent-messages, kysely-timelock.

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
