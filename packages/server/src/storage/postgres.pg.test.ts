/** PostgreSQL storage against a live server (PARLEY_TEST_POSTGRES_URL); each store lives in a fresh schema. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpLink, targetOf, throughLink } from '../../../../test/support/tcp-link.js';
import { createLogger } from '../logger.js';
import { account, device, runStorageConformance } from './conformance.testkit.js';
import { openPostgresStorage, StorageUnavailableError, type PostgresStorageOptions } from './postgres.js';

const url = process.env.PARLEY_TEST_POSTGRES_URL;
if (!url) throw new Error('postgres.pg.test.ts needs PARLEY_TEST_POSTGRES_URL (vitest.config.ts includes it only then)');
const givenUrl: string = url;

// Each run gets a database of its own, and each store a fresh schema in it. A database, not
// only schemas, because Kysely's migrator scans every schema of its database and fails if
// another run drops one of them at that moment. The URL's user needs CREATEDB.
const database = `parley_test_${randomBytes(6).toString('hex')}`;
const root = new pg.Pool({ connectionString: givenUrl, max: 1 });
let serverUrl = '';
let admin: pg.Pool;
beforeAll(async () => {
  await root.query(`create database ${pg.escapeIdentifier(database)}`);
  const runUrl = new URL(givenUrl);
  runUrl.pathname = `/${database}`;
  serverUrl = runUrl.href;
  admin = new pg.Pool({ connectionString: serverUrl, max: 2 });
  // The forced drop in afterAll terminates any backend still closing (FATAL 57P01): expected
  // at teardown, so the pools must not turn it into an uncaught error.
  admin.on('error', () => undefined);
});
root.on('error', () => undefined);
afterAll(async () => {
  await admin.end();
  await root.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
  await root.end();
});

const freshSchema = () => `parley_test_${randomBytes(6).toString('hex')}`;

const open = (options: PostgresStorageOptions = {}, target?: string) => openPostgresStorage(target ?? serverUrl, { schema: freshSchema(), ...options });

runStorageConformance('PostgreSQL', () => open());

/** The same server reached through a loopback port that a test can open late or cut, like a network. */
async function startCuttableLink(port = 0): Promise<{ url: string; port: number; cut(): void; close(): Promise<void> }> {
  const link = await startTcpLink(targetOf(serverUrl, 5432), { port });
  return { url: throughLink(serverUrl, link), port: link.port, cut: () => link.cut(), close: () => link.close() };
}

function capturedLogger(): { log: ReturnType<typeof createLogger>; lines(): string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { log: createLogger('debug', sink), lines: () => text };
}

describe('PostgreSQL storage', () => {
  it('keeps its tables, migration log included, in its own schema', async () => {
    const schema = freshSchema();
    const storage = await openPostgresStorage(serverUrl, { schema });
    await storage.close();
    const { rows } = await admin.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1 order by table_name',
      [schema],
    );
    expect(rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['accounts', 'devices', 'kysely_migration', 'kysely_migration_lock']));
  });

  it('migrates each schema on its own, so two deployments can share a database', async () => {
    const first = await open();
    await first.createAccount(account('alice'), device('alice', 'device-a1'));
    // Before the migration log was looked up per schema, the second open found the first
    // schema's log, skipped its own migrations and failed on missing tables.
    const second = await open();
    expect(await second.getAccount('alice')).toBeUndefined();
    await second.createAccount(account('alice'), device('alice', 'device-a1'));
    await Promise.all([first.close(), second.close()]);
  });

  it('keeps data across reopen and does not migrate twice', async () => {
    const schema = freshSchema();
    const first = await openPostgresStorage(serverUrl, { schema });
    await first.createAccount(account('alice'), device('alice', 'device-a1'));
    await first.close();
    const second = await openPostgresStorage(serverUrl, { schema });
    expect((await second.getAccount('alice'))?.username).toBe('alice');
    const log = await sql<{ name: string }>`select name from kysely_migration`.execute(second.db);
    expect(new Set(log.rows.map((row) => row.name)).size).toBe(log.rows.length);
    await second.close();
  });

  it('reads int8 as numbers on its own pool only, and refuses to round one beyond 2^53', async () => {
    const storage = await open();
    const { rows } = await sql<{ big: unknown; n: unknown }>`select 9007199254740991::int8 as big, count(*) as n from accounts`.execute(storage.db);
    expect(rows[0]).toEqual({ big: Number.MAX_SAFE_INTEGER, n: 0 });
    await expect(sql`select 9007199254740993::int8 as big`.execute(storage.db)).rejects.toThrow(/outside JavaScript's safe integer range/);
    expect(pg.types.getTypeParser(pg.types.builtins.INT8, 'text')('12')).toBe('12');
    const { rows: bytes } = await sql<{ b: unknown }>`select '\\x0102ff'::bytea as b`.execute(storage.db);
    expect(Buffer.isBuffer(bytes[0]?.b)).toBe(true);
    expect([...(bytes[0]?.b as Buffer)]).toEqual([1, 2, 255]);
    await storage.close();
  });

  it('waits for a server that comes up after it starts', async () => {
    const probe = await startCuttableLink();
    const { port } = probe;
    await probe.close();
    const target = new URL(serverUrl);
    target.hostname = '127.0.0.1';
    target.port = String(port);
    const { log, lines } = capturedLogger();
    const opening = open({ startupTimeoutMs: 20_000, log }, target.href);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const link = await startCuttableLink(port);
    const storage = await opening;
    await storage.createAccount(account('alice'), device('alice', 'device-a1'));
    expect(lines()).toContain('postgres.unreachable');
    await storage.close();
    await link.close();
  });

  it('fails at once when refused (wrong password or no such database), naming the server but not the password', async () => {
    const target = new URL(serverUrl);
    target.password = 'not-the-password-7f3a';
    // A local server may trust loopback connections and ignore the password; the missing
    // database is refused either way.
    target.pathname = `/parley_missing_${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    const error: unknown = await open({ startupTimeoutMs: 30_000 }, target.href).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    const where = `${target.hostname}:${target.port || 5432}${target.pathname}`;
    expect((error as Error).message).toMatch(new RegExp(`^PostgreSQL at ${where} refused the connection: .*(password|does not exist)`));
    expect(inspect(error, { depth: null })).not.toContain('not-the-password-7f3a');
  });

  it('serves queries queued behind a busy pool, however long past the connect timeout they wait', async () => {
    const storage = await open({ poolSize: 1, connectTimeoutMs: 300 });
    // One connection, five queries of 150 ms: the last waits 600 ms for it. The connect timeout
    // once bounded that wait too, and refused them ("timeout exceeded when trying to connect").
    const queued = Array.from({ length: 5 }, () => sql`select pg_sleep(0.15)`.execute(storage.db));
    expect(await Promise.all(queued)).toHaveLength(5);
    await storage.close();
  });

  it('survives the server going away while running, and recovers when it is back', async () => {
    const link = await startCuttableLink();
    const { log, lines } = capturedLogger();
    const storage = await open({ log, connectTimeoutMs: 2_000 }, link.url);
    await storage.createAccount(account('alice'), device('alice', 'device-a1'));

    // Idle connections die: the pool reports them (an unhandled 'error' would crash the process).
    link.cut();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lines()).toContain('postgres.connection_lost');
    expect((await storage.getAccount('alice'))?.username).toBe('alice');

    // A connection dies in the middle of a transaction: that transaction fails, nothing else.
    await expect(
      storage.db.transaction().execute(async (tx) => {
        await sql`select 1`.execute(tx);
        link.cut();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await sql`select 1`.execute(tx);
      }),
    ).rejects.toThrow();
    expect((await storage.listDevices('alice')).map((d) => d.deviceId)).toEqual(['device-a1']);

    // The server is gone altogether: requests fail promptly instead of hanging, then work again.
    await link.close();
    await expect(storage.getAccount('alice')).rejects.toThrow();
    const back = await startCuttableLink(link.port);
    expect((await storage.getAccount('alice'))?.username).toBe('alice');
    await storage.close();
    await back.close();
  });
});
