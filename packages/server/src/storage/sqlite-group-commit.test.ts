import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { account, device } from './conformance.testkit.js';
import { KyselyStorage } from './kysely-storage.js';
import type { Database as Schema } from './schema.js';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.js';
import { fsyncFile } from './sqlite-wal-sync.js';
import { openSqliteStorage } from './sqlite.js';
import { StorageConflictError } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-group-commit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** A storage, and another connection to its file that sees only what was committed. */
async function open(): Promise<{ storage: KyselyStorage; committed: (username: string) => boolean; close: () => Promise<void> }> {
  const file = join(dir, `group-commit-${counter++}.db`);
  const storage = await openSqliteStorage(file);
  const reader = new Database(file, { readonly: true });
  const lookup = reader.prepare('SELECT 1 FROM accounts WHERE username = ?');
  return {
    storage,
    committed: (username) => lookup.get(username) !== undefined,
    close: async () => {
      reader.close();
      await storage.close();
    },
  };
}

const create = (storage: KyselyStorage, username: string) => storage.createAccount(account(username), device(username, 'device-1'));

/** Settles `promises`, keeping which were fulfilled and the errors of the others. */
async function outcomes(promises: Promise<unknown>[]): Promise<(true | unknown)[]> {
  return (await Promise.allSettled(promises)).map((result) => (result.status === 'fulfilled' ? true : result.reason));
}

/** A table whose foreign key is checked only at COMMIT: a row pointing nowhere makes the batch's commit fail. */
async function addDeferredCheck(storage: KyselyStorage): Promise<void> {
  await sql`CREATE TABLE test_parent (id INTEGER PRIMARY KEY)`.execute(storage.db);
  await sql`CREATE TABLE test_child (parent INTEGER REFERENCES test_parent(id) DEFERRABLE INITIALLY DEFERRED)`.execute(storage.db);
}

describe('SQLite group commit', () => {
  it('commits the writes of one turn together, and answers each only once its write is on disk', async () => {
    const { storage, committed, close } = await open();
    const names = Array.from({ length: 20 }, (_, i) => `user${i}`);
    // Runs in this turn's check phase, before the batch's commit (scheduled by its first write).
    let seenBeforeCommit: boolean[] = [];
    setImmediate(() => (seenBeforeCommit = names.map(committed)));
    const seenWhenAnswered: boolean[][] = [];
    await Promise.all(names.map((name) => create(storage, name).then(() => seenWhenAnswered.push(names.map(committed)))));
    // Every write had run by then, but none was committed, so none was answered.
    expect(seenBeforeCommit).toEqual(names.map(() => false));
    // The first answer came after all twenty were committed: one transaction held them.
    expect(seenWhenAnswered).toHaveLength(names.length);
    for (const seen of seenWhenAnswered) expect(seen).toEqual(names.map(() => true));
    await close();
  });

  it('fails exactly the transaction that failed: the others of its batch commit', async () => {
    const { storage, committed, close } = await open();
    await create(storage, 'taken');
    const results = await outcomes([
      create(storage, 'first'),
      create(storage, 'taken'),
      storage.db.transaction().execute(async (tx) => {
        await tx.insertInto('accounts').values({ ...accountRow('halfway'), created_at: 1 }).execute();
        throw new Error('the request gave up halfway');
      }),
      create(storage, 'last'),
    ]);
    expect(results[0]).toBe(true);
    expect(results[1]).toBeInstanceOf(StorageConflictError);
    expect((results[2] as Error).message).toBe('the request gave up halfway');
    expect(results[3]).toBe(true);
    expect(['first', 'halfway', 'last'].map(committed)).toEqual([true, false, true]);
    expect((await storage.listDevices('first')).map((d) => d.deviceId)).toEqual(['device-1']);
    await close();
  });

  it('fails every request of a batch whose commit fails, reads included, and only those', async () => {
    const { storage, committed, close } = await open();
    await addDeferredCheck(storage);
    await create(storage, 'before');
    const batch = outcomes([
      create(storage, 'alice'),
      sql`INSERT INTO test_child (parent) VALUES (42)`.execute(storage.db),
      // A read among the writes sees them, so it must not answer before they are committed.
      storage.getAccount('alice'),
      create(storage, 'bob'),
    ]);
    const results = await batch;
    for (const result of results) expect(result).toBeInstanceOf(Error);
    expect((results[1] as Error).message).toMatch(/FOREIGN KEY/);
    expect(['before', 'alice', 'bob'].map(committed)).toEqual([true, false, false]);
    // The next turn's batch is a new transaction, unharmed.
    await create(storage, 'after');
    expect(committed('after')).toBe(true);
    expect(await storage.getAccount('alice')).toBeUndefined();
    await close();
  });

  it('answers a write, and a read that saw it, only once the fsync of the WAL after its commit is done', async () => {
    const file = join(dir, `group-commit-${counter++}.db`);
    const sqlite = new Database(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    // Once `holding`, every fsync waits until the test lets it go.
    let holding = false;
    const held: (() => void)[] = [];
    const slowSync = (descriptor: number) =>
      holding ? new Promise<void>((resolve) => held.push(() => void fsyncFile(descriptor).then(resolve))) : fsyncFile(descriptor);
    const storage = new KyselyStorage(new Kysely<Schema>({ dialect: new GroupCommitSqliteDialect(sqlite, slowSync) }));
    await storage.migrate();
    holding = true;

    const answered: string[] = [];
    void create(storage, 'alice').then(() => answered.push('write'));
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // Committed (another connection sees it) but not yet on disk: neither the write nor a read of it answers.
    const reader = new Database(file, { readonly: true });
    expect(reader.prepare('SELECT username FROM accounts').all()).toEqual([{ username: 'alice' }]);
    void storage.getAccount('alice').then((found) => answered.push(`read ${found?.username}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toEqual([]);
    held.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toEqual(['write', 'read alice']);
    reader.close();
    await storage.close();
  });
});

function accountRow(username: string) {
  const record = account(username);
  return {
    username,
    identity_key: record.identityKey,
    recovery_key: record.recoveryKey,
    opaque_record: record.opaqueRecord,
    backup: record.backup,
    recovery_backup: record.recoveryBackup,
  };
}
