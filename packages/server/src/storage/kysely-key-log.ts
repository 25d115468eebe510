/**
 * @module The key-transparency log's queries (DESIGN §11). Leaves are appended inside the
 * transaction that changes the keys (`appendKeyLeaves`), so no key change is ever without its
 * leaf. KyselyStorage extends this class, so the queries live here.
 */
import { directoryEntryDigest, leafHash } from '@parley/crypto';
import { encodeKeyLogLeaf, type KeyLogEvent } from '@parley/protocol';
import type { Transaction } from 'kysely';
import { directoryEntryOf } from './directory-entry.js';
import { KyselyConsent } from './kysely-consent.js';
import type { KeyLogRecord, KeyLogStorage } from './key-log-types.js';
import { bytes, int, toDevice } from './rows.js';
import type { Database } from './schema.js';

/** One key change: the identity key registered, or a device key added or revoked. */
export interface KeyChange {
  event: KeyLogEvent;
  deviceId?: string;
  key: Uint8Array;
}

/**
 * Appends one leaf per change, each vouching for the user's whole directory entry as it stands
 * after all of them. The `key_log` counter row stays locked until commit, so concurrent appends
 * (from any node) take their indexes in commit order and the committed log is always a prefix.
 */
export async function appendKeyLeaves(tx: Transaction<Database>, username: string, changes: readonly KeyChange[], at: number): Promise<void> {
  if (changes.length === 0) return;
  const counter = await tx
    .updateTable('counters')
    .set((eb) => ({ value: eb('value', '+', changes.length) }))
    .where('name', '=', 'key_log')
    .returning('value')
    .executeTakeFirstOrThrow();
  const first = int(counter.value) - changes.length;
  // Read after taking the lock: every earlier change of this user is committed and seen here.
  const account = await tx.selectFrom('accounts').select('identity_key').where('username', '=', username).executeTakeFirstOrThrow();
  const devices = await tx.selectFrom('devices').selectAll().where('username', '=', username).orderBy('created_at').orderBy('device_id').execute();
  const entry = directoryEntryDigest(directoryEntryOf(username, bytes(account.identity_key), devices.map(toDevice)));
  const rows = changes.map((change, i) => {
    const leaf = encodeKeyLogLeaf({ v: 1, username, event: change.event, ...(change.deviceId ? { deviceId: change.deviceId } : {}), key: change.key, at, entry });
    return { idx: first + i, username, leaf, leaf_hash: leafHash(leaf), created_at: at };
  });
  await tx.insertInto('key_log').values(rows).execute();
}

export class KyselyKeyLog extends KyselyConsent implements KeyLogStorage {
  async keyLogSize(): Promise<number> {
    const row = await this.db.selectFrom('key_log').select((eb) => eb.fn.max('idx').as('last')).executeTakeFirst();
    return row?.last === null || row?.last === undefined ? 0 : int(row.last) + 1;
  }

  async keyLogLeafHashes(from: number, to: number): Promise<Uint8Array[]> {
    if (to <= from) return [];
    const rows = await this.db.selectFrom('key_log').select(['idx', 'leaf_hash']).where('idx', '>=', from).where('idx', '<', to).orderBy('idx').execute();
    return rows.map((row) => bytes(row.leaf_hash));
  }

  async latestKeyLeaf(username: string): Promise<KeyLogRecord | undefined> {
    const row = await this.db.selectFrom('key_log').select(['idx', 'leaf']).where('username', '=', username).orderBy('idx', 'desc').limit(1).executeTakeFirst();
    return row && { index: int(row.idx), leaf: bytes(row.leaf) };
  }

  async logExistingKeys(username: string, at: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const account = await tx.selectFrom('accounts').select('identity_key').where('username', '=', username).executeTakeFirst();
      if (!account) return;
      // Taking the counter lock first makes the check and the append one step, across nodes too.
      await tx.updateTable('counters').set((eb) => ({ value: eb('value', '+', 0) })).where('name', '=', 'key_log').execute();
      const logged = await tx.selectFrom('key_log').select('idx').where('username', '=', username).limit(1).executeTakeFirst();
      if (!logged) await appendKeyLeaves(tx, username, [{ event: 'registered', key: bytes(account.identity_key) }], at);
    });
  }
}
