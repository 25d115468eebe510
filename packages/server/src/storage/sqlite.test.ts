import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { addMembers, createGroup, generateKeyPackage, generateSigningKeyPair } from '@parley/crypto';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { account, device, runStorageConformance } from './conformance.testkit.js';
import { migrationProvider } from './migrations/index.js';
import { openSqliteStorage } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

runStorageConformance('SQLite', () => openSqliteStorage(join(dir, `conformance-${counter++}.db`)));

describe('SQLite file', () => {
  it('keeps data across reopen and runs in WAL mode', async () => {
    const file = join(dir, 'reopen.db');
    const first = await openSqliteStorage(file);
    await first.createAccount(account('alice'), device('alice', 'device-a1'));
    await first.close();
    const second = await openSqliteStorage(file);
    expect((await second.getAccount('alice'))?.username).toBe('alice');
    await second.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('gives the event loop a turn during a long run of queries, so other sockets are read meanwhile', async () => {
    const storage = await openSqliteStorage(join(dir, 'turns.db'));
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const before = turns;
    // Each query settles as a microtask: without the turns, none of this would let `tick` run.
    for (let i = 0; i < 3000; i++) await storage.getAccount(`nobody${i}`);
    const during = turns - before;
    ticking = false;
    await storage.close();
    expect(during).toBeGreaterThan(0);
  });

  it('has the schema the migrations define (snapshot guards every persisted format)', async () => {
    const file = join(dir, 'schema.db');
    await (await openSqliteStorage(file)).close();
    const raw = new Database(file, { readonly: true });
    const tables = raw
      .prepare("select name, sql from sqlite_master where type in ('table', 'index') and name not like 'kysely_%' and name not like 'sqlite_%' order by name")
      .all();
    raw.close();
    expect(tables).toMatchSnapshot();
  });

  it('migrates a 0001 database to 0002 keeping its accounts (0002_messaging)', async () => {
    const file = join(dir, 'upgrade.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0001_accounts');
    expect(error).toBeUndefined();
    await db.destroy();
    const old = new Database(file);
    old.prepare("insert into accounts values ('alice', x'01', x'02', x'03', x'04', x'05', 1)").run();
    old.prepare("insert into devices values ('alice', 'device-a1', 'phone', x'06', x'07', 1, null, null)").run();
    old.close();

    const storage = await openSqliteStorage(file);
    expect((await storage.getAccount('alice'))?.identityKey).toEqual(new Uint8Array([1]));
    const alice = { username: 'alice', deviceId: 'device-a1' };
    await storage.addKeyPackages(alice, [{ id: new Uint8Array([1]), keyPackage: new Uint8Array([2]), expiresAt: 10 }], undefined, 1);
    expect(await storage.countKeyPackages(alice, 5)).toEqual({ oneTime: 1, lastResort: false });
    await storage.close();
  });

  it('migrates groups to tracked leaves, matching each leaf to a device of the group by its key (0004_group_leaves)', async () => {
    const file = join(dir, 'leaves.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0003_device_quota');
    expect(error).toBeUndefined();
    await db.destroy();
    // Alice's group holds her device and Bob's; Bob has since left and acknowledged it, so the group keeps no row of his.
    const keys = { alice: generateSigningKeyPair(), bob: generateSigningKeyPair() };
    const member = (name: 'alice' | 'bob') => ({ identity: new TextEncoder().encode(name), signaturePrivateKey: keys[name].privateKey, signaturePublicKey: keys[name].publicKey });
    const groupId = new Uint8Array(16).fill(7);
    const created = await createGroup(member('alice'), groupId);
    const added = await addMembers(created.state, member('alice'), [(await generateKeyPackage(member('bob'))).keyPackage], async () => true);
    const old = new Database(file);
    for (const name of ['alice', 'bob'] as const) {
      old.prepare("insert into accounts values (?, x'01', x'02', x'03', x'04', x'05', 1)").run(name);
      old.prepare("insert into devices values (?, ?, 'phone', ?, x'07', 1, null, null)").run(name, `${name}-phone`, Buffer.from(keys[name].publicKey));
    }
    old.prepare("insert into groups values (?, 'group', 1, ?, 'alice', 1, 1)").run(Buffer.from(groupId), Buffer.from(added.groupInfo));
    old.prepare("insert into group_devices values (?, 'alice', 'alice-phone', 1, 0, null, null, null)").run(Buffer.from(groupId));
    old.close();

    const storage = await openSqliteStorage(file);
    expect(await storage.getGroupLeaves(groupId)).toEqual([
      { leafIndex: 0, signatureKey: keys.alice.publicKey, device: { username: 'alice', deviceId: 'alice-phone' } },
      { leafIndex: 1, signatureKey: keys.bob.publicKey, device: undefined },
    ]);
    await storage.close();
  });
});
