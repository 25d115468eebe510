export type { Storage, AccountRecord, DeviceRecord, NewDevice } from './types.js';
export { StorageConflictError } from './types.js';
export { openSqliteStorage } from './sqlite.js';
