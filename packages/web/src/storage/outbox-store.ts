/**
 * @module The web client's outbox in IndexedDB (in the messages database, so logging out clears
 * it): each message written here until the server accepts it, with the ciphertext of its latest
 * attempt, so a resend after a lost reply or a reload sends the same bytes and arrives once.
 */
import type { SealedText } from '@parley/client';
import { OUTBOX, own, upgrade, VERSION } from './client-schema.js';
import { CLIENT_DB_NAME } from './client-store.js';
import { inTransaction, openDatabase, requestResult } from './idb.js';

/** Where an outgoing message goes: a direct chat by the peer (its first message creates it), or a group. */
export type OutboxTarget = { kind: 'direct'; peer: string } | { kind: 'group'; groupId: string };

export interface OutboxEntry {
  id: string;
  /** Sending order: oldest first. */
  createdAt: number;
  target: OutboxTarget;
  /** Where the screen shows it: the conversation's group id, or `draft:<peer>` before the chat exists. */
  shownIn: string;
  text: string;
  unlockAt?: number;
  /** The ciphertext of the latest attempt, kept before it left. */
  sealed?: SealedText;
  /** Why it cannot be sent, in words: then it waits for Retry or Delete instead of being resent. */
  failure?: string;
}

interface OutboxRow extends OutboxEntry {
  v: 1;
}

function toRow(entry: OutboxEntry): OutboxRow {
  const { sealed, ...rest } = entry;
  return { v: 1, ...rest, ...(sealed ? { sealed: { ...sealed, message: own(sealed.message) } } : {}) };
}

export class IndexedDbOutbox {
  private opened: Promise<IDBDatabase> | undefined;

  constructor(readonly name: string = CLIENT_DB_NAME) {}

  private db(): Promise<IDBDatabase> {
    this.opened ??= openDatabase(this.name, VERSION, upgrade);
    return this.opened;
  }

  /** Every entry, oldest first. */
  async list(): Promise<OutboxEntry[]> {
    const db = await this.db();
    const rows = await inTransaction(db, [OUTBOX], 'readonly', (tx) => requestResult<OutboxRow[]>(tx.objectStore(OUTBOX).getAll()));
    return rows.map(({ v: _version, ...entry }) => entry).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async put(entry: OutboxEntry): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [OUTBOX], 'readwrite', (tx) => requestResult(tx.objectStore(OUTBOX).put(toRow(entry))));
  }

  async delete(id: string): Promise<void> {
    const db = await this.db();
    await inTransaction(db, [OUTBOX], 'readwrite', (tx) => requestResult(tx.objectStore(OUTBOX).delete(id)));
  }

  close(): void {
    const opened = this.opened;
    this.opened = undefined;
    void opened?.then((db) => db.close()).catch(() => undefined);
  }
}
