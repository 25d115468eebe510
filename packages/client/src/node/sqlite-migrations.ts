/**
 * @module The SQLite client store's schema, as numbered migrations (STYLE §8). A file's
 * `user_version` says how many have run; each runs in its own transaction with the version bump,
 * so a crash leaves the file at one version or the next, never between.
 */
import type Database from 'better-sqlite3';

export interface SqliteMigration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'messaging',
    // `if not exists`: files made before the store counted versions already hold these tables.
    sql: `
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
    `,
  },
  {
    version: 2,
    name: 'timelock',
    // DESIGN §8. A locked message has no text yet: SQLite cannot drop a NOT NULL in place, so the
    // messages table is rebuilt (https://sqlite.org/lang_altertable.html#otheralter).
    sql: `
      create table messages_v2 (
        group_id text not null, seq integer not null, sender text not null, sender_device text not null,
        sent_at integer not null, text text, read integer not null,
        lock_id text, unlock_at integer, sealed blob, unlocked_by text,
        primary key (group_id, seq)
      );
      insert into messages_v2 (group_id, seq, sender, sender_device, sent_at, text, read)
        select group_id, seq, sender, sender_device, sent_at, text, read from messages;
      drop table messages;
      alter table messages_v2 rename to messages;
      create index messages_by_lock on messages (lock_id) where lock_id is not null;
      create index messages_locked on messages (unlock_at) where sealed is not null;
      create table pending_releases (lock_id text primary key, group_id text not null, unlock_at integer not null, key blob not null);
      create table solve_checkpoints (lock_id text primary key, puzzle_digest blob not null, done integer not null, value blob not null);
    `,
  },
  {
    version: 3,
    name: 'requests',
    // DESIGN §6 consent: who a pending message request is from. Existing conversations get null: accepted.
    sql: `alter table conversations add column request_from text;`,
  },
  {
    version: 4,
    name: 'tree-head',
    // DESIGN §11: the newest key-log tree head this client verified; one row at most.
    sql: `create table tree_head (id integer primary key check (id = 1), size integer not null, root_hash blob not null, timestamp integer not null, signature blob not null);`,
  },
];

/** Bring the file up to the newest schema; refuses one written by a newer version of Parley. */
export function migrate(db: Database.Database, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) throw new Error(`this message store has schema version ${current}; this version of Parley knows up to ${newest}`);
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}
