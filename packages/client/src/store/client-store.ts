/**
 * @module What the SDK keeps locally for messaging: MLS group states, history, KeyPackage secrets,
 * pinned identity keys, and a cache of what the server said that is worth not asking again.
 */
import type { GroupKind } from '@parley/protocol';

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
  /** False once this device was removed from the group. */
  active: boolean;
  createdAt: number;
  lastActivityAt: number;
}

export interface StoredMessage {
  groupId: string;
  seq: number;
  sender: string;
  senderDevice: string;
  sentAt: number;
  text: string;
  read: boolean;
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
  close(): Promise<void>;
}
