/** @module The storage interface the services use. Async everywhere, so a network database fits behind it. */

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

export interface Storage {
  /** Creates the account and its first device together; throws StorageConflictError if the username exists. */
  createAccount(account: AccountRecord, firstDevice: NewDevice): Promise<void>;
  getAccount(username: string): Promise<AccountRecord | undefined>;
  /** Throws StorageConflictError if the device id is already used by this account. */
  addDevice(device: NewDevice): Promise<void>;
  getDevice(username: string, deviceId: string): Promise<DeviceRecord | undefined>;
  /** Devices in creation order, active ones only unless asked. */
  listDevices(username: string, options?: { includeRevoked?: boolean }): Promise<DeviceRecord[]>;
  /** Marks the given devices (or all) revoked; returns the ids that were active until now. */
  revokeDevices(username: string, deviceIds: readonly string[] | 'all', at: number): Promise<string[]>;
  touchDevice(username: string, deviceId: string, at: number): Promise<void>;
  close(): Promise<void>;
}

export class StorageConflictError extends Error {
  override readonly name = 'StorageConflictError';
}
