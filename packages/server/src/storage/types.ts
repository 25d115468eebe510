/** @module The storage interface the services use. Async everywhere, so a network database fits behind it. */
import type { DeviceRef } from '@parley/protocol';
import type { ConsentStorage } from './consent-types.js';
import type { KeyLogStorage } from './key-log-types.js';
import type { TimelockStorage } from './timelock-types.js';

export interface AccountRecord {
  username: string;
  identityKey: Uint8Array;
  recoveryKey: Uint8Array;
  opaqueRecord: Uint8Array;
  backup: Uint8Array;
  recoveryBackup: Uint8Array;
  createdAt: number;
}

export interface DeviceRecord {
  username: string;
  deviceId: string;
  name: string;
  publicKey: Uint8Array;
  /** The identity key's signature over the device certificate. */
  certificate: Uint8Array;
  createdAt: number;
  lastSeenAt: number | undefined;
  revokedAt: number | undefined;
}

export type NewDevice = Omit<DeviceRecord, 'lastSeenAt' | 'revokedAt'>;


export interface NewKeyPackage {
  /** The KeyPackageRef (RFC 9420 §5.2); uploading the same one twice stores it once. */
  id: Uint8Array;
  keyPackage: Uint8Array;
  /** Milliseconds; an expired KeyPackage is never handed out. */
  expiresAt: number;
}

export interface ClaimedKeyPackage {
  keyPackage: Uint8Array;
  lastResort: boolean;
}

export type GroupKind = 'direct' | 'group';

/**
 * One leaf of a group's ratchet tree as the Delivery Service tracks it (RFC 9420 §7.8): where it
 * sits, the key that signs for it, and the device it was added as (undefined only for a leaf
 * carried over from before the server tracked leaves, whose key matched no device of the group).
 */
export interface GroupLeaf {
  leafIndex: number;
  signatureKey: Uint8Array;
  device: DeviceRef | undefined;
}

export interface NewGroup {
  groupId: Uint8Array;
  kind: GroupKind;
  groupInfo: Uint8Array;
  creator: DeviceRef;
  /** The creator's leaf, the only one at epoch 0. */
  creatorLeaf: GroupLeaf;
  createdAt: number;
}

/** A group as the Delivery Service sees it (DESIGN §6): no content, just routing. */
export interface GroupRecord {
  groupId: Uint8Array;
  kind: GroupKind;
  epoch: number;
  createdBy: string;
  createdAt: number;
  /** Sequence number of the newest log entry (0 before any). */
  lastSeq: number;
  /** Sorted by username. */
  admins: string[];
  /** The routing list: devices currently in the group, in the order they joined. */
  members: GroupMember[];
}

export interface GroupMember extends DeviceRef {
  ackedSeq: number;
  joinedSeq: number;
}

/**
 * The group as it is inside a commit or send transaction, after the group row was claimed, so
 * no other commit can change it until the transaction ends. A check throws to abort.
 */
export interface GroupState {
  groupId: Uint8Array;
  kind: GroupKind;
  /** The epoch before this operation. */
  epoch: number;
  admins: string[];
  members: DeviceRef[];
}
export type GroupCheck = (group: GroupState) => void;
/** A check of an application message: a sender needs routing and the epoch, never the admins (not read for it). */
export type MessageCheck = (group: Omit<GroupState, 'admins'>) => void;

export type LogKind = 'commit' | 'message';

export interface LogRecord {
  groupId: Uint8Array;
  seq: number;
  kind: LogKind;
  /** The epoch the MLS message was made in. */
  epoch: number;
  sender: DeviceRef;
  createdAt: number;
  payload: Uint8Array;
}

export type MailboxKind = 'welcome' | 'removed' | 'transfer' | 'release';

export interface MailboxRecord {
  id: number;
  recipient: DeviceRef;
  kind: MailboxKind;
  groupId: Uint8Array;
  /** The commit that added or removed the recipient. */
  seq: number;
  sender: DeviceRef;
  createdAt: number;
  payload: Uint8Array | undefined;
}

/** A commit bundle to accept atomically (DESIGN §6, RFC 9420 §14: the first commit for an epoch wins). */
export interface NewCommit {
  groupId: Uint8Array;
  /** The epoch the commit was made in; accepted only if it is still the group's epoch. */
  epoch: number;
  sender: DeviceRef;
  commit: Uint8Array;
  /** GroupInfo for the new epoch. */
  groupInfo: Uint8Array;
  createdAt: number;
  /** Devices to route to from this commit on (a device already routed gets its cursor moved here). */
  add: DeviceRef[];
  /** Routed devices to remove; each keeps reading up to and including this commit. */
  remove: DeviceRef[];
  /** The commit's changes to the ratchet tree's leaves: removed leaf indices, then leaves added. */
  leaves: { removed: number[]; added: GroupLeaf[] };
  /** Queued as a 'welcome' mailbox entry for every added device; none for an external rejoin. */
  welcome?: Uint8Array;
  /** As in NewMessage. */
  backlogQuota?: number;
}

export interface CommitResult {
  entry: LogRecord;
  /** The epoch the commit started. */
  epoch: number;
  /** The routing list after the commit. */
  members: DeviceRef[];
  admins: string[];
  /** Mailbox entries queued by the commit: welcomes for added devices, notices for removed ones. */
  mailbox: MailboxRecord[];
}

export interface NewMessage {
  groupId: Uint8Array;
  epoch: number;
  sender: DeviceRef;
  payload: Uint8Array;
  createdAt: number;
  /** Most unacknowledged entries a device may have in the group; older ones are skipped for it (and reported). */
  backlogQuota?: number;
  /** How many of the group's last entries `findSentMessage` looks at: older messages' digests are forgotten. */
  resendWindow?: number;
}

/** Log entries a device can no longer get because they were deleted before it read them. */
export interface GapRecord {
  groupId: Uint8Array;
  fromSeq: number;
  toSeq: number;
  /** Deleted by age (retention), or skipped because the device's backlog passed its quota. */
  reason: 'retention' | 'quota';
}

/** Part of one group's log, both ends included; to the end without `toSeq`. */
export interface LogRange {
  groupId: Uint8Array;
  fromSeq: number;
  toSeq?: number;
}

export interface DeviceFetch {
  /** Oldest first. */
  mailbox: MailboxRecord[];
  /** By group id, then sequence number. */
  entries: LogRecord[];
  gaps: GapRecord[];
  /** More mailbox entries or log entries are waiting beyond the limit. */
  more: boolean;
}

/** Where one device stands in one group. */
/** What a device acknowledges: how far it read in some groups, and mailbox entries by id. */
export interface Acknowledgement {
  cursors: readonly { groupId: Uint8Array; seq: number }[];
  mailbox: readonly number[];
}

export interface CursorRecord {
  groupId: Uint8Array;
  ackedSeq: number;
  /** The commit that removed the device, if one did; it may acknowledge up to here. */
  removedSeq: number | undefined;
  lastSeq: number;
}

export interface Storage extends TimelockStorage, ConsentStorage, KeyLogStorage {
  /**
   * Creates the account and its first device together, with their key-log leaves (DESIGN §11);
   * throws StorageConflictError if the username exists. addDevice and revokeDevices also append
   * the leaves of their change in the same transaction.
   */
  createAccount(account: AccountRecord, firstDevice: NewDevice): Promise<void>;
  getAccount(username: string): Promise<AccountRecord | undefined>;
  /**
   * Replaces the account's OPAQUE record and password key backup together (password change or
   * recovery). With `ifOpaqueRecord`, only while the stored record is still that one, so a change
   * authorised by proving one password cannot overwrite a newer one. False if nothing was replaced.
   */
  updateCredentials(username: string, credentials: { opaqueRecord: Uint8Array; backup: Uint8Array }, options?: { ifOpaqueRecord?: Uint8Array }): Promise<boolean>;
  /** Throws StorageConflictError if the device id is already used by this account. */
  addDevice(device: NewDevice): Promise<void>;
  getDevice(username: string, deviceId: string): Promise<DeviceRecord | undefined>;
  /** The named devices that exist (revoked or not), in one query; unknown ones are left out. */
  getDevices(devices: readonly DeviceRef[]): Promise<DeviceRecord[]>;
  /** Devices in creation order, active ones only unless asked. */
  listDevices(username: string, options?: { includeRevoked?: boolean }): Promise<DeviceRecord[]>;
  /** Marks the given devices (or all) revoked; returns the ids that were active until now. */
  revokeDevices(username: string, deviceIds: readonly string[] | 'all', at: number): Promise<string[]>;
  touchDevice(username: string, deviceId: string, at: number): Promise<void>;

  // KeyPackages (RFC 9420 §10; DESIGN §6).
  /** Stores one-time KeyPackages; a given `lastResort` replaces the device's previous one. */
  addKeyPackages(device: DeviceRef, oneTime: readonly NewKeyPackage[], lastResort: NewKeyPackage | undefined, at: number): Promise<void>;
  /** Unexpired one-time KeyPackages left, and whether an unexpired last-resort one is stored. */
  countKeyPackages(device: DeviceRef, now: number): Promise<{ oneTime: number; lastResort: boolean }>;
  /** Consumes the oldest unexpired one-time KeyPackage, atomically; else returns the last-resort one, kept. */
  claimKeyPackage(device: DeviceRef, now: number): Promise<ClaimedKeyPackage | undefined>;
  deleteExpiredKeyPackages(now: number): Promise<number>;

  // Groups: the Delivery Service's routing state.
  /** A group at epoch 0 whose only member is the creator's device and only admin the creator; StorageConflictError if the id exists. */
  createGroup(group: NewGroup): Promise<GroupRecord>;
  getGroup(groupId: Uint8Array): Promise<GroupRecord | undefined>;
  getGroupInfo(groupId: Uint8Array): Promise<{ epoch: number; groupInfo: Uint8Array } | undefined>;
  /** The group's current leaves, by leaf index. */
  getGroupLeaves(groupId: Uint8Array): Promise<GroupLeaf[]>;
  /** Groups the device is routed in (not those it was removed from), by group id. */
  listDeviceGroups(device: DeviceRef): Promise<GroupRecord[]>;
  /** Groups where any device of `username` is routed, by group id. */
  listUserGroups(username: string): Promise<GroupRecord[]>;
  addAdmin(groupId: Uint8Array, username: string): Promise<void>;
  /**
   * In one transaction: checks `commit.epoch` is current (else StaleEpochError with the current
   * epoch; StorageNotFoundError for no group), runs `check` on the locked group, appends the
   * commit to the log, advances the epoch, stores the GroupInfo and the leaf changes, applies
   * the routing change, queues welcome and removal mailbox entries, and drops admins left without a device (promoting
   * the earliest-joined remaining user when no admin is left). Of concurrent commits for one
   * epoch exactly one succeeds.
   */
  acceptCommit(commit: NewCommit, check: GroupCheck): Promise<CommitResult>;
  /**
   * Stops routing the group to every device of `username` as of the group's last entry, queues a
   * `removed` notice for each, and settles admins as acceptCommit does. Returns the notices and
   * the routing list after; StorageNotFoundError for no group.
   */
  leaveGroup(groupId: Uint8Array, username: string, at: number): Promise<{ members: DeviceRef[]; mailbox: MailboxRecord[] }>;
  /**
   * The sequence number of an application message `sender` already stored in the group with
   * exactly this epoch and payload, among the group's last `window` entries (whether or not every
   * device has acknowledged it since); undefined if none. What makes a resend after a lost reply idempotent: an MLS ciphertext is never made twice.
   */
  findSentMessage(groupId: Uint8Array, sender: DeviceRef, epoch: number, payload: Uint8Array, window: number): Promise<number | undefined>;
  /** Appends an application message after `check` passed on the locked group; returns it and the routing list. */
  appendMessage(message: NewMessage, check: MessageCheck): Promise<{ entry: LogRecord; members: DeviceRef[] }>;
  /** How many groups each of `usernames` is routed in (users in none are left out), in one query. */
  countUserGroups(usernames: readonly string[]): Promise<Map<string, number>>;

  // Delivery: per-device mailbox and cursors over the group logs.
  /**
   * What the device has not acknowledged: at most `limit` mailbox and log entries together,
   * mailbox first, and no more than fits in `maxBytes` (payloads plus a fixed allowance per
   * entry), though always at least one entry if any is waiting. With `range`: only that group's
   * unacknowledged entries within it, only its gaps, and no mailbox.
   */
  fetchForDevice(device: DeviceRef, options: { limit: number; maxBytes: number; range?: LogRange }): Promise<DeviceFetch>;
  /** The device's cursors, including groups it was removed from but has not caught up with. */
  listCursors(device: DeviceRef): Promise<CursorRecord[]>;
  /** Moves cursors forward only; a removed device's row goes once it acknowledged its removal. */
  advanceCursors(device: DeviceRef, cursors: readonly { groupId: Uint8Array; seq: number }[]): Promise<void>;
  /** Deletes the device's mailbox entries with these ids; returns how many went. */
  deleteMailbox(device: DeviceRef, ids: readonly number[]): Promise<number>;
  /** Queues one entry in a device's mailbox (a history chunk from a sibling device). */
  queueMailbox(entry: Omit<MailboxRecord, 'id'>): Promise<MailboxRecord>;
  /** Deletes the group's log entries every routed device has acknowledged; returns how many went. */
  collectAcknowledged(groupId: Uint8Array): Promise<number>;
  /**
   * A device's acknowledgement (sync.ack) in one transaction: `check` sees the device's cursors
   * first and throws to refuse it; then the cursors move (advanceCursors), the mailbox entries go
   * (deleteMailbox) and what everyone acknowledged in these groups is deleted (collectAcknowledged).
   */
  acknowledge(device: DeviceRef, ack: Acknowledgement, check: (cursors: CursorRecord[]) => void): Promise<{ mailbox: number; entries: number }>;
  /** Retention: deletes log entries created before `cutoff`, acknowledged or not; returns how many went. */
  deleteLogBefore(cutoff: number): Promise<number>;

  /**
   * Records `fingerprint` as the server key this database serves with, unless one is recorded
   * already (whichever node started first wins); returns the one recorded.
   */
  recordServerKey(fingerprint: string, at: number): Promise<string>;

  close(): Promise<void>;
}

export class StorageConflictError extends Error {
  override readonly name = 'StorageConflictError';
}

export class StorageNotFoundError extends Error {
  override readonly name = 'StorageNotFoundError';
}

/** A commit for an epoch that is no longer current: another commit won (RFC 9420 §14). */
export class StaleEpochError extends Error {
  override readonly name = 'StaleEpochError';
  constructor(readonly currentEpoch: number) {
    super(`the group is at epoch ${currentEpoch}`);
  }
}
