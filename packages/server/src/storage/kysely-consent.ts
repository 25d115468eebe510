/**
 * @module Consent queries (DESIGN §6): contacts and blocks. KyselyStorage extends this class, so
 * the queries live here and the storage file stays about its other concerns.
 */
import type { Kysely } from 'kysely';
import type { ConsentStorage } from './consent-types.js';
import { int } from './rows.js';
import type { Database } from './schema.js';

export class KyselyConsent implements ConsentStorage {
  constructor(readonly db: Kysely<Database>) {}

  async addContact(owner: string, contact: string, at: number): Promise<boolean> {
    const inserted = await this.db
      .insertInto('contacts')
      .values({ owner, contact, created_at: at })
      .onConflict((conflict) => conflict.columns(['owner', 'contact']).doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async removeContact(owner: string, contact: string): Promise<boolean> {
    const result = await this.db.deleteFrom('contacts').where('owner', '=', owner).where('contact', '=', contact).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listContacts(owner: string): Promise<string[]> {
    const rows = await this.db.selectFrom('contacts').select('contact').where('owner', '=', owner).orderBy('contact').execute();
    return rows.map((row) => row.contact);
  }

  async countContacts(owner: string): Promise<number> {
    const row = await this.db.selectFrom('contacts').select((eb) => eb.fn.countAll<number>().as('count')).where('owner', '=', owner).executeTakeFirstOrThrow();
    return int(row.count);
  }

  async listMutualContacts(username: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('contacts as mine')
      .innerJoin('contacts as theirs', (join) => join.onRef('theirs.owner', '=', 'mine.contact').onRef('theirs.contact', '=', 'mine.owner'))
      .select('mine.contact')
      .where('mine.owner', '=', username)
      .where('mine.contact', '!=', username)
      .orderBy('mine.contact')
      .execute();
    return rows.map((row) => row.contact);
  }

  async areMutualContacts(a: string, b: string): Promise<boolean> {
    if (a === b) return false;
    const rows = await this.db
      .selectFrom('contacts')
      .select('owner')
      .where(({ eb, or, and }) => or([and([eb('owner', '=', a), eb('contact', '=', b)]), and([eb('owner', '=', b), eb('contact', '=', a)])]))
      .execute();
    return rows.length === 2;
  }

  async addBlock(owner: string, blocked: string, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('contacts').where('owner', '=', owner).where('contact', '=', blocked).execute();
      const inserted = await tx
        .insertInto('blocks')
        .values({ owner, blocked, created_at: at })
        .onConflict((conflict) => conflict.columns(['owner', 'blocked']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
    });
  }

  async removeBlock(owner: string, blocked: string): Promise<boolean> {
    const result = await this.db.deleteFrom('blocks').where('owner', '=', owner).where('blocked', '=', blocked).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listBlocked(owner: string): Promise<string[]> {
    const rows = await this.db.selectFrom('blocks').select('blocked').where('owner', '=', owner).orderBy('blocked').execute();
    return rows.map((row) => row.blocked);
  }

  async countBlocked(owner: string): Promise<number> {
    const row = await this.db.selectFrom('blocks').select((eb) => eb.fn.countAll<number>().as('count')).where('owner', '=', owner).executeTakeFirstOrThrow();
    return int(row.count);
  }

  async listBlockers(username: string, owners?: readonly string[]): Promise<string[]> {
    if (owners?.length === 0) return [];
    let query = this.db.selectFrom('blocks').select('owner').where('blocked', '=', username);
    if (owners) query = query.where('owner', 'in', [...owners]);
    const rows = await query.orderBy('owner').execute();
    return rows.map((row) => row.owner);
  }
}
