/** @module Numbered migrations, applied in order by Kysely's Migrator. Never edit a released one: add the next. */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_accounts.js';
import * as m0002 from './0002_messaging.js';

export const migrations: Record<string, Migration> = {
  '0001_accounts': m0001,
  '0002_messaging': m0002,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
