/** @module Numbered migrations, applied in order by Kysely's Migrator. Never edit a released one: add the next. */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_accounts.js';
import * as m0002 from './0002_messaging.js';
import * as m0003 from './0003_device_quota.js';
import * as m0004 from './0004_server_key.js';
import * as m0005 from './0005_timelock.js';
import * as m0006 from './0006_group_leaves.js';
import * as m0007 from './0007_consent.js';
import * as m0008 from './0008_sent_messages.js';
import * as m0009 from './0009_acked_index.js';
import * as m0010 from './0010_key_log.js';

export const migrations: Record<string, Migration> = {
  '0001_accounts': m0001,
  '0002_messaging': m0002,
  '0003_device_quota': m0003,
  '0004_server_key': m0004,
  '0005_timelock': m0005,
  '0006_group_leaves': m0006,
  '0007_consent': m0007,
  '0008_sent_messages': m0008,
  '0009_acked_index': m0009,
  '0010_key_log': m0010,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
