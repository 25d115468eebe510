/** @module Conversions from driver values to domain values, shared by every Kysely query module. */
import type { Selectable } from 'kysely';
import type { DevicesTable, GroupLogTable, MailboxTable } from './schema.js';
import type { DeviceRecord, LogKind, LogRecord, MailboxKind, MailboxRecord } from './types.js';

/** Drivers return binary columns as Buffer; domain code gets plain Uint8Array views. */
export const bytes = (value: Uint8Array): Uint8Array => new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
/** PostgreSQL returns bigint columns (and counts) as strings; SQLite as numbers. */
export const int = (value: number | string | bigint): number => Number(value);
export const optionalInt = (value: number | string | bigint | null | undefined): number | undefined =>
  value === null || value === undefined ? undefined : Number(value);

export function toLogRecord(row: Selectable<GroupLogTable>): LogRecord {
  return {
    groupId: bytes(row.group_id),
    seq: int(row.seq),
    kind: row.kind as LogKind,
    epoch: int(row.epoch),
    sender: { username: row.sender_username, deviceId: row.sender_device },
    createdAt: int(row.created_at),
    payload: bytes(row.payload),
  };
}

export function toMailboxRecord(row: Selectable<MailboxTable>): MailboxRecord {
  return {
    id: int(row.id),
    recipient: { username: row.username, deviceId: row.device_id },
    kind: row.kind as MailboxKind,
    groupId: bytes(row.group_id),
    seq: int(row.seq),
    sender: { username: row.sender_username, deviceId: row.sender_device },
    createdAt: int(row.created_at),
    payload: row.payload === null ? undefined : bytes(row.payload),
  };
}

/** A map key for a binary id. */
export const hexKey = (value: Uint8Array): string => Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');

export function toDevice(row: Selectable<DevicesTable>): DeviceRecord {
  return {
    username: row.username,
    deviceId: row.device_id,
    name: row.name,
    publicKey: bytes(row.public_key),
    certificate: bytes(row.certificate),
    createdAt: int(row.created_at),
    lastSeenAt: optionalInt(row.last_seen_at),
    revokedAt: optionalInt(row.revoked_at),
  };
}
