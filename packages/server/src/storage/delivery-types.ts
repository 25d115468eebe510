/** @module What delivery keeps per device (DESIGN §6): its mailbox, and its cursors over the group logs. */
import type { DeviceRef } from '@parley/protocol';
import type { LogRecord, MailboxRecord } from './group-types.js';

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

/** Delivery: per-device mailbox and cursors over the group logs. */
export interface DeliveryStorage {
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
}
