/**
 * @module Runs one conformance check against the IndexedDB stores, in a browser page. Each check
 * gets its own databases; `create` opens a new handle on them, as a reload would.
 */
import { clientStoreChecks, profileStoreChecks } from '@parley/client/conformance';
import { IndexedDbClientStore } from './client-store.js';
import { deleteDatabase, inTransaction, openDatabase, requestResult } from './idb.js';
import { IndexedDbOutbox } from './outbox-store.js';
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

/**
 * The upgrade from version 2 (before time-locked messages): a database laid out as version 2 left
 * it keeps its messages, and takes locked ones after the upgrade.
 */
export async function runUpgradeFromVersion2(): Promise<void> {
  const database = `upgrade-v2-${++runs}-${Date.now()}`;
  const expect = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  };
  try {
    // Version 2's layout, as it was: frozen here, not taken from the current upgrade code.
    const old = await openDatabase(database, 2, (db) => {
      db.createObjectStore('conversations', { keyPath: 'groupId' });
      db.createObjectStore('messages', { keyPath: ['groupId', 'seq'] }).createIndex('byGroupRead', ['groupId', 'read']);
      db.createObjectStore('keyPackages', { keyPath: 'ref' });
      db.createObjectStore('identities', { keyPath: 'username' });
      db.createObjectStore('cache', { keyPath: 'key' });
    });
    const row = { groupId: 'g1', seq: 1, sender: 'bob', senderDevice: 'bob-1', sentAt: 5, text: 'kept', read: 0 };
    await inTransaction(old, ['messages'], 'readwrite', (tx) => requestResult(tx.objectStore('messages').put(row)));
    old.close();

    const store = new IndexedDbClientStore(database);
    expect('messages after the upgrade', await store.listMessages('g1'), [{ groupId: 'g1', seq: 1, sender: 'bob', senderDevice: 'bob-1', sentAt: 5, text: 'kept', read: false }]);
    expect('unread after the upgrade', await store.countUnread('g1'), 1);
    const conversation = { groupId: 'g1', kind: 'group' as const, title: 't', state: new Uint8Array([1]), processedSeq: 2, active: true, createdAt: 1, lastActivityAt: 1 };
    await store.apply({ conversation, message: { groupId: 'g1', seq: 2, sender: 'bob', senderDevice: 'bob-1', sentAt: 6, read: false, lock: { lockId: 'l1', unlockAt: 9, sealed: new Uint8Array([7]) } } });
    expect('locked messages', (await store.listLockedMessages()).map((m) => [m.seq, m.text, m.lock?.lockId]), [[2, undefined, 'l1']]);
    expect('messages by lock', (await store.listMessagesByLock('l1')).map((m) => m.seq), [2]);
    await store.close();
  } finally {
    await deleteDatabase(database);
  }
}

/**
 * The outbox (version 5): a version 3 database upgrades keeping its messages; entries come back
 * oldest first with their ciphertext on a new handle (as after a reload); logging out clears them.
 */
export async function runOutboxChecks(): Promise<void> {
  const database = `outbox-${++runs}-${Date.now()}`;
  const expect = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  };
  try {
    // Version 3's layout, as it was: frozen here, not taken from the current upgrade code.
    const old = await openDatabase(database, 3, (db) => {
      db.createObjectStore('conversations', { keyPath: 'groupId' });
      const messages = db.createObjectStore('messages', { keyPath: ['groupId', 'seq'] });
      messages.createIndex('byGroupRead', ['groupId', 'read']);
      messages.createIndex('byLock', 'lockId');
      messages.createIndex('locked', 'lockedUntil');
      db.createObjectStore('keyPackages', { keyPath: 'ref' });
      db.createObjectStore('identities', { keyPath: 'username' });
      db.createObjectStore('cache', { keyPath: 'key' });
      db.createObjectStore('pendingReleases', { keyPath: 'lockId' });
      db.createObjectStore('solveCheckpoints', { keyPath: 'lockId' });
    });
    const row = { groupId: 'g1', seq: 1, sender: 'bob', senderDevice: 'bob-1', sentAt: 5, text: 'kept', read: 0 };
    await inTransaction(old, ['messages'], 'readwrite', (tx) => requestResult(tx.objectStore('messages').put(row)));
    old.close();

    const outbox = new IndexedDbOutbox(database);
    expect('outbox after the upgrade', await outbox.list(), []);
    const sealed = { groupId: 'g1', epoch: 3, message: new Uint8Array([9, 8, 7]), sentAt: 20, lock: { lockId: 'l1', unlockAt: 99 } };
    await outbox.put({ id: 'b', createdAt: 20, target: { kind: 'group', groupId: 'g1' }, shownIn: 'g1', text: 'second', sealed });
    await outbox.put({ id: 'a', createdAt: 10, target: { kind: 'direct', peer: 'bob' }, shownIn: 'draft:bob', text: 'first', unlockAt: 50 });
    outbox.close();

    const reopened = new IndexedDbOutbox(database);
    const entries = await reopened.list();
    expect('entries, oldest first', entries.map((e) => [e.id, e.text, e.shownIn, e.unlockAt]), [['a', 'first', 'draft:bob', 50], ['b', 'second', 'g1', undefined]]);
    expect('the kept ciphertext', [...(entries[1]?.sealed?.message ?? [])], [9, 8, 7]);
    expect('the kept lock', entries[1]?.sealed?.lock, { lockId: 'l1', unlockAt: 99 });
    await reopened.delete('a');
    expect('after delete', (await reopened.list()).map((e) => e.id), ['b']);

    const store = new IndexedDbClientStore(database);
    expect('messages after the upgrade', (await store.listMessages('g1')).map((m) => m.text), ['kept']);
    await store.clear();
    expect('outbox after logging out', await reopened.list(), []);
    reopened.close();
    await store.close();
  } finally {
    await deleteDatabase(database);
  }
}
