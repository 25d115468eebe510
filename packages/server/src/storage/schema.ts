/** @module Stored row shapes. These are the database's types, kept apart from domain types (STYLE §8). */

export interface AccountsTable {
  username: string;
  identity_key: Uint8Array;
  recovery_key: Uint8Array;
  opaque_record: Uint8Array;
  backup: Uint8Array;
  recovery_backup: Uint8Array;
  created_at: number;
}

export interface DevicesTable {
  username: string;
  device_id: string;
  name: string;
  public_key: Uint8Array;
  certificate: Uint8Array;
  created_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
}

export interface CountersTable {
  name: string;
  value: number;
}

export interface KeyPackagesTable {
  username: string;
  device_id: string;
  /** The KeyPackageRef (RFC 9420 §5.2). */
  id: Uint8Array;
  key_package: Uint8Array;
  /** 0 or 1: SQLite has no boolean type. */
  last_resort: number;
  expires_at: number;
  created_at: number;
}

export interface GroupsTable {
  group_id: Uint8Array;
  kind: string;
  epoch: number;
  group_info: Uint8Array;
  created_by: string;
  created_at: number;
  last_seq: number;
}

export interface GroupAdminsTable {
  group_id: Uint8Array;
  username: string;
}

export interface GroupDevicesTable {
  group_id: Uint8Array;
  username: string;
  device_id: string;
  acked_seq: number;
  joined_seq: number;
  /** Set when a commit removed the device; the row goes once the device has acknowledged that commit. */
  removed_seq: number | null;
  /** Entries dropped because the device's backlog passed its quota, until the device acknowledges the gap. */
  quota_gap_from: number | null;
  quota_gap_to: number | null;
}

/** A leaf of a group's ratchet tree (RFC 9420 §7.8) and the device it was added as, if known. */
export interface GroupLeavesTable {
  group_id: Uint8Array;
  leaf_index: number;
  signature_key: Uint8Array;
  username: string | null;
  device_id: string | null;
}

export interface GroupLogTable {
  group_id: Uint8Array;
  seq: number;
  kind: string;
  epoch: number;
  sender_username: string;
  sender_device: string;
  payload: Uint8Array;
  created_at: number;
}

export interface MailboxTable {
  id: number;
  username: string;
  device_id: string;
  kind: string;
  group_id: Uint8Array;
  seq: number;
  sender_username: string;
  sender_device: string;
  payload: Uint8Array | null;
  created_at: number;
}

/** The deployment's server key, recorded on first start: one row, `id` 'noise'. */
export interface ServerKeyTable {
  id: string;
  fingerprint: string;
  recorded_at: number;
}

export interface TimelockModuliTable {
  id: Uint8Array;
  modulus: Uint8Array;
  sealed_trapdoor: Uint8Array;
  created_at: number;
}

export interface TimelocksTable {
  lock_id: Uint8Array;
  group_id: Uint8Array;
  creator_username: string;
  creator_device: string;
  modulus_id: Uint8Array;
  base: Uint8Array;
  squarings: number;
  masked_key: Uint8Array;
  unlock_at: number;
  created_at: number;
  /** Both null until the release, both set by it. */
  released_at: number | null;
  released_key: Uint8Array | null;
}

/** One account's contact (DESIGN §6 consent): `owner` accepted, wrote to, or joined a group with `contact`. */
export interface ContactsTable {
  owner: string;
  contact: string;
  created_at: number;
}

/** `owner` blocks `blocked`: the server refuses the blocked user's KeyPackage claims, Welcomes and direct messages to the owner. */
export interface BlocksTable {
  owner: string;
  blocked: string;
  created_at: number;
}

/** The digest of an application message in a group's last entries, for resends; outlives the log entry's collection. */
export interface SentMessagesTable {
  group_id: Uint8Array;
  seq: number;
  epoch: number;
  sender_username: string;
  sender_device: string;
  digest: Uint8Array;
  created_at: number;
}

/** One leaf of the key-transparency log (DESIGN §11). */
export interface KeyLogTable {
  idx: number;
  username: string;
  /** The encoded leaf (protocol `encodeKeyLogLeaf`). */
  leaf: Uint8Array;
  /** RFC 9162 §2.1.1 leaf hash. */
  leaf_hash: Uint8Array;
  created_at: number;
}

export interface Database {
  accounts: AccountsTable;
  devices: DevicesTable;
  counters: CountersTable;
  key_packages: KeyPackagesTable;
  groups: GroupsTable;
  group_admins: GroupAdminsTable;
  group_devices: GroupDevicesTable;
  group_leaves: GroupLeavesTable;
  group_log: GroupLogTable;
  sent_messages: SentMessagesTable;
  mailbox: MailboxTable;
  server_key: ServerKeyTable;
  timelock_moduli: TimelockModuliTable;
  timelocks: TimelocksTable;
  contacts: ContactsTable;
  blocks: BlocksTable;
  key_log: KeyLogTable;
}
