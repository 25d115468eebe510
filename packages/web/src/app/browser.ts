/**
 * @module What the web client needs of the browser: a secure page with WebCrypto, IndexedDB, and
 * one tab per device (two tabs would race on the same MLS state; Web Locks API).
 */

/** Why this browser cannot run Parley, in words; undefined when it can. */
export function browserProblem(): string | undefined {
  if (!globalThis.isSecureContext || !globalThis.crypto?.subtle) return 'Parley needs a secure page: open it over https:// or on localhost.';
  if (!('indexedDB' in globalThis)) return 'This browser keeps no local storage for Parley (IndexedDB is off, e.g. in some private modes).';
  return undefined;
}

const DEVICE_LOCK = 'parley-device';

/**
 * Resolves once no other tab of this browser is this device, and keeps the lock for the page's
 * life. `waiting` is told while another tab holds it, `acquired` once it is this tab's.
 */
export function holdDeviceLock(waiting: () => void, acquired: () => void): Promise<void> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve();
  return new Promise((resolve) => {
    const hold = (): Promise<void> => {
      resolve();
      return new Promise<void>(() => undefined);
    };
    void locks.request(DEVICE_LOCK, { ifAvailable: true }, (lock) => {
      if (lock) return hold();
      waiting();
      void locks.request(DEVICE_LOCK, () => {
        acquired();
        return hold();
      });
      return undefined;
    });
  });
}
