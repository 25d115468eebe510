import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  it('keeps the database and its WAL and shared-memory files 0600, whatever the directory and umask allow', async () => {
    const open = join(dir, 'open-dir');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const mode = (file: string) => statSync(file).mode & 0o777;
    const previous = process.umask(0);
    try {
      const file = join(open, 'parley.db');
      const storage = await openSqliteStorage(file);
      await storage.createAccount(account('alice'), device('alice', 'device-a1'));
      expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual([0o600, 0o600, 0o600]);
      await storage.close();

      // A database left readable by an older version is closed up when opened.
      const old = join(open, 'old.db');
      writeFileSync(old, '', { mode: 0o644 });
      writeFileSync(`${old}-wal`, '', { mode: 0o644 });
      const reopened = await openSqliteStorage(old);
      expect([mode(old), mode(`${old}-wal`), mode(`${old}-shm`)]).toEqual([0o600, 0o600, 0o600]);
      await reopened.close();
    } finally {
      process.umask(previous);
    }
  });

  it('migrates a 0003 database to 0004 keeping its data; the first start records its server key (0004_server_key)', async () => {
    const file = join(dir, 'upgrade-0004.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0003_device_quota');
    expect(error).toBeUndefined();
    await db.destroy();
    const old = new Database(file);
    old.prepare("insert into accounts values ('alice', x'01', x'02', x'03', x'04', x'05', 1)").run();
    old.close();

    const storage = await openSqliteStorage(file);
    expect((await storage.getAccount('alice'))?.identityKey).toEqual(new Uint8Array([1]));
    expect(await storage.recordServerKey('first-key', 5)).toBe('first-key');
    await storage.close();
    const reopened = await openSqliteStorage(file);
    expect(await reopened.recordServerKey('other-key', 6)).toBe('first-key');
    await reopened.close();
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

  it('migrates a 0009 database to the key log, empty: accounts from before are logged on first lookup (0010_key_log)', async () => {
    const file = join(dir, 'key-log.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0009_acked_index');
    expect(error).toBeUndefined();
    await db.destroy();
    const old = new Database(file);
    // Keys as the protocol allows them (32 bytes), since leaves record them.
    old.prepare("insert into accounts values ('alice', ?, x'02', x'03', x'04', x'05', 1)").run(Buffer.alloc(32, 1));
    old.prepare("insert into devices values ('alice', 'device-a1', 'phone', ?, x'07', 1, null, null)").run(Buffer.alloc(32, 6));
    old.close();

    const storage = await openSqliteStorage(file);
    expect(await storage.keyLogSize()).toBe(0);
    await storage.logExistingKeys('alice', 2);
    await storage.addDevice(device('alice', 'device-a2'));
    expect(await storage.keyLogSize()).toBe(2);
    expect((await storage.latestKeyLeaf('alice'))?.index).toBe(1);
    await storage.close();
  });

  it('migrates a 0006 database to consent, where users who shared groups are not yet contacts (0007_consent)', async () => {
    const file = join(dir, 'consent.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0006_group_leaves');
    expect(error).toBeUndefined();
    await db.destroy();
    const old = new Database(file);
    for (const name of ['alice', 'bob']) old.prepare(`insert into accounts values ('${name}', x'01', x'02', x'03', x'04', x'05', 1)`).run();
    old.close();

    const storage = await openSqliteStorage(file);
    expect(await storage.listContacts('alice')).toEqual([]);
    expect(await storage.addContact('alice', 'bob', 2)).toBe(true);
    // Contacts and blocks name accounts: a made-up name is refused by the foreign key.
    await expect(storage.addContact('alice', 'nobody', 2)).rejects.toThrow();
    expect(await storage.listContacts('alice')).toEqual(['bob']);
    await storage.close();
  });

  it('migrates a 0007 database keeping its messages resendable once everyone acknowledged them (0008_sent_messages)', async () => {
    const file = join(dir, 'sent.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0007_consent');
    expect(error).toBeUndefined();
    await db.destroy();
    const old = new Database(file);
    old.prepare("insert into groups values (x'0102', 'group', 1, x'03', 'alice', 1, 2)").run();
    old.prepare("insert into group_log values (x'0102', 1, 'commit', 0, 'alice', 'alice-phone', x'0a', 1)").run();
    old.prepare("insert into group_log values (x'0102', 2, 'message', 1, 'alice', 'alice-phone', x'0b0c', 1)").run();
    old.close();

    const storage = await openSqliteStorage(file);
    const alice = { username: 'alice', deviceId: 'alice-phone' };
    const groupId = Uint8Array.of(1, 2);
    expect(await storage.findSentMessage(groupId, alice, 1, Uint8Array.of(11, 12), 10)).toBe(2);
    expect(await storage.deleteLogBefore(2)).toBe(2);
    expect(await storage.findSentMessage(groupId, alice, 1, Uint8Array.of(11, 12), 10)).toBeUndefined();
    expect(await storage.findSentMessage(groupId, alice, 0, Uint8Array.of(10), 10)).toBeUndefined();
    await storage.close();
  });

  it('migrates a 0008 database so that a group\'s slowest acknowledgement is one index seek, not a scan of its devices (0009_acked_index)', async () => {
    const file = join(dir, 'acked.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0008_sent_messages');
    expect(error).toBeUndefined();
    await db.destroy();
    await (await openSqliteStorage(file)).close();
    const raw = new Database(file, { readonly: true });
    const plan = raw.prepare('explain query plan select min(acked_seq) from group_devices where group_id = ?').all(Buffer.from([1])) as { detail: string }[];
    raw.close();
    expect(plan.map((step) => step.detail).join('\n')).toContain('USING COVERING INDEX group_devices_by_acked');
  });

  it('migrates a 0003 database to the time-lock tables keeping its groups, which time locks then refer to (0005_timelock)', async () => {
    const file = join(dir, 'upgrade-timelock.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('0003_device_quota');
    expect(error).toBeUndefined();
    await db.destroy();
    const old = new Database(file);
    old.prepare("insert into groups values (x'0102', 'group', 3, x'03', 'alice', 1, 7)").run();
    old.close();

    const storage = await openSqliteStorage(file);
    expect((await storage.getGroup(new Uint8Array([1, 2])))?.lastSeq).toBe(7);
    const lock = {
      lockId: new Uint8Array(16).fill(1),
      groupId: new Uint8Array([1, 2]),
      creator: { username: 'alice', deviceId: 'device-a1' },
      modulusId: new Uint8Array(16),
      base: new Uint8Array([5]),
      squarings: 10,
      maskedKey: new Uint8Array(32),
      unlockAt: 50,
      createdAt: 1,
    };
    await storage.addTimelock(lock);
    expect(await storage.getTimelocks([lock.lockId])).toEqual([{ ...lock, released: undefined }]);
    await storage.close();
  });

  it('migrates groups to tracked leaves, matching each leaf to a device of the group by its key (0006_group_leaves)', async () => {
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
