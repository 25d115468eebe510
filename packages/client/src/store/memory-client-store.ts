/** @module A client store in memory: for tests and throwaway sessions. */
import type { SignedTreeHead } from '@parley/protocol';
import type { ClientStore, ConversationRecord, ConversationUpdate, KeyPackageSecret, PendingRelease, SolveCheckpoint, StoredMessage, UnlockedBy } from './client-store.js';

/** Keeps everything in memory: for tests and throwaway sessions. */
export class MemoryClientStore implements ClientStore {
  private readonly conversations = new Map<string, ConversationRecord>();
  private treeHead: SignedTreeHead | undefined;
  private readonly messages = new Map<string, StoredMessage[]>();
  private readonly keyPackages = new Map<string, KeyPackageSecret>();
  private readonly identities = new Map<string, Uint8Array>();
  private readonly verified = new Map<string, Uint8Array>();
  private readonly cache = new Map<string, Uint8Array>();
  private readonly releases = new Map<string, PendingRelease>();
  private readonly checkpoints = new Map<string, SolveCheckpoint>();

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
    return (this.messages.get(groupId) ?? []).filter((message) => !options.unreadOnly || !message.read).map((message) => structuredClone(message));
  }
  async importHistory(messages: StoredMessage[]) {
    for (const message of messages) {
      const list = this.messages.get(message.groupId) ?? [];
      if (!list.some((existing) => existing.seq === message.seq)) list.push(structuredClone(message));
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
  private allMessages(): StoredMessage[] {
    return [...this.messages.values()].flat();
  }
  async listLockedMessages() {
    const locked = this.allMessages().filter((message) => message.lock?.sealed !== undefined);
    return locked.sort((a, b) => (a.lock?.unlockAt ?? 0) - (b.lock?.unlockAt ?? 0)).map((message) => structuredClone(message));
  }
  async listMessagesByLock(lockId: string) {
    return this.allMessages().filter((message) => message.lock?.lockId === lockId).map((message) => structuredClone(message));
  }
  async openLockedMessage(groupId: string, seq: number, opened: { text: string; unlockedBy: UnlockedBy }) {
    const message = this.messages.get(groupId)?.find((candidate) => candidate.seq === seq);
    if (!message?.lock?.sealed) return undefined;
    const { sealed: _sealed, ...lock } = message.lock;
    Object.assign(message, { text: opened.text, read: false, lock: { ...lock, unlockedBy: opened.unlockedBy } });
    this.releases.delete(lock.lockId);
    this.checkpoints.delete(lock.lockId);
    return structuredClone(message);
  }
  async putPendingRelease(release: PendingRelease) {
    this.releases.set(release.lockId, structuredClone(release));
  }
  async getPendingRelease(lockId: string) {
    const release = this.releases.get(lockId);
    return release && structuredClone(release);
  }
  async putSolveCheckpoint(checkpoint: SolveCheckpoint) {
    this.checkpoints.set(checkpoint.lockId, structuredClone(checkpoint));
  }
  async getSolveCheckpoint(lockId: string) {
    const checkpoint = this.checkpoints.get(lockId);
    return checkpoint && structuredClone(checkpoint);
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
  async getCached(key: string) {
    return this.cache.get(key)?.slice();
  }
  async putCached(key: string, value: Uint8Array | undefined) {
    if (value) this.cache.set(key, value.slice());
    else this.cache.delete(key);
  }
  async getTreeHead() {
    return this.treeHead && { ...this.treeHead, rootHash: this.treeHead.rootHash.slice(), signature: this.treeHead.signature.slice() };
  }
  async putTreeHead(head: SignedTreeHead) {
    this.treeHead = { size: head.size, rootHash: head.rootHash.slice(), timestamp: head.timestamp, signature: head.signature.slice() };
  }
  async close() {}
}
