/**
 * @module One conformance suite for every ClientStore and ProfileStore (STYLE §2): the IndexedDB
 * adapters run it in Chromium, the Node adapters (SQLite, profile directory) and the in-memory
 * ones in Node, so the browser stores behave exactly like the ones the CLI uses. The checks are
 * plain async functions with their own assertions, so a browser page runs them without a test
 * framework. Adapters reach it as `@parley/client/conformance`.
 */
import type { Check } from './check-support.js';
import type { ClientStore } from './client-store.js';
import { clientStoreChecks } from './client-store-checks.js';
import type { ProfileStore } from './profile.js';
import { profileStoreChecks } from './profile-store-checks.js';

export { clientStoreChecks, profileStoreChecks, type Check };

export interface ConformanceOptions<S> {
  /** Fresh storage for one check; returns `create`, which opens a store on it (again, as a restart would). */
  storage: () => () => Promise<S>;
  /** Whether the store outlives its handle: only such stores run the atomicity check. */
  persistent: boolean;
  /** Registers one test case, e.g. vitest's `it`. */
  test: (name: string, run: () => Promise<void>) => void;
}

export function runClientStoreConformance(options: ConformanceOptions<ClientStore>): void {
  register(clientStoreChecks, options);
}

export function runProfileStoreConformance(options: ConformanceOptions<ProfileStore>): void {
  register(profileStoreChecks, options);
}

function register<S>(checks: Check<S>[], options: ConformanceOptions<S>): void {
  for (const check of checks) {
    if (check.persistentOnly && !options.persistent) continue;
    options.test(check.name, () => check.run(options.storage()));
  }
}
