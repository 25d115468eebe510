/** @module Storage records turned into the protocol's shapes (DESIGN §6): what a client is sent. */
import { deviceRef, type GroupSummary, type LogEntry, type MailboxEntry } from '@parley/protocol';
import type { GroupRecord, LogRecord, MailboxRecord } from '../storage/index.js';

export function groupSummary(group: GroupRecord): GroupSummary {
  return {
    groupId: group.groupId,
    kind: group.kind,
    epoch: group.epoch,
    createdBy: group.createdBy,
    admins: group.admins,
    members: group.members.map(deviceRef),
    lastSeq: group.lastSeq,
  };
}

export function logEntry(record: LogRecord): LogEntry {
  return {
    groupId: record.groupId,
    seq: record.seq,
    kind: record.kind,
    epoch: record.epoch,
    sender: deviceRef(record.sender),
    sentAt: record.createdAt,
    payload: record.payload,
  };
}

export function mailboxEntry(record: MailboxRecord): MailboxEntry {
  const entry: MailboxEntry = {
    id: record.id,
    kind: record.kind,
    groupId: record.groupId,
    seq: record.seq,
    sender: deviceRef(record.sender),
    sentAt: record.createdAt,
  };
  if (record.payload !== undefined) entry.payload = record.payload;
  return entry;
}

