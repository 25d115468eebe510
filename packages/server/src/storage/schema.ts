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

export interface Database {
  accounts: AccountsTable;
  devices: DevicesTable;
}
