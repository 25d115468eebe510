/** @module The storage interface the services use, one part per capability. Async everywhere, so a network database fits behind it. */
import type { AccountStorage, KeyPackageStorage } from './account-types.js';
import type { ConsentStorage } from './consent-types.js';
import type { DeliveryStorage } from './delivery-types.js';
import type { GroupStorage } from './group-types.js';
import type { KeyLogStorage } from './key-log-types.js';
import type { TimelockStorage } from './timelock-types.js';

export type * from './account-types.js';
export type * from './delivery-types.js';
export type * from './group-types.js';

export interface Storage extends AccountStorage, KeyPackageStorage, GroupStorage, DeliveryStorage, TimelockStorage, ConsentStorage, KeyLogStorage {
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
