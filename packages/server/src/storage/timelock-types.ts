/** @module What the time-lock service keeps (DESIGN §8): RSW moduli with their sealed trapdoors, and locks until released. */
import type { DeviceRef } from '@parley/protocol';
import type { MailboxRecord } from './group-types.js';

export interface TimelockModulusRecord {
  /** 16 random bytes. */
  id: Uint8Array;
  modulus: Uint8Array;
  /** The factors, sealed under a key from the server's key file: a database dump alone cannot open a lock early. */
  sealedTrapdoor: Uint8Array;
  createdAt: number;
}

export interface NewTimelock {
  lockId: Uint8Array;
  groupId: Uint8Array;
  /** The device that asked for the lock (the sender of the locked message). */
  creator: DeviceRef;
  modulusId: Uint8Array;
  base: Uint8Array;
  squarings: number;
  maskedKey: Uint8Array;
  unlockAt: number;
  createdAt: number;
}

export interface TimelockRecord extends NewTimelock {
  /** Set once the key went out; the key is kept with it for `timelock.fetch` until retention drops the row. */
  released: { at: number; key: Uint8Array } | undefined;
}

export interface TimelockStorage {
  addTimelockModulus(modulus: TimelockModulusRecord): Promise<void>;
  /** Every modulus still kept, newest first. */
  listTimelockModuli(): Promise<TimelockModulusRecord[]>;
  /** Deletes (with their trapdoors) the moduli created before `before` that no unreleased lock uses; returns how many went. */
  retireTimelockModuli(before: number): Promise<number>;

  addTimelock(lock: NewTimelock): Promise<void>;
  getTimelocks(lockIds: readonly Uint8Array[]): Promise<TimelockRecord[]>;
  /** Unreleased locks the device's account asked for. */
  countPendingTimelocks(username: string): Promise<number>;
  /** The earliest unlock time among unreleased locks. */
  nextTimelockUnlock(): Promise<number | undefined>;
  /** Unreleased locks with `unlockAt <= now`, earliest first. */
  dueTimelocks(now: number, limit: number): Promise<TimelockRecord[]>;
  /**
   * In one transaction, unless another node got there first (then undefined): marks the lock
   * released with `key` and queues a `release` mailbox entry with `payload` for every device
   * routed in the lock's group now, at the group's last sequence number. A device removed before
   * this gets nothing.
   */
  releaseTimelock(lockId: Uint8Array, release: { key: Uint8Array; payload: Uint8Array; at: number }): Promise<MailboxRecord[] | undefined>;
  /** Drops locks released before `cutoff` (their messages are past retention too); returns how many went. */
  deleteReleasedTimelocks(cutoff: number): Promise<number>;
}
