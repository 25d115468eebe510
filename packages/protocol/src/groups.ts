/** @module Group ops (DESIGN §6): the Delivery Service's groups, their ordered logs, device mailboxes and sync. */
import { deviceIdSchema, deviceRefSchema, usernameSchema } from './identifiers.js';
import { empty, mlsMessage, op, type OpSpec } from './op-parts.js';
import { array, boolean, bytes, object, oneOf, optional, uint, type Infer } from './schema.js';

export const groupIdSchema = bytes({ length: 16 });
const epoch = uint();
const seq = uint();

export const groupKindSchema = oneOf(['direct', 'group'] as const);
export type GroupKind = Infer<typeof groupKindSchema>;

/** The Delivery Service's view of a group (DESIGN §6): routing list, admins, epoch. No content. */
export const groupSummarySchema = object({
  groupId: groupIdSchema,
  kind: groupKindSchema,
  epoch,
  createdBy: usernameSchema,
  admins: array(usernameSchema, { max: 10_000 }),
  members: array(deviceRefSchema, { max: 100_000 }),
  /** Sequence number of the last entry in the group's log. */
  lastSeq: seq,
});
export type GroupSummary = Infer<typeof groupSummarySchema>;

/** One entry of a group's ordered log, as delivered to a member device. */
export const logEntrySchema = object({
  groupId: groupIdSchema,
  seq,
  kind: oneOf(['commit', 'message'] as const),
  epoch,
  sender: deviceRefSchema,
  sentAt: uint(),
  payload: mlsMessage,
});
export type LogEntry = Infer<typeof logEntrySchema>;

/**
 * A per-device mailbox entry: a Welcome into a group, notice of removal from one, a chunk of
 * history sent by another device of the account (then `groupId` is the transfer id, `seq` the chunk
 * index), or a time-lock release (DESIGN §8: `payload` is an encoded `TimelockRelease`, `sender` the
 * device that asked for the lock, `seq` the group's last entry when it was released).
 */
export const mailboxEntrySchema = object({
  id: uint(),
  kind: oneOf(['welcome', 'removed', 'transfer', 'release'] as const),
  groupId: groupIdSchema,
  /** The log position the device starts after (the commit that added or removed it); a transfer's chunk index. */
  seq,
  sender: deviceRefSchema,
  sentAt: uint(),
  payload: optional(mlsMessage),
});
export type MailboxEntry = Infer<typeof mailboxEntrySchema>;

/** Log entries a device can no longer get (retention or quota), reported instead of silently lost. */
export const gapSchema = object({ groupId: groupIdSchema, fromSeq: seq, toSeq: seq, reason: oneOf(['retention', 'quota'] as const) });
export type Gap = Infer<typeof gapSchema>;

/** Part of one group's log: `fromSeq` to `toSeq`, both included; to the end without `toSeq`. */
export const fetchRangeSchema = object({ groupId: groupIdSchema, fromSeq: seq, toSeq: optional(seq) });
export type FetchRange = Infer<typeof fetchRangeSchema>;

const commitBundle = {
  groupId: groupIdSchema,
  /** The epoch the commit was made in; the server accepts only the current one (first wins). */
  epoch,
  commit: mlsMessage,
  /** GroupInfo for the new epoch, kept for external joins. */
  groupInfo: mlsMessage,
};

export const groupOps = {
  /** Register a new group at epoch 0 with this device as its only member and admin. */
  'group.create': op(object({ groupId: groupIdSchema, kind: groupKindSchema, groupInfo: mlsMessage }), groupSummarySchema),
  /**
   * A commit bundle (DESIGN §6): stored atomically if `epoch` is current, then fanned out; Welcomes
   * queued for the added devices. Adding or removing other users' devices needs an admin.
   */
  'group.commit': op(
    object({
      ...commitBundle,
      welcome: optional(mlsMessage),
      add: array(deviceRefSchema, { max: 1000 }),
      remove: array(deviceRefSchema, { max: 1000 }),
    }),
    object({ seq, epoch }),
  ),
  /** Latest GroupInfo of a group this user belongs to, for rejoining by external commit. */
  'group.info': op(object({ groupId: groupIdSchema }), object({ epoch, groupInfo: mlsMessage })),
  /** An external commit (RFC 9420 §12.4.3.2) by a device of a member user that lost its state. */
  'group.rejoin': op(object(commitBundle), object({ seq, epoch })),
  /**
   * An application message for the group's current epoch. `resend`: these exact bytes may have
   * been stored already (a reply was lost); if so, the answer is their first `seq`, even after the
   * epoch moved on, and nothing is stored twice.
   */
  'group.send': op(object({ groupId: groupIdSchema, epoch, message: mlsMessage, resend: optional(boolean()) }), object({ seq })),
  'group.list': op(empty, object({ groups: array(groupSummarySchema, { max: 10_000 }) })),
  'group.get': op(object({ groupId: groupIdSchema }), groupSummarySchema),
  'group.promote': op(object({ groupId: groupIdSchema, username: usernameSchema }), groupSummarySchema),
  /**
   * Stop routing the group to every device of this user (they get a `removed` notice). The other
   * members then commit the removal of the user's leaves, which any member may do once unrouted.
   */
  'group.leave': op(object({ groupId: groupIdSchema }), empty),

  /**
   * New log entries for this device's groups and its mailbox, oldest first, at most `limit`.
   * With `range`, only that group's entries from `fromSeq` to `toSeq` (inclusive; to the end
   * without it) that this device has not acknowledged, and that group's gaps, no mailbox: what
   * a client fetches to fill a hole before a pushed entry, or to catch one conversation up.
   */
  'sync.fetch': op(
    object({ limit: optional(uint({ max: 1000 })), range: optional(fetchRangeSchema) }),
    object({
      mailbox: array(mailboxEntrySchema, { max: 1000 }),
      entries: array(logEntrySchema, { max: 1000 }),
      gaps: array(gapSchema, { max: 1000 }),
      more: boolean(),
    }),
  ),
  /** Advance this device's cursors; the server deletes what every member device has acknowledged. */
  'sync.ack': op(
    object({ mailbox: array(uint(), { max: 1000 }), cursors: array(object({ groupId: groupIdSchema, seq }), { max: 1000 }) }),
    empty,
  ),

  /**
   * A chunk of message history for another device of my account, sealed to that device (the server
   * cannot read it); queued in its mailbox.
   */
  'device.transfer': op(
    object({ to: deviceIdSchema, transferId: bytes({ length: 16 }), index: uint({ max: 100_000 }), payload: bytes({ min: 1, max: 512 * 1024 }) }),
    empty,
  ),
} as const satisfies Record<string, OpSpec>;
