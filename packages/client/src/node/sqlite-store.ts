/**
 * @module The Node client store: one SQLite file in the profile directory (mode 0600).
 * Each update is one SQLite transaction, so group state never runs ahead of what is saved.
 */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import type { ClientStore, ConversationRecord, ConversationUpdate, KeyPackageSecret, StoredMessage } from '../store/client-store.js';

const SCHEMA = `
create table if not exists conversations (
  group_id text primary key, kind text not null, title text not null, peer text,
  state blob not null, processed_seq integer not null, active integer not null,
  created_at integer not null, last_activity_at integer not null
);
create table if not exists messages (
  group_id text not null, seq integer not null, sender text not null, sender_device text not null,
  sent_at integer not null, text text not null, read integer not null,
  primary key (group_id, seq)
);
create table if not exists key_packages (ref text primary key, private_state blob not null, last_resort integer not null);
create table if not exists identities (username text primary key, identity_key blob not null, verified_key blob);
create table if not exists cache (key text primary key, value blob not null);
`;

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
}

interface MessageRow {
  group_id: string;
  seq: number;
  sender: string;
  sender_device: string;
  sent_at: number;
  text: string;
  read: number;
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
  };
}

function toMessage(row: MessageRow): StoredMessage {
  return { groupId: row.group_id, seq: row.seq, sender: row.sender, senderDevice: row.sender_device, sentAt: row.sent_at, text: row.text, read: row.read === 1 };
}

export class SqliteClientStore implements ClientStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
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
          `insert into conversations values (@group_id, @kind, @title, @peer, @state, @processed_seq, @active, @created_at, @last_activity_at)
           on conflict (group_id) do update set kind = excluded.kind, title = excluded.title, peer = excluded.peer, state = excluded.state,
             processed_seq = excluded.processed_seq, active = excluded.active, last_activity_at = excluded.last_activity_at`,
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
        });
      if (m) {
        this.db
          .prepare('insert or ignore into messages values (?, ?, ?, ?, ?, ?, ?)')
          .run(m.groupId, m.seq, m.sender, m.senderDevice, m.sentAt, m.text, m.read ? 1 : 0);
      }
      if (consumedKeyPackage) this.db.prepare('delete from key_packages where ref = ? and last_resort = 0').run(consumedKeyPackage);
    })();
  }

  async listMessages(groupId: string, options: { unreadOnly?: boolean } = {}) {
    const sql = `select * from messages where group_id = ?${options.unreadOnly ? ' and read = 0' : ''} order by seq`;
    return (this.db.prepare(sql).all(groupId) as MessageRow[]).map(toMessage);
  }

  async importHistory(messages: StoredMessage[]) {
    const insert = this.db.prepare('insert or ignore into messages values (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const m of messages) insert.run(m.groupId, m.seq, m.sender, m.senderDevice, m.sentAt, m.text, m.read ? 1 : 0);
    })();
  }

  async countUnread(groupId: string) {
    return (this.db.prepare('select count(*) as n from messages where group_id = ? and read = 0').get(groupId) as { n: number }).n;
  }

  async markRead(groupId: string, upToSeq: number) {
    this.db.prepare('update messages set read = 1 where group_id = ? and seq <= ?').run(groupId, upToSeq);
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

  async close() {
    if (this.db.open) this.db.close();
  }
}
