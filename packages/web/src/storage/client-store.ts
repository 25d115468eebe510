/**
 * @module The browser's client store: conversations, MLS group state, history (time-locked messages,
 * their pending releases and solver checkpoints too), KeyPackage secrets, pinned identity keys and
 * the SDK's cache in IndexedDB. `apply` is one IndexedDB transaction over the stores it
 * touches, so a group state never runs ahead of the message and cursor it produced (STYLE §9).
 */

import type { ClientStore, ConversationRecord, ConversationUpdate, KeyPackageSecret, PendingRelease, SignedTreeHead, SolveCheckpoint, StoredMessage, UnlockedBy } from '@parley/client';
import {
  BY_LOCK,
  BY_READ,
  CACHE,
  CHECKPOINTS,
  CONVERSATIONS,
  IDENTITIES,
  KEY_PACKAGES,
  LOCKED,
  MESSAGES,
  OUTBOX,
  own,
  PENDING_RELEASES,
  toConversation,
  TREE_HEAD,
  toConversationRow,
  toMessage,
  toMessageRow,
  upgrade,
  VERSION,
  type CacheRow,
  type ConversationRow,
  type IdentityRow,
  type KeyPackageRow,
  type MessageRow,
  type TreeHeadRow,
} from './client-schema.js';
import { deleteDatabase, inTransaction, openDatabase, requestResult } from './idb.js';

export const CLIENT_DB_NAME = 'parley-messages';

const groupRange = (groupId: string, upToSeq = Infinity): IDBKeyRange => IDBKeyRange.bound([groupId, -Infinity], [groupId, upToSeq]);

export class IndexedDbClientStore implements ClientStore {
  private opened: Promise<IDBDatabase> | undefined;

  constructor(readonly name: string = CLIENT_DB_NAME) {}

  /** Delete the whole database (tests, and a browser that wants no trace). */
  static async erase(name: string = CLIENT_DB_NAME): Promise<void> {
    await deleteDatabase(name);
  }

  /**
   * Forget everything, in one transaction: after this device logs out, and before another
   * account's device is enrolled in this browser, so no history or group state carries over.
   */
  async clear(): Promise<void> {
    const stores = [CONVERSATIONS, MESSAGES, KEY_PACKAGES, IDENTITIES, CACHE, PENDING_RELEASES, CHECKPOINTS, OUTBOX];
    const db = await this.db();
    await inTransaction(db, stores, 'readwrite', (tx) => Promise.all(stores.map((name) => requestResult(tx.objectStore(name).clear()))));
  }

  private db(): Promise<IDBDatabase> {
    this.opened ??= openDatabase(this.name, VERSION, upgrade);
    return this.opened;
  }

  async getConversation(groupId: string): Promise<ConversationRecord | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [CONVERSATIONS], 'readonly', (tx) => requestResult<ConversationRow | undefined>(tx.objectStore(CONVERSATIONS).get(groupId)));
    return row && toConversation(row);
  }

  async listConversations(): Promise<ConversationRecord[]> {
    const db = await this.db();
    const rows = await inTransaction(db, [CONVERSATIONS], 'readonly', (tx) => requestResult<ConversationRow[]>(tx.objectStore(CONVERSATIONS).getAll()));
    return rows.sort((a, b) => a.createdAt - b.createdAt).map(toConversation);
  }

  async apply(update: ConversationUpdate): Promise<void> {
    const { conversation, message, consumedKeyPackage } = update;
    const stores = [CONVERSATIONS, ...(message ? [MESSAGES] : []), ...(consumedKeyPackage ? [KEY_PACKAGES] : [])];
    const db = await this.db();
    await inTransaction(db, stores, 'readwrite', async (tx) => {
      const puts: Promise<unknown>[] = [requestResult(tx.objectStore(CONVERSATIONS).put(toConversationRow(conversation)))];
      if (message) {
        // Insert or ignore: a message is stored once per (group, seq), as the server numbered it.
        const messages = tx.objectStore(MESSAGES);
        const existing = await requestResult(messages.getKey([message.groupId, message.seq]));
        if (existing === undefined) puts.push(requestResult(messages.put(toMessageRow(message))));
      }
      if (consumedKeyPackage) {
        const keyPackages = tx.objectStore(KEY_PACKAGES);
        const secret = await requestResult<KeyPackageRow | undefined>(keyPackages.get(consumedKeyPackage));
        // The last-resort KeyPackage may be used again (DESIGN §6); one-time ones are gone once used.
        if (secret && secret.lastResort === 0) puts.push(requestResult(keyPackages.delete(consumedKeyPackage)));
      }
      await Promise.all(puts);
    });
  }

  async listMessages(groupId: string, options: { unreadOnly?: boolean } = {}): Promise<StoredMessage[]> {
    const db = await this.db();
    const rows = await inTransaction(db, [MESSAGES], 'readonly', (tx) => {
      const messages = tx.objectStore(MESSAGES);
      return options.unreadOnly
        ? requestResult<MessageRow[]>(messages.index(BY_READ).getAll(IDBKeyRange.only([groupId, 0])))
        : requestResult<MessageRow[]>(messages.getAll(groupRange(groupId)));
    });
    return rows.sort((a, b) => a.seq - b.seq).map(toMessage);
  }

  async importHistory(messages: StoredMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const db = await this.db();
    await inTransaction(db, [MESSAGES], 'readwrite', async (tx) => {
      const store = tx.objectStore(MESSAGES);
      // Insert or ignore, as apply does: what this device stored itself stays as it is.
      const existing = await Promise.all(messages.map((m) => requestResult(store.getKey([m.groupId, m.seq]))));
      await Promise.all(messages.filter((_, index) => existing[index] === undefined).map((m) => requestResult(store.put(toMessageRow(m)))));
    });
  }

  /** The newest message of a conversation, for the conversation list's preview line. */
  async lastMessage(groupId: string): Promise<StoredMessage | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [MESSAGES], 'readonly', async (tx) => {
      const cursor = await requestResult(tx.objectStore(MESSAGES).openCursor(groupRange(groupId), 'prev'));
      return cursor?.value as MessageRow | undefined;
    });
    return row && toMessage(row);
  }

  async countUnread(groupId: string): Promise<number> {
    const db = await this.db();
    return inTransaction(db, [MESSAGES], 'readonly', (tx) => requestResult(tx.objectStore(MESSAGES).index(BY_READ).count(IDBKeyRange.only([groupId, 0]))));
  }

  async markRead(groupId: string, upToSeq: number): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [MESSAGES], 'readwrite', async (tx) => {
      const index = tx.objectStore(MESSAGES).index(BY_READ);
      const unread = await requestResult<MessageRow[]>(index.getAll(IDBKeyRange.only([groupId, 0])));
      const store = tx.objectStore(MESSAGES);
      await Promise.all(unread.filter((row) => row.seq <= upToSeq).map((row) => requestResult(store.put({ ...row, read: 1 }))));
    });
  }

  async listLockedMessages(): Promise<StoredMessage[]> {
    const db = await this.db();
    const rows = await inTransaction(db, [MESSAGES], 'readonly', (tx) => requestResult<MessageRow[]>(tx.objectStore(MESSAGES).index(LOCKED).getAll()));
    return rows.map(toMessage);
  }

  async listMessagesByLock(lockId: string): Promise<StoredMessage[]> {
    const db = await this.db();
    const rows = await inTransaction(db, [MESSAGES], 'readonly', (tx) => requestResult<MessageRow[]>(tx.objectStore(MESSAGES).index(BY_LOCK).getAll(IDBKeyRange.only(lockId))));
    return rows.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : a.seq - b.seq)).map(toMessage);
  }

  async openLockedMessage(groupId: string, seq: number, opened: { text: string; unlockedBy: UnlockedBy }): Promise<StoredMessage | undefined> {
    const db = await this.db();
    return inTransaction(db, [MESSAGES, PENDING_RELEASES, CHECKPOINTS], 'readwrite', async (tx) => {
      const messages = tx.objectStore(MESSAGES);
      const row = await requestResult<MessageRow | undefined>(messages.get([groupId, seq]));
      if (!row?.sealed || row.lockId === undefined) return undefined;
      const { sealed: _sealed, lockedUntil: _lockedUntil, ...rest } = row;
      const openedRow: MessageRow = { ...rest, text: opened.text, unlockedBy: opened.unlockedBy, read: 0 };
      await Promise.all([
        requestResult(messages.put(openedRow)),
        requestResult(tx.objectStore(PENDING_RELEASES).delete(row.lockId)),
        requestResult(tx.objectStore(CHECKPOINTS).delete(row.lockId)),
      ]);
      return toMessage(openedRow);
    });
  }

  async putPendingRelease(release: PendingRelease): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [PENDING_RELEASES], 'readwrite', (tx) => requestResult(tx.objectStore(PENDING_RELEASES).put({ ...release, key: own(release.key) } satisfies PendingRelease)));
  }

  async getPendingRelease(lockId: string): Promise<PendingRelease | undefined> {
    const db = await this.db();
    return inTransaction(db, [PENDING_RELEASES], 'readonly', (tx) => requestResult<PendingRelease | undefined>(tx.objectStore(PENDING_RELEASES).get(lockId)));
  }

  async putSolveCheckpoint(checkpoint: SolveCheckpoint): Promise<void> {
    const db = await this.db();
    const row: SolveCheckpoint = { ...checkpoint, puzzleDigest: own(checkpoint.puzzleDigest), value: own(checkpoint.value) };
    await inTransaction(db, [CHECKPOINTS], 'readwrite', (tx) => requestResult(tx.objectStore(CHECKPOINTS).put(row)));
  }

  async getSolveCheckpoint(lockId: string): Promise<SolveCheckpoint | undefined> {
    const db = await this.db();
    return inTransaction(db, [CHECKPOINTS], 'readonly', (tx) => requestResult<SolveCheckpoint | undefined>(tx.objectStore(CHECKPOINTS).get(lockId)));
  }

  async putKeyPackages(secrets: KeyPackageSecret[]): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [KEY_PACKAGES], 'readwrite', async (tx) => {
      const store = tx.objectStore(KEY_PACKAGES);
      await Promise.all(
        secrets.map((secret) => requestResult(store.put({ ref: secret.ref, privateState: own(secret.privateState), lastResort: secret.lastResort ? 1 : 0 } satisfies KeyPackageRow))),
      );
    });
  }

  async getKeyPackage(ref: string): Promise<KeyPackageSecret | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [KEY_PACKAGES], 'readonly', (tx) => requestResult<KeyPackageRow | undefined>(tx.objectStore(KEY_PACKAGES).get(ref)));
    return row && { ref: row.ref, privateState: row.privateState, lastResort: row.lastResort === 1 };
  }

  async getPinnedIdentity(username: string): Promise<Uint8Array | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [IDENTITIES], 'readonly', (tx) => requestResult<IdentityRow | undefined>(tx.objectStore(IDENTITIES).get(username)));
    return row?.identityKey;
  }

  async pinIdentity(username: string, identityKey: Uint8Array): Promise<void> {
    await this.updateIdentity(username, (row) => ({ ...row, username, identityKey: own(identityKey) }));
  }

  async getVerifiedIdentity(username: string): Promise<Uint8Array | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [IDENTITIES], 'readonly', (tx) => requestResult<IdentityRow | undefined>(tx.objectStore(IDENTITIES).get(username)));
    return row?.verifiedKey;
  }

  /** Marks (or, with undefined, unmarks) the pinned user's key as verified; a user never pinned is left alone. */
  async setVerifiedIdentity(username: string, identityKey: Uint8Array | undefined): Promise<void> {
    await this.updateIdentity(username, (row) => {
      if (!row) return undefined;
      const { verifiedKey: _old, ...rest } = row;
      return identityKey ? { ...rest, verifiedKey: own(identityKey) } : rest;
    });
  }

  private async updateIdentity(username: string, change: (row: IdentityRow | undefined) => IdentityRow | undefined): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [IDENTITIES], 'readwrite', async (tx) => {
      const store = tx.objectStore(IDENTITIES);
      const next = change(await requestResult<IdentityRow | undefined>(store.get(username)));
      if (next) await requestResult(store.put(next));
    });
  }

  async getCached(key: string): Promise<Uint8Array | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [CACHE], 'readonly', (tx) => requestResult<CacheRow | undefined>(tx.objectStore(CACHE).get(key)));
    return row?.value;
  }

  async putCached(key: string, value: Uint8Array | undefined): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [CACHE], 'readwrite', async (tx) => {
      const store = tx.objectStore(CACHE);
      if (value) await requestResult(store.put({ key, value: own(value) } satisfies CacheRow));
      else await requestResult(store.delete(key));
    });
  }

  async getTreeHead(): Promise<SignedTreeHead | undefined> {
    const db = await this.db();
    const row = await inTransaction(db, [TREE_HEAD], 'readonly', (tx) => requestResult<TreeHeadRow | undefined>(tx.objectStore(TREE_HEAD).get('latest')));
    return row && { size: row.size, rootHash: row.rootHash, timestamp: row.timestamp, signature: row.signature };
  }

  async putTreeHead(head: SignedTreeHead): Promise<void> {
    const db = await this.db();
    const row: TreeHeadRow = { id: 'latest', size: head.size, rootHash: own(head.rootHash), timestamp: head.timestamp, signature: own(head.signature) };
    await inTransaction(db, [TREE_HEAD], 'readwrite', (tx) => requestResult(tx.objectStore(TREE_HEAD).put(row)));
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) (await opened.catch(() => undefined))?.close();
  }
}
