import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { CompiledOnce } from './compiled-once.js';
import type { Database as Schema } from './schema.js';

async function scratch(): Promise<Kysely<Schema>> {
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
  await db.schema.createTable('counters').addColumn('name', 'text', (col) => col.primaryKey()).addColumn('value', 'integer').execute();
  await db.insertInto('counters').values([{ name: 'a', value: 1 }, { name: 'b', value: 2 }]).execute();
  return db;
}

describe('CompiledOnce', () => {
  it('compiles once and runs with each call’s values in their places, in transactions too', async () => {
    const db = await scratch();
    let builds = 0;
    const bump = new CompiledOnce((kysely, name: string, by: number) => {
      builds++;
      return kysely.updateTable('counters').set((eb) => ({ value: eb('value', '+', by) })).where('name', '=', name).returning(['name', 'value']);
    });
    expect(await bump.rows(db, 'a', 10)).toEqual([{ name: 'a', value: 11 }]);
    expect(await db.transaction().execute((tx) => bump.rows(tx, 'b', 5))).toEqual([{ name: 'b', value: 7 }]);
    expect(await bump.changed(db, 'nobody', 1)).toBe(0);
    expect(builds).toBe(1);
    await db.destroy();
  });

  it('refuses a query that leaves one of its values out, naming the SQL', async () => {
    const db = await scratch();
    const unused = new CompiledOnce((kysely, name: string, _forgotten: number) => kysely.selectFrom('counters').select('value').where('name', '=', name));
    await expect(unused.rows(db, 'a', 1)).rejects.toThrow(/uses 1 of its 2 values: select/);
    await db.destroy();
  });
});
