/**
 * @module How the browser's client store lays out IndexedDB: object stores, indexes, the rows it
 * keeps (not domain shapes, STYLE §8) and the versioned upgrade from each older layout.
 */
import type { ConversationRecord, SignedTreeHead, StoredMessage, UnlockedBy } from '@parley/client';

/** 4 is consent's (message requests); 5 adds the outbox; 6 the key log's tree head. */
export const VERSION = 6;

export const CONVERSATIONS = 'conversations';
export const MESSAGES = 'messages';
export const KEY_PACKAGES = 'keyPackages';
export const IDENTITIES = 'identities';
export const CACHE = 'cache';
export const PENDING_RELEASES = 'pendingReleases';
export const CHECKPOINTS = 'solveCheckpoints';
/** Messages written in this browser and not yet accepted by the server (the web client's outbox). */
export const OUTBOX = 'outbox';
/** The newest key-log tree head this browser verified (DESIGN §11), one row keyed `latest`. */
export const TREE_HEAD = 'treeHead';
/** Index on [groupId, read] so unread counts need no scan. */
export const BY_READ = 'byGroupRead';
/** Index on a time-locked message's lock id (only rows that have one are in it). */
export const BY_LOCK = 'byLock';
/** Index on `lockedUntil`, which only a message still locked has: the locked ones, soonest first. */
export const LOCKED = 'locked';

// Stored rows are not domain shapes (STYLE §8): booleans that are indexed become 0/1, since
// IndexedDB keys cannot be booleans.
export interface ConversationRow {
  groupId: string;
  kind: ConversationRecord['kind'];
  title: string;
  peer?: string;
  state: Uint8Array;
  processedSeq: number;
  active: boolean;
  createdAt: number;
  lastActivityAt: number;
  /** A pending or declined message request: who it is from (DESIGN §6 consent). */
  requestFrom?: string;
}

export interface MessageRow {
  groupId: string;
  seq: number;
  sender: string;
  senderDevice: string;
  sentAt: number;
  /** Absent while time-locked. */
  text?: string;
  read: 0 | 1;
  lockId?: string;
  unlockAt?: number;
  /** The unlock time again, only while locked: what the `locked` index lists. */
  lockedUntil?: number;
  sealed?: Uint8Array;
  unlockedBy?: UnlockedBy;
}

export interface KeyPackageRow {
  ref: string;
  privateState: Uint8Array;
  lastResort: 0 | 1;
}

/** The one tree-head row (DESIGN §11). */
export interface TreeHeadRow extends SignedTreeHead {
  id: 'latest';
}

export interface CacheRow {
  key: string;
  value: Uint8Array;
}

export interface IdentityRow {
  username: string;
  /** The key seen first (trust on first use). */
  identityKey: Uint8Array;
  /** The key the user confirmed by comparing safety numbers. */
  verifiedKey?: Uint8Array;
}

// A view may share a larger buffer; structured clone would store all of it.
export const own = (bytes: Uint8Array): Uint8Array => bytes.slice();

export function toConversationRow(c: ConversationRecord): ConversationRow {
  return {
    groupId: c.groupId,
    kind: c.kind,
    title: c.title,
    ...(c.peer === undefined ? {} : { peer: c.peer }),
    state: own(c.state),
    processedSeq: c.processedSeq,
    active: c.active,
    createdAt: c.createdAt,
    lastActivityAt: c.lastActivityAt,
    ...(c.requestFrom === undefined ? {} : { requestFrom: c.requestFrom }),
  };
}

export function toConversation(row: ConversationRow): ConversationRecord {
  return { ...row };
}

export function toMessageRow(m: StoredMessage): MessageRow {
  const lock = m.lock;
  return {
    groupId: m.groupId,
    seq: m.seq,
    sender: m.sender,
    senderDevice: m.senderDevice,
    sentAt: m.sentAt,
    ...(m.text === undefined ? {} : { text: m.text }),
    read: m.read ? 1 : 0,
    ...(lock ? { lockId: lock.lockId, unlockAt: lock.unlockAt } : {}),
    ...(lock?.sealed ? { sealed: own(lock.sealed), lockedUntil: lock.unlockAt } : {}),
    ...(lock?.unlockedBy ? { unlockedBy: lock.unlockedBy } : {}),
  };
}

export function toMessage(row: MessageRow): StoredMessage {
  return {
    groupId: row.groupId,
    seq: row.seq,
    sender: row.sender,
    senderDevice: row.senderDevice,
    sentAt: row.sentAt,
    ...(row.text === undefined ? {} : { text: row.text }),
    read: row.read === 1,
    ...(row.lockId === undefined || row.unlockAt === undefined
      ? {}
      : {
          lock: {
            lockId: row.lockId,
            unlockAt: row.unlockAt,
            ...(row.sealed ? { sealed: row.sealed } : {}),
            ...(row.unlockedBy ? { unlockedBy: row.unlockedBy } : {}),
          },
        }),
  };
}

export function upgrade(db: IDBDatabase, oldVersion: number, transaction: IDBTransaction): void {
  // Version 1: the initial schema. Later versions add steps below, each guarded by oldVersion.
  if (oldVersion < 1) {
    db.createObjectStore(CONVERSATIONS, { keyPath: 'groupId' });
    const messages = db.createObjectStore(MESSAGES, { keyPath: ['groupId', 'seq'] });
    messages.createIndex(BY_READ, ['groupId', 'read']);
    db.createObjectStore(KEY_PACKAGES, { keyPath: 'ref' });
    db.createObjectStore(IDENTITIES, { keyPath: 'username' });
  }
  // Version 2: what the SDK caches between runs (directory entries, group summaries, counts).
  if (oldVersion < 2) db.createObjectStore(CACHE, { keyPath: 'key' });
  // Version 3: time-locked messages (DESIGN §8), the releases that came before them, solver checkpoints.
  if (oldVersion < 3) {
    const messages = transaction.objectStore(MESSAGES);
    messages.createIndex(BY_LOCK, 'lockId');
    messages.createIndex(LOCKED, 'lockedUntil');
    db.createObjectStore(PENDING_RELEASES, { keyPath: 'lockId' });
    db.createObjectStore(CHECKPOINTS, { keyPath: 'lockId' });
  }
  // Version 4: a conversation may carry `requestFrom` (a message request). Rows need no rewrite:
  // one without it is accepted, as every conversation from before requests existed was.
  // Version 5: the outbox, so a message written while offline survives a reload and is sent once.
  if (oldVersion < 5) db.createObjectStore(OUTBOX, { keyPath: 'id' });
  // Version 6: the key log's newest verified tree head.
  if (oldVersion < 6) db.createObjectStore(TREE_HEAD, { keyPath: 'id' });
}
