/** @module What the key-transparency log keeps (DESIGN §11): its leaves, appended with every key change. */

/** One leaf as stored: where it sits in the log and its encoded bytes. */
export interface KeyLogRecord {
  index: number;
  leaf: Uint8Array;
}

/**
 * createAccount, addDevice and revokeDevices append the leaves of their change to the log in
 * their own transaction; these read the log, and log the keys of an account that has no leaf yet.
 */
export interface KeyLogStorage {
  /** How many leaves the log holds: every committed leaf has an index below it. */
  keyLogSize(): Promise<number>;
  /** Leaf hashes of leaves [from, to), in index order. */
  keyLogLeafHashes(from: number, to: number): Promise<Uint8Array[]>;
  /** The user's newest leaf, undefined if the user has none. */
  latestKeyLeaf(username: string): Promise<KeyLogRecord | undefined>;
  /**
   * Appends a `registered` leaf for the user's current keys, for an account created before the
   * log existed; does nothing if the user has a leaf already or no account.
   */
  logExistingKeys(username: string, at: number): Promise<void>;
}
