/** PostgreSQL storage when there is no PostgreSQL: clear errors, no secrets. Needs no server. */
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { closedPort } from '../../../../test/support/tcp-link.js';
import { createLogger } from '../logger.js';
import { openPostgresStorage, StorageUnavailableError } from './postgres.js';

describe('PostgreSQL storage without a server', () => {
  it('retries for the start-up time, then fails naming host and database but never the password', async () => {
    const port = await closedPort();
    let logged = '';
    const log = createLogger('debug', new Writable({ write: (chunk: Buffer, _encoding, done) => ((logged += chunk.toString('utf8')), done()) }));
    const started = Date.now();
    const error: unknown = await openPostgresStorage(`postgres://parley:s3cret-pw-91@127.0.0.1:${port}/parley`, { startupTimeoutMs: 1_500, log }).catch(
      (caught: unknown) => caught,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:${port}/parley is unreachable \\(gave up after \\d+ attempts in [\\d.]+ s\\): .*ECONNREFUSED`));
    expect(inspect(error, { depth: null })).not.toContain('s3cret-pw-91');
    expect(logged.match(/postgres\.unreachable/g)?.length).toBeGreaterThanOrEqual(2);
    expect(logged).not.toContain('s3cret-pw-91');
  });

  it('rejects a URL it cannot parse without repeating it', async () => {
    const error: unknown = await openPostgresStorage('postgres://parley:s3cret-pw-91@[bad-host/parley').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect(inspect(error, { depth: null })).not.toContain('s3cret-pw-91');
  });

  it('names a bad schema option', async () => {
    await expect(openPostgresStorage('postgres://127.0.0.1/parley', { schema: 'x; drop table accounts' })).rejects.toThrow(/options\.schema must be/);
  });
});
