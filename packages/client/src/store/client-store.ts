/**
 * @module What the SDK keeps locally for messaging: MLS group states, history (time-locked
 * messages with their pending releases and solver checkpoints too), KeyPackage secrets, pinned
 * identity keys, and a cache of what the server said that is worth not asking again.
 */
import type { GroupKind, SignedTreeHead } from '@parley/protocol';

export interface ConversationRecord {
  /** base64url of the 16-byte MLS group id. */
  groupId: string;
  kind: GroupKind;
  /** Group title (from the creator's meta message) or, for a direct chat, the other user's name. */
  title: string;
  /** For a direct chat: the other user. */
  peer?: string;
  /** Serialized MLS group state (opaque bytes from the crypto facade). */
  state: Uint8Array;
  /** Highest log sequence number processed; anything at or below it is a duplicate. */
  processedSeq: number;
  /** False once this device was removed from the group (or left it, or declined it). */
  active: boolean;
  /**
   * A message request (DESIGN §6 consent): the user whose Welcome brought this device in while
   * they were not a contact. Set until the request is accepted; this device sends nothing into it
   * meanwhile. A declined request keeps it, inactive. Absent: accepted (and in every conversation
   * from before requests existed).
   */
  requestFrom?: string;
  createdAt: number;
  lastActivityAt: number;
}

/** How a time-locked message opened: by the server's release at its unlock time, or by this device solving its puzzle. */
export type UnlockedBy = 'server' | 'puzzle';

/** The lock of a time-locked message (DESIGN §8). */
export interface MessageLock {
  /** base64url of the 16-byte lock id the server gave the sender. */
  lockId: string;
  unlockAt: number;
  /**
   * While the message is locked: its locked content as it arrived (encoded: the puzzle, the
   * commitment and the sealed text), which a released or solved key opens. Dropped once open.
   */
  sealed?: Uint8Array;
  /** How it opened; absent while locked, and on the sender's own copy. */
  unlockedBy?: UnlockedBy;
}

export interface StoredMessage {
  groupId: string;
  seq: number;
  sender: string;
  senderDevice: string;
  sentAt: number;
  /** Absent while the message is time-locked (then `lock.sealed` holds it). */
  text?: string;
  read: boolean;
  lock?: MessageLock;
}

/** A released time-lock key that came before its message (DESIGN §8), kept by lock id until the message arrives. */
export interface PendingRelease {
  /** base64url lock id. */
  lockId: string;
  /** base64url group id the server released it for. */
  groupId: string;
  unlockAt: number;
  key: Uint8Array;
}

/** How far solving a lock's puzzle got: saved after every slice of squarings, so a restart resumes there. */
export interface SolveCheckpoint {
  /** base64url lock id. */
  lockId: string;
  /** Which puzzle the state belongs to (crypto's `timelockPuzzleDigest`). */
  puzzleDigest: Uint8Array;
  /** Squarings done. */
  done: number;
  /** base^(2^done) mod N, big-endian. */
  value: Uint8Array;
}

export interface KeyPackageSecret {
  /** base64url KeyPackageRef. */
  ref: string;
  privateState: Uint8Array;
  lastResort: boolean;
}

/** One atomic change: the group state moves on together with what it produced (STYLE §9). */
export interface ConversationUpdate {
  conversation: ConversationRecord;
  message?: StoredMessage;
  /** A one-time KeyPackage secret used up by joining. */
  consumedKeyPackage?: string;
}

export interface ClientStore {
  getConversation(groupId: string): Promise<ConversationRecord | undefined>;
  listConversations(): Promise<ConversationRecord[]>;
  /** Apply an update atomically: state, cursor, message and consumed secret together, or nothing. */
  apply(update: ConversationUpdate): Promise<void>;
  listMessages(groupId: string, options?: { unreadOnly?: boolean }): Promise<StoredMessage[]>;
  /** Add messages received from another device of the account; ones already stored are kept as they are. */
  importHistory(messages: StoredMessage[]): Promise<void>;
  countUnread(groupId: string): Promise<number>;
  /** Time-locked messages not opened yet, soonest unlock first. */
  listLockedMessages(): Promise<StoredMessage[]>;
  /** The messages carrying this lock, locked or opened (a hostile sender may reuse a lock id). */
  listMessagesByLock(lockId: string): Promise<StoredMessage[]>;
  /**
   * Open a locked message, atomically: keep its text and how it opened, drop its sealed content,
   * its lock's solver checkpoint and pending release, and make it unread again (it has something
   * new to show). Returns the opened message, or undefined when it was not locked (already open,
   * or unknown), so that two ways of opening it at once open it once.
   */
  openLockedMessage(groupId: string, seq: number, opened: { text: string; unlockedBy: UnlockedBy }): Promise<StoredMessage | undefined>;
  /** Keep (or replace) a release whose message has not arrived. */
  putPendingRelease(release: PendingRelease): Promise<void>;
  getPendingRelease(lockId: string): Promise<PendingRelease | undefined>;
  putSolveCheckpoint(checkpoint: SolveCheckpoint): Promise<void>;
  getSolveCheckpoint(lockId: string): Promise<SolveCheckpoint | undefined>;
  markRead(groupId: string, upToSeq: number): Promise<void>;
  putKeyPackages(secrets: KeyPackageSecret[]): Promise<void>;
  getKeyPackage(ref: string): Promise<KeyPackageSecret | undefined>;
  getPinnedIdentity(username: string): Promise<Uint8Array | undefined>;
  pinIdentity(username: string, identityKey: Uint8Array): Promise<void>;
  /** The identity key the user confirmed by comparing safety numbers, if any. */
  getVerifiedIdentity(username: string): Promise<Uint8Array | undefined>;
  setVerifiedIdentity(username: string, identityKey: Uint8Array | undefined): Promise<void>;
  /**
   * Derived data the SDK can always ask the server for again (directory entries, group
   * summaries, its KeyPackage count), kept between runs so commands can skip those requests.
   * Values are opaque bytes to the store; the SDK validates what it reads back.
   */
  getCached(key: string): Promise<Uint8Array | undefined>;
  /** Replace a cached value, or forget it (`undefined`). */
  putCached(key: string, value: Uint8Array | undefined): Promise<void>;
  /** The newest key-log tree head this client verified (DESIGN §11): the next one must extend it. */
  getTreeHead(): Promise<SignedTreeHead | undefined>;
  /** Replace it with a newer verified head. */
  putTreeHead(head: SignedTreeHead): Promise<void>;
  close(): Promise<void>;
}
