/**
 * @module Runs one conformance check against the IndexedDB stores, in a browser page. Each check
 * gets its own databases; `create` opens a new handle on them, as a reload would.
 */
import { clientStoreChecks, profileStoreChecks } from '@parley/client/conformance';
import { IndexedDbClientStore } from './client-store.js';
import { deleteDatabase } from './idb.js';
import { IndexedDbProfileStore } from './profile-store.js';

let runs = 0;

export async function runCheck(suite: 'client' | 'profile', name: string): Promise<void> {
  const database = `conformance-${suite}-${++runs}-${Date.now()}`;
  try {
    if (suite === 'client') {
      const check = clientStoreChecks.find((c) => c.name === name);
      if (!check) throw new Error(`no client store check ${name}`);
      await check.run(async () => new IndexedDbClientStore(database));
    } else {
      const check = profileStoreChecks.find((c) => c.name === name);
      if (!check) throw new Error(`no profile store check ${name}`);
      await check.run(async () => new IndexedDbProfileStore(database));
    }
  } finally {
    await deleteDatabase(database);
  }
}
