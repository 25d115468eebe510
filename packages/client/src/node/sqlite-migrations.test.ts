import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { SqliteClientStore } from './sqlite-store.js';

const dirs: string[] = [];
function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-migrations-'));
  dirs.push(dir);
  return join(dir, 'messages.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The schema as the store wrote it before it counted versions (user_version 0). */
const UNVERSIONED = (SQLITE_MIGRATIONS[0]?.sql ?? '').replaceAll('if not exists ', '');

describe('SQLite client store migrations', () => {
  it('are numbered 1, 2, … in order', () => {
    expect(SQLITE_MIGRATIONS.map((m) => m.version)).toEqual(SQLITE_MIGRATIONS.map((_, index) => index + 1));
  });

  it('1 (messaging) adopts a file written before versions were counted, keeping what it holds', async () => {
    const path = file();
    const old = new Database(path);
    old.exec(UNVERSIONED);
    old.prepare('insert into messages values (?, ?, ?, ?, ?, ?, ?)').run('g1', 1, 'bob', 'bob-1', 1_700_000_000_001, 'kept', 0);
    old.prepare("insert into conversations values ('g1', 'group', 'team', null, x'01', 1, 1, 1, 2)").run();
    old.close();

    const store = new SqliteClientStore(path);
    expect(await store.listMessages('g1')).toEqual([{ groupId: 'g1', seq: 1, sender: 'bob', senderDevice: 'bob-1', sentAt: 1_700_000_000_001, text: 'kept', read: false }]);
    expect((await store.getConversation('g1'))?.title).toBe('team');
    await store.close();
    const check = new Database(path);
    expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    check.close();
  });

  it('2 (timelock) lets a message be stored without text, with its lock, beside the old ones', async () => {
    const path = file();
    const db = new Database(path);
    migrate(db, SQLITE_MIGRATIONS.slice(0, 1));
    db.prepare('insert into messages values (?, ?, ?, ?, ?, ?, ?)').run('g1', 1, 'bob', 'bob-1', 1, 'before', 1);
    migrate(db, SQLITE_MIGRATIONS.slice(0, 2));
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();

    const store = new SqliteClientStore(path);
    await store.apply({
      conversation: { groupId: 'g1', kind: 'group', title: 'team', state: new Uint8Array([1]), processedSeq: 2, active: true, createdAt: 1, lastActivityAt: 1 },
      message: { groupId: 'g1', seq: 2, sender: 'bob', senderDevice: 'bob-1', sentAt: 2, read: false, lock: { lockId: 'l1', unlockAt: 9, sealed: new Uint8Array([7]) } },
    });
    expect((await store.listMessages('g1')).map((m) => [m.seq, m.text, m.lock?.lockId])).toEqual([
      [1, 'before', undefined],
      [2, undefined, 'l1'],
    ]);
    await store.close();
  });

  it('3 (requests) keeps existing conversations as accepted, and stores who a new request is from', async () => {
    const path = file();
    const db = new Database(path);
    migrate(db, SQLITE_MIGRATIONS.slice(0, 2));
    db.prepare("insert into conversations values ('g1', 'direct', 'bob', 'bob', x'01', 1, 1, 1, 2)").run();
    migrate(db, SQLITE_MIGRATIONS.slice(0, 3));
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    db.close();

    const store = new SqliteClientStore(path);
    expect(await store.getConversation('g1')).toEqual({ groupId: 'g1', kind: 'direct', title: 'bob', peer: 'bob', state: new Uint8Array([1]), processedSeq: 1, active: true, createdAt: 1, lastActivityAt: 2 });
    const request = { groupId: 'g2', kind: 'group' as const, title: 'spam', state: new Uint8Array([2]), processedSeq: 3, active: true, createdAt: 3, lastActivityAt: 3, requestFrom: 'mallory' };
    await store.apply({ conversation: request });
    expect(await store.getConversation('g2')).toEqual(request);
    await store.close();
  });

  it('4 (tree-head) adds the key log head to a file that has none, keeping its conversations', async () => {
    const path = file();
    const db = new Database(path);
    migrate(db, SQLITE_MIGRATIONS.slice(0, 3));
    db.prepare("insert into conversations values ('g1', 'direct', 'bob', 'bob', x'01', 1, 1, 1, 2, null)").run();
    db.close();

    const store = new SqliteClientStore(path);
    expect((await store.getConversation('g1'))?.title).toBe('bob');
    expect(await store.getTreeHead()).toBeUndefined();
    const head = { size: 3, rootHash: new Uint8Array(32).fill(1), timestamp: 5, signature: new Uint8Array(64).fill(2) };
    await store.putTreeHead(head);
    expect(await store.getTreeHead()).toEqual(head);
    await store.close();
  });

  it('refuses a file from a newer version of Parley rather than guess at its schema', () => {
    const path = file();
    const db = new Database(path);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteClientStore(path)).toThrow(`schema version ${SQLITE_MIGRATIONS.length + 1}; this version of Parley knows up to ${SQLITE_MIGRATIONS.length}`);
  });
});
