/**
 * @module What the Delivery Service keeps of a group (DESIGN §6): routing list, admins, leaves, the
 * ordered log, and the mailbox entries its commits queue.
 */
import type { DeviceRef } from '@parley/protocol';

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
/**
 * A check of an application message: a sender needs routing and the epoch, never the admins (not
 * read for it). In a direct conversation, `blockers` are the members who block the sender, read
 * in the same transaction (in a group it is empty: the blocker's client hides what the server
 * cannot refuse for one member).
 */
export type MessageCheck = (group: Omit<GroupState, 'admins'> & { blockers: string[] }) => void;

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

/** Groups: the Delivery Service's routing state. */
export interface GroupStorage {
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
}
