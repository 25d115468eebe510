/**
 * @module The browser's client store: conversations, MLS group state, history, KeyPackage secrets,
 * pinned identity keys and the SDK's cache in IndexedDB. `apply` is one IndexedDB transaction over the stores it
 * touches, so a group state never runs ahead of the message and cursor it produced (STYLE §9).
 */
import type { ClientStore, ConversationRecord, ConversationUpdate, KeyPackageSecret, StoredMessage } from '@parley/client';
import { deleteDatabase, inTransaction, openDatabase, requestResult } from './idb.js';

export const CLIENT_DB_NAME = 'parley-messages';
const VERSION = 2;

const CONVERSATIONS = 'conversations';
const MESSAGES = 'messages';
const KEY_PACKAGES = 'keyPackages';
const IDENTITIES = 'identities';
const CACHE = 'cache';
/** Index on [groupId, read] so unread counts need no scan. */
const BY_READ = 'byGroupRead';

// Stored rows are not domain shapes (STYLE §8): booleans that are indexed become 0/1, since
// IndexedDB keys cannot be booleans.
interface ConversationRow {
  groupId: string;
  kind: ConversationRecord['kind'];
  title: string;
  peer?: string;
  state: Uint8Array;
  processedSeq: number;
  active: boolean;
  createdAt: number;
  lastActivityAt: number;
}

interface MessageRow {
  groupId: string;
  seq: number;
  sender: string;
  senderDevice: string;
  sentAt: number;
  text: string;
  read: 0 | 1;
}

interface KeyPackageRow {
  ref: string;
  privateState: Uint8Array;
  lastResort: 0 | 1;
}

interface CacheRow {
  key: string;
  value: Uint8Array;
}

interface IdentityRow {
  username: string;
  /** The key seen first (trust on first use). */
  identityKey: Uint8Array;
  /** The key the user confirmed by comparing safety numbers. */
  verifiedKey?: Uint8Array;
}

// A view may share a larger buffer; structured clone would store all of it.
const own = (bytes: Uint8Array): Uint8Array => bytes.slice();

function toConversationRow(c: ConversationRecord): ConversationRow {
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
  };
}

function toConversation(row: ConversationRow): ConversationRecord {
  return { ...row };
}

function toMessageRow(m: StoredMessage): MessageRow {
  return { groupId: m.groupId, seq: m.seq, sender: m.sender, senderDevice: m.senderDevice, sentAt: m.sentAt, text: m.text, read: m.read ? 1 : 0 };
}

function toMessage(row: MessageRow): StoredMessage {
  return { groupId: row.groupId, seq: row.seq, sender: row.sender, senderDevice: row.senderDevice, sentAt: row.sentAt, text: row.text, read: row.read === 1 };
}

function upgrade(db: IDBDatabase, oldVersion: number): void {
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
}

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
    const stores = [CONVERSATIONS, MESSAGES, KEY_PACKAGES, IDENTITIES, CACHE];
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

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    if (opened) (await opened.catch(() => undefined))?.close();
  }
}
