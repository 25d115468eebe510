/** @module What the account service keeps (DESIGN §5): accounts, their devices, and the devices' KeyPackages. */
import type { DeviceRef } from '@parley/protocol';

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

export interface AccountStorage {
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
}

/** KeyPackages (RFC 9420 §10; DESIGN §6). */
export interface KeyPackageStorage {
  /** Stores one-time KeyPackages; a given `lastResort` replaces the device's previous one. */
  addKeyPackages(device: DeviceRef, oneTime: readonly NewKeyPackage[], lastResort: NewKeyPackage | undefined, at: number): Promise<void>;
  /** Unexpired one-time KeyPackages left, and whether an unexpired last-resort one is stored. */
  countKeyPackages(device: DeviceRef, now: number): Promise<{ oneTime: number; lastResort: boolean }>;
  /** Consumes the oldest unexpired one-time KeyPackage, atomically; else returns the last-resort one, kept. */
  claimKeyPackage(device: DeviceRef, now: number): Promise<ClaimedKeyPackage | undefined>;
  deleteExpiredKeyPackages(now: number): Promise<number>;
}
