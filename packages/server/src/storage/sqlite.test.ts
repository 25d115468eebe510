import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { account, device, runStorageConformance } from './conformance.testkit.js';
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
});
