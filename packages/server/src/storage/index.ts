import type { openPostgresStorage as OpenPostgresStorage } from './postgres.js';
export type * from './types.js';
export type * from './timelock-types.js';
export type * from './consent-types.js';
export type * from './key-log-types.js';
export { directoryEntryOf } from './directory-entry.js';
export { StaleEpochError, StorageConflictError, StorageNotFoundError } from './types.js';
export { openSqliteStorage } from './sqlite.js';
export type { PostgresStorageOptions } from './postgres.js';

/** PostgreSQL storage, loaded on first use so a single-node server never loads `pg` (STYLE §4). */
export const openPostgresStorage: typeof OpenPostgresStorage = async (url, options) => (await import('./postgres.js')).openPostgresStorage(url, options);
