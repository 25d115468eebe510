/** @module What the SDK keeps locally for messaging: MLS group states, history, KeyPackage secrets, pinned identity keys. */
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
  close(): Promise<void>;
}

/** Keeps everything in memory: for tests and throwaway sessions. */
export class MemoryClientStore implements ClientStore {
  private readonly conversations = new Map<string, ConversationRecord>();
  private readonly messages = new Map<string, StoredMessage[]>();
  private readonly keyPackages = new Map<string, KeyPackageSecret>();
  private readonly identities = new Map<string, Uint8Array>();
  private readonly verified = new Map<string, Uint8Array>();

  async getConversation(groupId: string) {
    const record = this.conversations.get(groupId);
    return record && structuredClone(record);
  }
  async listConversations() {
    return [...this.conversations.values()].map((record) => structuredClone(record));
  }
  async apply(update: ConversationUpdate) {
    this.conversations.set(update.conversation.groupId, structuredClone(update.conversation));
    if (update.message) {
      const list = this.messages.get(update.message.groupId) ?? [];
      if (!list.some((message) => message.seq === update.message?.seq)) list.push(structuredClone(update.message));
      list.sort((a, b) => a.seq - b.seq);
      this.messages.set(update.message.groupId, list);
    }
    if (update.consumedKeyPackage) {
      const secret = this.keyPackages.get(update.consumedKeyPackage);
      if (secret && !secret.lastResort) this.keyPackages.delete(update.consumedKeyPackage);
    }
  }
  async listMessages(groupId: string, options: { unreadOnly?: boolean } = {}) {
    return (this.messages.get(groupId) ?? []).filter((message) => !options.unreadOnly || !message.read).map((message) => ({ ...message }));
  }
  async importHistory(messages: StoredMessage[]) {
    for (const message of messages) {
      const list = this.messages.get(message.groupId) ?? [];
      if (!list.some((existing) => existing.seq === message.seq)) list.push({ ...message });
      list.sort((a, b) => a.seq - b.seq);
      this.messages.set(message.groupId, list);
    }
  }
  async countUnread(groupId: string) {
    return (this.messages.get(groupId) ?? []).filter((message) => !message.read).length;
  }
  async markRead(groupId: string, upToSeq: number) {
    for (const message of this.messages.get(groupId) ?? []) if (message.seq <= upToSeq) message.read = true;
  }
  async putKeyPackages(secrets: KeyPackageSecret[]) {
    for (const secret of secrets) this.keyPackages.set(secret.ref, structuredClone(secret));
  }
  async getKeyPackage(ref: string) {
    const secret = this.keyPackages.get(ref);
    return secret && structuredClone(secret);
  }
  async getPinnedIdentity(username: string) {
    return this.identities.get(username);
  }
  async pinIdentity(username: string, identityKey: Uint8Array) {
    this.identities.set(username, identityKey);
  }
  async getVerifiedIdentity(username: string) {
    return this.verified.get(username);
  }
  async setVerifiedIdentity(username: string, identityKey: Uint8Array | undefined) {
    if (identityKey) this.verified.set(username, identityKey);
    else this.verified.delete(username);
  }
  async close() {}
}
