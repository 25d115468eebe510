/**
 * @module Small promise helpers over IndexedDB. Requests are awaited inside their transaction:
 * a continuation runs as a microtask before the transaction can auto-commit, so one transaction
 * can read, decide and write (the same guarantee the `idb` library relies on).
 */

export type Upgrade = (db: IDBDatabase, oldVersion: number, transaction: IDBTransaction) => void;

/** Open (and create or upgrade) a database. Another tab's upgrade closes this connection. */
export function openDatabase(name: string, version: number, upgrade: Upgrade): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = (event) => {
      const transaction = request.transaction;
      if (transaction) upgrade(request.result, event.oldVersion, transaction);
    };
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = () => reject(request.error ?? new Error(`cannot open IndexedDB database ${name}`));
    request.onblocked = () => reject(new Error(`IndexedDB database ${name} is held open by another tab`));
  });
}

export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error(`cannot delete IndexedDB database ${name}`));
  });
}

export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

/** Resolves when the transaction commits; rejects if it aborts (then none of its writes happened). */
export function transactionDone(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'));
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/**
 * Run `work` in one transaction over `stores` and wait for the commit. If `work` throws, the
 * transaction is aborted so nothing it wrote is kept.
 */
export async function inTransaction<T>(db: IDBDatabase, stores: string[], mode: IDBTransactionMode, work: (transaction: IDBTransaction) => Promise<T>): Promise<T> {
  const transaction = db.transaction(stores, mode, { durability: mode === 'readwrite' ? 'strict' : 'default' });
  const done = transactionDone(transaction);
  let result: T;
  try {
    result = await work(transaction);
  } catch (error) {
    try {
      transaction.abort();
    } catch {
      // Already finished or aborted.
    }
    await done.catch(() => undefined);
    throw error;
  }
  await done;
  return result;
}
