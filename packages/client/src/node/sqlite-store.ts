/**
 * @module The Node client store: one SQLite file in the profile directory (mode 0600), its schema
 * in numbered migrations (sqlite-migrations.ts). Each update is one SQLite transaction, so group
 * state never runs ahead of what is saved.
 */
import type { SignedTreeHead } from '@parley/protocol';
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import type { ClientStore, ConversationRecord, ConversationUpdate, KeyPackageSecret, PendingRelease, SolveCheckpoint, StoredMessage, UnlockedBy } from '../store/client-store.js';
import { migrate } from './sqlite-migrations.js';


interface ConversationRow {
  group_id: string;
  kind: 'direct' | 'group';
  title: string;
  peer: string | null;
  state: Buffer;
  processed_seq: number;
  active: number;
  created_at: number;
  last_activity_at: number;
  request_from: string | null;
}

interface MessageRow {
  group_id: string;
  seq: number;
  sender: string;
  sender_device: string;
  sent_at: number;
  text: string | null;
  read: number;
  lock_id: string | null;
  unlock_at: number | null;
  sealed: Buffer | null;
  unlocked_by: UnlockedBy | null;
}

const bytes = (buffer: Buffer): Uint8Array => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();

function toConversation(row: ConversationRow): ConversationRecord {
  return {
    groupId: row.group_id,
    kind: row.kind,
    title: row.title,
    ...(row.peer === null ? {} : { peer: row.peer }),
    state: bytes(row.state),
    processedSeq: row.processed_seq,
    active: row.active === 1,
    createdAt: row.created_at,
    lastActivityAt: row.last_activity_at,
    ...(row.request_from === null ? {} : { requestFrom: row.request_from }),
  };
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    groupId: row.group_id,
    seq: row.seq,
    sender: row.sender,
    senderDevice: row.sender_device,
    sentAt: row.sent_at,
    ...(row.text === null ? {} : { text: row.text }),
    read: row.read === 1,
    ...(row.lock_id === null || row.unlock_at === null
      ? {}
      : {
          lock: {
            lockId: row.lock_id,
            unlockAt: row.unlock_at,
            ...(row.sealed === null ? {} : { sealed: bytes(row.sealed) }),
            ...(row.unlocked_by === null ? {} : { unlockedBy: row.unlocked_by }),
          },
        }),
  };
}

function messageRow(m: StoredMessage): MessageRow {
  return {
    group_id: m.groupId,
    seq: m.seq,
    sender: m.sender,
    sender_device: m.senderDevice,
    sent_at: m.sentAt,
    text: m.text ?? null,
    read: m.read ? 1 : 0,
    lock_id: m.lock?.lockId ?? null,
    unlock_at: m.lock?.unlockAt ?? null,
    sealed: m.lock?.sealed ? Buffer.from(m.lock.sealed) : null,
    unlocked_by: m.lock?.unlockedBy ?? null,
  };
}

const INSERT_MESSAGE = `insert or ignore into messages (group_id, seq, sender, sender_device, sent_at, text, read, lock_id, unlock_at, sealed, unlocked_by)
  values (@group_id, @seq, @sender, @sender_device, @sent_at, @text, @read, @lock_id, @unlock_at, @sealed, @unlocked_by)`;

export class SqliteClientStore implements ClientStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    migrate(this.db);
  }

  async getConversation(groupId: string) {
    const row = this.db.prepare('select * from conversations where group_id = ?').get(groupId) as ConversationRow | undefined;
    return row && toConversation(row);
  }

  async listConversations() {
    return (this.db.prepare('select * from conversations order by created_at').all() as ConversationRow[]).map(toConversation);
  }

  async apply(update: ConversationUpdate) {
    const { conversation: c, message: m, consumedKeyPackage } = update;
    this.db.transaction(() => {
      this.db
        .prepare(
          `insert into conversations (group_id, kind, title, peer, state, processed_seq, active, created_at, last_activity_at, request_from)
           values (@group_id, @kind, @title, @peer, @state, @processed_seq, @active, @created_at, @last_activity_at, @request_from)
           on conflict (group_id) do update set kind = excluded.kind, title = excluded.title, peer = excluded.peer, state = excluded.state,
             processed_seq = excluded.processed_seq, active = excluded.active, last_activity_at = excluded.last_activity_at,
             request_from = excluded.request_from`,
        )
        .run({
          group_id: c.groupId,
          kind: c.kind,
          title: c.title,
          peer: c.peer ?? null,
          state: Buffer.from(c.state),
          processed_seq: c.processedSeq,
          active: c.active ? 1 : 0,
          created_at: c.createdAt,
          last_activity_at: c.lastActivityAt,
          request_from: c.requestFrom ?? null,
        });
      if (m) this.db.prepare(INSERT_MESSAGE).run(messageRow(m));
      if (consumedKeyPackage) this.db.prepare('delete from key_packages where ref = ? and last_resort = 0').run(consumedKeyPackage);
    })();
  }

  async listMessages(groupId: string, options: { unreadOnly?: boolean } = {}) {
    const sql = `select * from messages where group_id = ?${options.unreadOnly ? ' and read = 0' : ''} order by seq`;
    return (this.db.prepare(sql).all(groupId) as MessageRow[]).map(toMessage);
  }

  async importHistory(messages: StoredMessage[]) {
    const insert = this.db.prepare(INSERT_MESSAGE);
    this.db.transaction(() => {
      for (const m of messages) insert.run(messageRow(m));
    })();
  }

  async countUnread(groupId: string) {
    return (this.db.prepare('select count(*) as n from messages where group_id = ? and read = 0').get(groupId) as { n: number }).n;
  }

  async markRead(groupId: string, upToSeq: number) {
    this.db.prepare('update messages set read = 1 where group_id = ? and seq <= ?').run(groupId, upToSeq);
  }

  async listLockedMessages() {
    return (this.db.prepare('select * from messages where sealed is not null order by unlock_at, group_id, seq').all() as MessageRow[]).map(toMessage);
  }

  async listMessagesByLock(lockId: string) {
    return (this.db.prepare('select * from messages where lock_id = ? order by group_id, seq').all(lockId) as MessageRow[]).map(toMessage);
  }

  async openLockedMessage(groupId: string, seq: number, opened: { text: string; unlockedBy: UnlockedBy }) {
    return this.db.transaction(() => {
      const row = this.db.prepare('select * from messages where group_id = ? and seq = ? and sealed is not null').get(groupId, seq) as MessageRow | undefined;
      if (!row) return undefined;
      this.db.prepare('update messages set text = ?, unlocked_by = ?, sealed = null, read = 0 where group_id = ? and seq = ?').run(opened.text, opened.unlockedBy, groupId, seq);
      this.db.prepare('delete from pending_releases where lock_id = ?').run(row.lock_id);
      this.db.prepare('delete from solve_checkpoints where lock_id = ?').run(row.lock_id);
      return toMessage({ ...row, text: opened.text, unlocked_by: opened.unlockedBy, sealed: null, read: 0 });
    })();
  }

  async putPendingRelease(release: PendingRelease) {
    this.db.prepare('insert or replace into pending_releases values (?, ?, ?, ?)').run(release.lockId, release.groupId, release.unlockAt, Buffer.from(release.key));
  }

  async getPendingRelease(lockId: string) {
    const row = this.db.prepare('select * from pending_releases where lock_id = ?').get(lockId) as { lock_id: string; group_id: string; unlock_at: number; key: Buffer } | undefined;
    return row && { lockId: row.lock_id, groupId: row.group_id, unlockAt: row.unlock_at, key: bytes(row.key) };
  }

  async putSolveCheckpoint(checkpoint: SolveCheckpoint) {
    this.db
      .prepare('insert or replace into solve_checkpoints values (?, ?, ?, ?)')
      .run(checkpoint.lockId, Buffer.from(checkpoint.puzzleDigest), checkpoint.done, Buffer.from(checkpoint.value));
  }

  async getSolveCheckpoint(lockId: string) {
    const row = this.db.prepare('select * from solve_checkpoints where lock_id = ?').get(lockId) as { lock_id: string; puzzle_digest: Buffer; done: number; value: Buffer } | undefined;
    return row && { lockId: row.lock_id, puzzleDigest: bytes(row.puzzle_digest), done: row.done, value: bytes(row.value) };
  }

  async putKeyPackages(secrets: KeyPackageSecret[]) {
    const insert = this.db.prepare('insert or replace into key_packages values (?, ?, ?)');
    this.db.transaction(() => {
      for (const secret of secrets) insert.run(secret.ref, Buffer.from(secret.privateState), secret.lastResort ? 1 : 0);
    })();
  }

  async getKeyPackage(ref: string) {
    const row = this.db.prepare('select * from key_packages where ref = ?').get(ref) as { ref: string; private_state: Buffer; last_resort: number } | undefined;
    return row && { ref: row.ref, privateState: bytes(row.private_state), lastResort: row.last_resort === 1 };
  }

  async getPinnedIdentity(username: string) {
    const row = this.db.prepare('select identity_key from identities where username = ?').get(username) as { identity_key: Buffer } | undefined;
    return row && bytes(row.identity_key);
  }

  async pinIdentity(username: string, identityKey: Uint8Array) {
    this.db
      .prepare('insert into identities (username, identity_key) values (?, ?) on conflict (username) do update set identity_key = excluded.identity_key')
      .run(username, Buffer.from(identityKey));
  }

  async getVerifiedIdentity(username: string) {
    const row = this.db.prepare('select verified_key from identities where username = ?').get(username) as { verified_key: Buffer | null } | undefined;
    return row?.verified_key ? bytes(row.verified_key) : undefined;
  }

  async setVerifiedIdentity(username: string, identityKey: Uint8Array | undefined) {
    this.db.prepare('update identities set verified_key = ? where username = ?').run(identityKey ? Buffer.from(identityKey) : null, username);
  }

  async getCached(key: string) {
    const row = this.db.prepare('select value from cache where key = ?').get(key) as { value: Buffer } | undefined;
    return row && bytes(row.value);
  }

  async putCached(key: string, value: Uint8Array | undefined) {
    if (value) this.db.prepare('insert into cache values (?, ?) on conflict (key) do update set value = excluded.value').run(key, Buffer.from(value));
    else this.db.prepare('delete from cache where key = ?').run(key);
  }

  async getTreeHead() {
    const row = this.db.prepare('select * from tree_head where id = 1').get() as { size: number; root_hash: Buffer; timestamp: number; signature: Buffer } | undefined;
    return row && { size: row.size, rootHash: bytes(row.root_hash), timestamp: row.timestamp, signature: bytes(row.signature) };
  }

  async putTreeHead(head: SignedTreeHead) {
    this.db
      .prepare('insert or replace into tree_head (id, size, root_hash, timestamp, signature) values (1, ?, ?, ?, ?)')
      .run(head.size, Buffer.from(head.rootHash), head.timestamp, Buffer.from(head.signature));
  }

  async close() {
    if (this.db.open) this.db.close();
  }
}
