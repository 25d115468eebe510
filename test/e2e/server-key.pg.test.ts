/**
 * Two nodes on one PostgreSQL database with different key files (DESIGN §12): each would print
 * its own server key and serve users inconsistently (a user registered through one could not log
 * in through the other). The database records the first node's key; the second refuses to start.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../support/cli.js';
import { connectClient, tempDir } from '../support/harness.js';

const postgresUrl = process.env.PARLEY_TEST_POSTGRES_URL;
if (!postgresUrl) throw new Error('server-key.pg.test.ts needs PARLEY_TEST_POSTGRES_URL (vitest.config.ts includes it only then)');

describe('one PostgreSQL database, two key files', () => {
  const dir = tempDir('server-key-pg');
  const database = `parley_keys_${randomBytes(6).toString('hex')}`;
  const root = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  root.on('error', () => undefined); // a backend ended by the teardown's forced drop is expected
  const databaseUrl = new URL(postgresUrl);
  databaseUrl.pathname = `/${database}`;
  const running: ServeProcess[] = [];

  beforeAll(async () => {
    await root.query(`create database ${pg.escapeIdentifier(database)}`);
  });
  afterAll(async () => {
    await Promise.all(running.map((node) => node.stop()));
    await root.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
    await root.end();
    dir.remove();
  });

  it('lets the first key serve, and refuses a node with another with KEY_MISMATCH naming both', async () => {
    const keyA = join(dir.path, 'a-keys.json');
    const keyB = join(dir.path, 'b-keys.json');
    // Node B's own fingerprint, learnt on a database of its own.
    const alone = await startServeProcess(['--port', '0', '--data', join(dir.path, 'b-alone'), '--key-file', keyB]);
    await alone.stop();

    const nodeA = await startServeProcess(['--port', '0', '--data', join(dir.path, 'a'), '--key-file', keyA], { env: { PARLEY_POSTGRES_URL: databaseUrl.href } });
    running.push(nodeA);
    const refused = await runCli(['serve', '--port', '0', '--data', join(dir.path, 'b'), '--key-file', keyB, '--log-level', 'warn'], {
      env: { PARLEY_POSTGRES_URL: databaseUrl.href },
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    const line = /^error KEY_MISMATCH: .*$/m.exec(refused.stderr)?.[0] ?? refused.stderr;
    expect(line).toContain(alone.fingerprint);
    expect(line).toContain(nodeA.fingerprint);

    // The first node serves on, and a second node with the same key file joins it.
    const sameKey = await startServeProcess(['--port', '0', '--data', join(dir.path, 'a2'), '--key-file', keyA], { env: { PARLEY_POSTGRES_URL: databaseUrl.href } });
    running.push(sameKey);
    expect(sameKey.fingerprint).toBe(nodeA.fingerprint);
    const registered = await connectClient({ url: nodeA.url });
    await registered.register('keyed-user', 'a password for keys');
    registered.close();
    const other = await connectClient({ url: sameKey.url });
    await expect(other.login('keyed-user', 'a password for keys')).resolves.toMatchObject({ username: 'keyed-user' });
    other.close();
  });
});
